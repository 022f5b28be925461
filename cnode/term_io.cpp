#include "cnode/term_io.hpp"

#include "interop/codec.hpp"

namespace hc::cnode {

namespace {
template <class Decode>
Result<DecodedTerm> decode_with(std::span<const std::uint8_t> bytes, Decode decode) {
  std::size_t index = 0;
  auto r = decode(bytes, index);
  if (!r) return r.error();
  return DecodedTerm{std::move(*r), index};
}
}  // namespace

Result<DecodedTerm> decode_external_prefix(std::span<const std::uint8_t> bytes) {
  return decode_with(bytes, [](auto b, std::size_t& i) { return hc::decode_at(b, i); });
}

Result<DecodedTerm> decode_body_prefix(std::span<const std::uint8_t> bytes) {
  return decode_with(bytes, [](auto b, std::size_t& i) { return hc::decode_body_at(b, i); });
}

void append_external(std::vector<std::uint8_t>& out, const Term& t) {
  out.push_back(hc::kVersionMagic);
  hc::encode_to(out, t);
}

}  // namespace hc::cnode
