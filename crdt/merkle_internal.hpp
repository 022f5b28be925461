// Internal to the MerkleMap implementation (merkle_map.cpp, merkle_diff.cpp).
#pragma once

#include <cstdint>

#include "interop/term.hpp"

namespace hc::crdt::merkle_detail {

// Bit `depth` (MSB first) of a 32-bit key hash: the branch taken at that depth.
inline int bit_of(std::uint32_t h, int depth) { return static_cast<int>((h >> (31 - depth)) & 1u); }

inline const Atom& partial_atom() {
  static const Atom a("partial");
  return a;
}

}  // namespace hc::crdt::merkle_detail
