// Hash functors for the node's tables keyed by atoms and pids (an Atom is
// an interned pointer; Term has its own TermHash in interop/term.hpp).
#pragma once

#include <cstddef>
#include <functional>

#include "interop/term.hpp"

namespace hc::cnode {

struct AtomHash {
  std::size_t operator()(const Atom& a) const noexcept { return std::hash<const void*>()(a.id()); }
};

struct PidHash {
  std::size_t operator()(const Pid& p) const noexcept {
    return std::hash<const void*>()(p.node.id()) ^ (std::size_t(p.id) * 0x9E3779B97F4A7C15ull) ^
           (std::size_t(p.serial) << 20) ^ p.creation;
  }
};

}  // namespace hc::cnode
