// The one place where cnode meets the term codec (interop/codec.hpp, built on
// erl_interface): decode a 131-prefixed external term that may be followed by
// more bytes, and append the encoding of a term to a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "interop/term.hpp"

namespace hc::cnode {

struct DecodedTerm {
  Term term;
  std::size_t consumed = 0;  // bytes used, including the 131 version byte
  std::error_code error;     // Errc::malformed_term when the bytes are not a term
  std::string what;
};

// Decode the external term (starting with 131) at the start of `bytes`.
DecodedTerm decode_external_prefix(std::span<const std::uint8_t> bytes);
// The same for a term without the version byte (after a distribution header).
DecodedTerm decode_body_prefix(std::span<const std::uint8_t> bytes);
// Append 131 + the encoding of `t` to `out`.
void append_external(std::vector<std::uint8_t>& out, const Term& t);

}  // namespace hc::cnode
