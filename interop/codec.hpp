// The external term format codec (https://www.erlang.org/doc/apps/erts/erl_ext_dist.html)
// between bytes and hc::Term, through erl_interface (ei_decode_* / ei_encode_*).
//
// Decoding is a pure function of the bytes, never trusts a length field and
// never throws: every tag's fixed part and every length is checked against the
// remaining input *before* ei is called (ei itself trusts lengths), element
// counts that cannot fit in the rest of the input fail with
// TermError::absurd_length before anything is allocated, and nesting is handled
// with an explicit stack (no native recursion, except inside fun
// environments) whose memory, not depth, is bounded (max_decode_stack_bytes).
//
// What is decoded: every tag OTP 25 emits plus the older ones it still reads
// (FLOAT_EXT, ATOM_EXT / SMALL_ATOM_EXT in Latin-1, converted to UTF-8;
// PID_EXT, PORT_EXT, NEW_PORT_EXT, REFERENCE_EXT, NEW_REFERENCE_EXT).
// Not decoded (TermError::unsupported_tag): COMPRESSED (80) - the distribution
// protocol never compresses and handling it would need zlib plus a size bound;
// ATOM_CACHE_REF (82), which only has a meaning inside a distribution header
// (the node layer resolves it before calling us); FUN_EXT (117, gone since
// R16); LOCAL_EXT (121, OTP 26+). Pids, ports and references are read by hand
// (with ei for their node atom) because ei_decode_pid/port/ref mask the id
// words to the old 15/13/18-bit widths and would not round-trip.
//
// Encoding reproduces `term_to_binary(T, [{minor_version, 2}])` of OTP 25 byte
// for byte, except for maps of more than 32 keys: the BEAM writes those (HAMT
// maps) in its internal hash order, we write every map in map key order (a
// flatmap's order). Both decode to the same map. Lists of 1..65535 integers in
// 0..255 are written as STRING_EXT, as the BEAM does. Funs are kept in that
// canonical encoding too (a fun received with Latin-1 ATOM_EXT atoms is
// re-encoded with UTF-8 atoms at decode time), so hc::Fun equality does not
// depend on the sender's encoder.
//
// Thread safety: all functions are reentrant; no shared state but the atom table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "interop/error.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

struct ei_x_buff_TAG;  // ei.h: typedef struct ei_x_buff_TAG ei_x_buff;

namespace hc {

// The external format version magic that prefixes every top-level term.
inline constexpr std::uint8_t kVersionMagic = 131;
// The BEAM has no nesting limit in binary_to_term (only its heap), so the
// decoder has none of its own either: each open compound term costs one
// frame on an explicit stack, and what is bounded is that stack's memory.
// Input that would need more (about 2.5 million open levels, several MB of
// nothing but headers) fails with TermError::nesting_too_deep.
inline constexpr std::size_t max_decode_stack_bytes = std::size_t{256} << 20;
// The open levels that fit in max_decode_stack_bytes.
std::size_t max_nesting_levels() noexcept;
// Funs nest through native recursion (their environment is decoded by a
// nested decoder), so their own nesting stays shallow.
inline constexpr std::size_t max_fun_nesting = 64;

// Decode one complete term_to_binary blob: version byte 131, one term, and
// nothing after it (TermError::trailing_bytes otherwise).
Result<Term> decode(std::span<const std::uint8_t> bytes);

// Decode one 131-prefixed term starting at `index` (distribution control
// messages are such terms back to back). On success `index` is advanced past
// the term; on failure it is left unchanged.
Result<Term> decode_at(std::span<const std::uint8_t> bytes, std::size_t& index);

// Same without the version byte: the term's tag is at `index`.
Result<Term> decode_body_at(std::span<const std::uint8_t> bytes, std::size_t& index);

// term_to_binary(T, [{minor_version, 2}]): version byte plus the term.
std::vector<std::uint8_t> encode(const Term& term);
// Append the term's encoding, without the version byte.
void encode_to(std::vector<std::uint8_t>& out, const Term& term);
void encode_to(ei_x_buff_TAG& out, const Term& term);

}  // namespace hc
