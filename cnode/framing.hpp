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
#include <optional>
#include <span>
#include <vector>

#include "interop/result.hpp"

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
// Incoming messages of at least this many bytes are decoded on a worker
// thread (inbound_decoder.hpp): a sync slice of a few thousand names and up.
inline constexpr std::size_t kDefaultOffloadDecodeBytes = std::size_t{1} << 20;
// Outgoing messages of at least this many terms are encoded on a worker
// thread (ConnectionManagerOptions::offload_encode_terms): ~1-3 ms of encoding.
inline constexpr std::size_t kDefaultOffloadEncodeTerms = 20'000;

// One frame at the start of a buffer.
struct Frame {
  std::span<const std::uint8_t> payload;  // points into the caller's buffer; empty for a tick
  std::size_t consumed = 0;               // bytes of the buffer that made up the frame (header + payload)
};

inline constexpr std::size_t header_size(LengthPrefix prefix) noexcept { return static_cast<std::size_t>(prefix); }
// The payload length the header at the start of `buffer` declares; 0 while
// `buffer` is shorter than the header.
std::size_t declared_length(std::span<const std::uint8_t> buffer, LengthPrefix prefix) noexcept;

// Parse the first frame of `buffer`: the frame; nullopt when `buffer` does
// not hold a whole frame yet ("need more"); or the error
// Errc::frame_too_large (hc::errc::protocol_violation) when the header
// declares more than `max_frame` — at once, before the body arrives, so a
// peer cannot make us buffer it. The caller may then skip the frame
// (FrameSkipper: header_size(prefix) bytes, then declared_length(buffer,
// prefix) bytes of payload) or close. Pure, O(1), any thread.
Result<std::optional<Frame>> next_frame(std::span<const std::uint8_t> buffer, LengthPrefix prefix,
                                        std::size_t max_frame = kDefaultMaxFrame) noexcept;

// Skipping a frame over the limit without buffering it: after the header
// (header_size()), the declared payload is discarded as it arrives;
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
