#include "cnode/term_io.hpp"

#include "cnode/error.hpp"
#include "interop/codec.hpp"

namespace hc::cnode {

DecodedTerm decode_external_prefix(std::span<const std::uint8_t> bytes) {
  DecodedTerm out;
  std::size_t index = 0;
  auto r = hc::decode_at(bytes, index);
  if (!r) {
    out.error = Errc::malformed_term;
    out.what = r.message();
    return out;
  }
  out.term = std::move(*r);
  out.consumed = index;
  return out;
}

void append_external(std::vector<std::uint8_t>& out, const Term& t) {
  out.push_back(hc::kVersionMagic);
  hc::encode_to(out, t);
}

}  // namespace hc::cnode
