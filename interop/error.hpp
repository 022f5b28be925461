// Errors of the term codec (decode and encode), wired into std::error_code
// under the category "hc.term". Each code names exactly what was wrong with
// the bytes so that tests (and logs) can tell a truncated frame from a hostile
// one. Every code but ei_failure is hc::errc::protocol_violation
// (interop/error_condition.hpp). Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
#pragma once

#include <system_error>

namespace hc {

enum class TermError {
  // 0 is success in std::error_code; never used.
  truncated = 1,       // input ends inside a term (a length field promises more bytes)
  bad_version,         // first byte is not the version magic 131
  unknown_tag,         // a tag byte that is not part of the external term format
  unsupported_tag,     // a valid tag we deliberately do not decode: COMPRESSED (80),
                       // ATOM_CACHE_REF (82, needs a distribution header), FUN_EXT (117,
                       // removed in R16), LOCAL_EXT (121)
  bad_length,          // a length/size field inconsistent with the data (e.g. a fun's Size,
                       // BIT_BINARY_EXT bits not in 1..8, > 5 reference words)
  absurd_length,       // an element count that cannot fit in the remaining bytes (each element
                       // needs at least one byte): rejected before allocating anything
  atom_too_long,       // more than 255 characters
  invalid_utf8_atom,   // ATOM_UTF8_EXT / SMALL_ATOM_UTF8_EXT text is not valid UTF-8
  expected_atom,       // an atom is required here (pid/port/ref node, fun module, ...)
  expected_integer,    // an integer is required here (fun old index/uniq, export arity)
  expected_pid,        // a pid is required here (NEW_FUN_EXT creator)
  nesting_too_deep,    // nesting needs more than max_decode_stack_bytes of decoder stack (codec.hpp)
  trailing_bytes,      // decode(): bytes left over after the term
  bad_bigint,          // SMALL_BIG_EXT / LARGE_BIG_EXT sign byte is not 0 or 1
  bad_float,           // FLOAT_EXT text unparsable, or a NaN / infinity (not Erlang values)
  duplicate_map_key,   // MAP_EXT with two equal (=:=) keys
  ei_failure,          // erl_interface rejected bytes we had already validated (a bug)
  atom_table_full,     // a new atom while the table holds atom_limit() atoms (term.hpp)
};

const std::error_category& term_category() noexcept;
std::error_code make_error_code(TermError e) noexcept;

}  // namespace hc

template <>
struct std::is_error_code_enum<hc::TermError> : std::true_type {};
