#include "cnode/framing.hpp"

#include "cnode/error.hpp"

namespace hc::cnode {

FrameResult next_frame(std::span<const std::uint8_t> buffer, LengthPrefix prefix,
                       std::size_t max_frame) noexcept {
  FrameResult r;
  const std::size_t header = static_cast<std::size_t>(prefix);
  if (buffer.size() < header) return r;
  std::size_t length = 0;
  for (std::size_t i = 0; i < header; ++i) length = (length << 8) | buffer[i];
  if (length > max_frame) {
    r.status = FrameResult::Status::error;
    r.error = Errc::frame_too_large;
    r.declared = length;
    r.consumed = header;
    return r;
  }
  if (buffer.size() - header < length) return r;
  r.status = FrameResult::Status::frame;
  r.payload = buffer.subspan(header, length);
  r.consumed = header + length;
  return r;
}

void append_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload, LengthPrefix prefix) {
  const std::size_t n = payload.size();
  if (prefix == LengthPrefix::four) {
    out.push_back(std::uint8_t(n >> 24));
    out.push_back(std::uint8_t(n >> 16));
  }
  out.push_back(std::uint8_t(n >> 8));
  out.push_back(std::uint8_t(n));
  out.insert(out.end(), payload.begin(), payload.end());
}

std::vector<std::uint8_t> make_frame(std::span<const std::uint8_t> payload, LengthPrefix prefix) {
  std::vector<std::uint8_t> out;
  out.reserve(payload.size() + 4);
  append_frame(out, payload, prefix);
  return out;
}

}  // namespace hc::cnode
