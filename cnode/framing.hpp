// Length-prefixed framing of the distribution protocol
// (https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html):
// handshake messages carry a 2-byte big-endian length, every message after the
// handshake a 4-byte one; a 4-byte length of zero is a tick.
//
// Pure: bytes in -> one frame, "need more", or an error. The parser never
// allocates; the returned payload points into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace hc::cnode {

enum class LengthPrefix : std::uint8_t { two = 2, four = 4 };

// The default accepts every frame a 4-byte length can declare (4 GiB - 1):
// DeltaCrdt sends a whole sync slice as one message, and a slice grows with
// the registry without bound (over 64 MiB at 300 000 Horde names, ~4x that
// at 1 000 000), so any lower default cut legitimate Horde traffic. The peer
// has passed the cookie handshake; a lower `max_frame` is an operator's
// choice (--max-frame). A frame is buffered only once its bytes arrive.
inline constexpr std::size_t kMaxFramePayload = 0xFFFFFFFFu;
inline constexpr std::size_t kDefaultMaxFrame = kMaxFramePayload;

struct FrameResult {
  enum class Status { frame, need_more, error };
  Status status = Status::need_more;
  std::span<const std::uint8_t> payload;  // valid when status == frame (empty for a tick)
  std::size_t consumed = 0;               // bytes of the buffer that made up the frame
  std::error_code error;                  // when status == error (Errc::frame_too_large)
  std::size_t declared = 0;               // frame_too_large: the declared payload length
                                          // (`consumed` then covers the header only)

  bool is_frame() const noexcept { return status == Status::frame; }
  bool need_more() const noexcept { return status == Status::need_more; }
  bool is_error() const noexcept { return status == Status::error; }
};

// Parse the first frame of `buffer`. A declared length above `max_frame` is an
// error at once (before the body arrives), so a peer cannot make us buffer it;
// the caller may skip it (FrameSkipper) or close.
FrameResult next_frame(std::span<const std::uint8_t> buffer, LengthPrefix prefix,
                       std::size_t max_frame = kDefaultMaxFrame) noexcept;

// Skipping a frame over the limit without buffering it: after the header
// (FrameResult::consumed), the declared payload is discarded as it arrives;
// the next frame starts right after it. Framing stays intact, so only that
// one message is lost.
class FrameSkipper {
 public:
  void start(std::size_t payload_bytes) noexcept { remaining_ = payload_bytes; }
  // How many of `available` bytes still belong to the skipped frame.
  std::size_t take(std::size_t available) noexcept {
    const std::size_t n = available < remaining_ ? available : remaining_;
    remaining_ -= n;
    return n;
  }
  bool active() const noexcept { return remaining_ > 0; }
  std::size_t remaining() const noexcept { return remaining_; }

 private:
  std::size_t remaining_ = 0;
};

// Append `payload` to `out` with its length prefix.
void append_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload, LengthPrefix prefix);
std::vector<std::uint8_t> make_frame(std::span<const std::uint8_t> payload, LengthPrefix prefix);

// The 4 zero bytes of a tick.
inline constexpr std::uint8_t kTick[4] = {0, 0, 0, 0};

}  // namespace hc::cnode
