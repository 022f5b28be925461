// MD5 (RFC 1321), used only for the distribution handshake digest
// (https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#distribution-handshake):
// digest = md5(Cookie ++ integer_to_list(Challenge)). Written from the RFC's
// algorithm description so the project needs no crypto dependency.
// Not for security purposes beyond what the Erlang cookie scheme offers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace hc::cnode {

using Md5Digest = std::array<std::uint8_t, 16>;

// Incremental MD5.
class Md5 {
 public:
  Md5() noexcept;
  void update(std::span<const std::uint8_t> bytes) noexcept;
  void update(std::string_view text) noexcept;
  Md5Digest finish() noexcept;  // the object must not be reused afterwards

 private:
  void block(const std::uint8_t* p) noexcept;
  std::uint32_t state_[4];
  std::uint64_t length_ = 0;  // bytes
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
};

Md5Digest md5(std::string_view text) noexcept;

// The handshake digest: md5(cookie ++ decimal(challenge)).
Md5Digest handshake_digest(std::uint32_t challenge, std::string_view cookie) noexcept;

}  // namespace hc::cnode
