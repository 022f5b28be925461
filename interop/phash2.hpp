// erlang:phash2/1,2 of Erlang/OTP 25, bit for bit, over hc::Term.
//
// Horde and its dependencies put phash2 values on the wire and into shared
// state: MerkleMap keys are `<<phash2(Key, 2^32):32>>`, libring ring points
// are `phash2({Node, I}, 2^32 - 1)`, Horde.UniformDistribution places
// children by `phash2(ChildSpec)` (see /work/shared/docs/horde-wire.md
// sections 4 and 6). A peer whose hash differs in one bit never converges, so
// this is a reimplementation of the BEAM's `make_hash2` (erts/emulator/beam,
// utils.c on OTP 25, erl_term_hashing.c later; the algorithm is documented as
// stable), checked against a golden table recorded on OTP 25.2 and against a
// live `erl` in the tests.
//
// What is hashed, per type (all values 32-bit, Bob Jenkins' lookup2 `mix`):
// - integers: |N| < 2^27 as a signed 32-bit value, larger magnitudes as
//   little-endian 64-bit digits split in (low, high) 32-bit halves, with a
//   sign-dependent constant; an int64 and a bignum of equal value agree.
// - floats: the IEEE bits (high word, low word); -0.0 hashes as 0.0 (OTP 25).
// - atoms: the atom table's hash of the text (ELF `hashpjw` over the UTF-8
//   bytes, with a two-byte Latin-1 sequence folded to its Latin-1 byte).
// - binaries and bitstrings: lookup2 block hash of the whole bytes, then the
//   trailing bits; lists: runs of byte-valued elements packed 4 per word;
//   tuples, lists and maps combine their elements in order, except that a map
//   XORs the hashes of its (key, value) pairs so that order does not matter.
// - pids: the 32-bit ID only; ports: the 64-bit ID; references: the FIRST ID
//   word only. The node name and creation are never hashed (so equal IDs on
//   different nodes collide, exactly as on the BEAM).
// - funs: module, index, old unique and the free variables; exports:
//   module, function and arity.
//
// Thread safety: pure functions; safe to call from any thread.
// Cost: no allocation for terms nested less than 64 levels deep; iterative,
// so arbitrarily deep terms (10 000+ levels) do not overflow the C stack.
#pragma once

#include <cstdint>
#include <string_view>

#include "interop/term.hpp"

namespace hc {

// The unreduced 32-bit hash; equals erlang:phash2(Term, 4294967296).
// Allocates only for very deep terms and for funs with free variables.
std::uint32_t phash2_full(const Term& term);

// The running hash of make_hash2 continued over `term` from `seed`
// (phash2_full(T) == phash2_continue(0, T)). A map pair {K, V} hashes as
// phash2_continue(phash2_full(K), V); with phash2_map_of_pairs this hashes a
// map from its pairs without building it (the Merkle leaves do).
std::uint32_t phash2_continue(std::uint32_t seed, const Term& term);
// phash2_full of a map of `size` pairs whose pair hashes XOR to `pairs_xor`.
std::uint32_t phash2_map_of_pairs(std::size_t size, std::uint32_t pairs_xor) noexcept;

// erlang:phash2/1: the hash reduced to 0..2^27-1.
inline std::uint32_t phash2(const Term& term) {
  return phash2_full(term) & ((std::uint32_t{1} << 27) - 1);
}

// erlang:phash2/2: a value in 0..range-1. `range` must be in 1..2^32; any
// other value throws std::invalid_argument (the BIF raises badarg).
std::uint32_t phash2(const Term& term, std::uint64_t range);

// The BEAM atom table's hash of an atom's UTF-8 text (what phash2 of an atom
// returns and mixes into compound terms).
std::uint32_t atom_text_hash(std::string_view utf8) noexcept;

}  // namespace hc
