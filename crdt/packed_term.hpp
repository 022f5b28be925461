// A compact, canonical in-memory byte encoding of hc::Term for CRDT storage.
//
// Why not keep hc::Term: a Term is 32 bytes plus one shared node per tuple,
// list, map or binary, so a Horde registry entry
// `{{key, Name}, {{Reg, Node}, Pid, Value}}` costs 500+ bytes as Terms and
// ~90 bytes packed. The replica keeps keys and values packed and rebuilds
// Terms only when they are read, hashed or sent.
//
// Not a wire format: atoms are stored as their interned identity (valid only
// inside this process), integers as zig-zag varints. The encoding is
// canonical: two terms are exactly equal (=:=) iff their encodings are equal
// bytes, because hc::Term is itself canonical (normalised integers, maps in
// key order) and -0.0 is stored as 0.0 (on OTP 25 `-0.0 =:= 0.0`).
// Consequence: a -0.0 read back becomes 0.0 (same phash2, same equality).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "interop/term.hpp"

namespace hc {
class EtfWriter;
}

namespace hc::crdt {

// Appends the encoding of `term` to `out`.
void pack_term(const Term& term, std::string& out);

inline std::string pack_term(const Term& term) {
  std::string out;
  pack_term(term, out);
  return out;
}

// Decodes one term from the front of `bytes` and advances it. The input must
// come from pack_term in this process (no validation beyond bounds).
Term unpack_term(std::string_view& bytes);

inline Term unpack_term_all(std::string_view bytes) { return unpack_term(bytes); }

// Writes the external format of the term packed at the front of `bytes`
// (exactly what encode_to(out, unpack_term(bytes)) writes, without building
// the Term) and advances `bytes`. Cost: O(packed size); no allocation but
// a list of more than 256 small integers' scratch.
void write_packed_etf(std::string_view& bytes, EtfWriter& out);

// Fast non-cryptographic hash of packed bytes (for hash tables).
std::uint64_t packed_hash(std::string_view bytes) noexcept;

// Varint helpers shared with the replica's record layout.
void put_varint(std::uint64_t value, std::string& out);
std::uint64_t get_varint(std::string_view& bytes) noexcept;
inline std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// If the packed bytes hold a plain int64, returns it without building a Term.
bool packed_as_int(std::string_view bytes, std::int64_t& value) noexcept;

}  // namespace hc::crdt
