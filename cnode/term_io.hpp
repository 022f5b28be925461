// The one place where cnode meets the term codec (interop/codec.hpp, built on
// erl_interface): decode a 131-prefixed external term that may be followed by
// more bytes, and append the encoding of a term to a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

// A term decoded from the start of a buffer, and how many bytes it took.
struct DecodedTerm {
  Term term;
  std::size_t consumed = 0;  // bytes used, including the 131 version byte
};

// Decode the external term (starting with 131) at the start of `bytes`.
// Errors: the codec's TermError saying what is wrong with the bytes (every
// one hc::errc::protocol_violation). Pure; cost linear in the term's size.
Result<DecodedTerm> decode_external_prefix(std::span<const std::uint8_t> bytes);
// The same for a term without the version byte (after a distribution header).
Result<DecodedTerm> decode_body_prefix(std::span<const std::uint8_t> bytes);
// Append 131 + the encoding of `t` to `out`.
void append_external(std::vector<std::uint8_t>& out, const Term& t);

}  // namespace hc::cnode
