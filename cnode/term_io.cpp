#include "cnode/term_io.hpp"

#include "cnode/error.hpp"
#include "interop/codec.hpp"

namespace hc::cnode {

namespace {
template <class Decode>
DecodedTerm decode_with(std::span<const std::uint8_t> bytes, Decode decode) {
  DecodedTerm out;
  std::size_t index = 0;
  auto r = decode(bytes, index);
  if (!r) {
    out.error = Errc::malformed_term;
    out.what = r.message();
    return out;
  }
  out.term = std::move(*r);
  out.consumed = index;
  return out;
}
}  // namespace

DecodedTerm decode_external_prefix(std::span<const std::uint8_t> bytes) {
  return decode_with(bytes, [](auto b, std::size_t& i) { return hc::decode_at(b, i); });
}

DecodedTerm decode_body_prefix(std::span<const std::uint8_t> bytes) {
  return decode_with(bytes, [](auto b, std::size_t& i) { return hc::decode_body_at(b, i); });
}

void append_external(std::vector<std::uint8_t>& out, const Term& t) {
  out.push_back(hc::kVersionMagic);
  hc::encode_to(out, t);
}

}  // namespace hc::cnode
