#include "cnode/framing.hpp"

#include "cnode/error.hpp"

namespace hc::cnode {

std::size_t declared_length(std::span<const std::uint8_t> buffer, LengthPrefix prefix) noexcept {
  const std::size_t header = header_size(prefix);
  if (buffer.size() < header) return 0;
  std::size_t length = 0;
  for (std::size_t i = 0; i < header; ++i) length = (length << 8) | buffer[i];
  return length;
}

Result<std::optional<Frame>> next_frame(std::span<const std::uint8_t> buffer, LengthPrefix prefix,
                                        std::size_t max_frame) noexcept {
  const std::size_t header = header_size(prefix);
  if (buffer.size() < header) return std::optional<Frame>();
  const std::size_t length = declared_length(buffer, prefix);
  if (length > max_frame) return Errc::frame_too_large;
  if (buffer.size() - header < length) return std::optional<Frame>();
  return std::optional<Frame>(Frame{buffer.subspan(header, length), header + length});
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
