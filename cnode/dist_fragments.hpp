// Receiving fragmented distribution messages (DFLAG_FRAGMENTS, OTP 22+).
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html#distribution-header-for-fragmented-messages
//
// Once we advertise FRAGMENTS (and, as ever, not DIST_HDR_ATOM_CACHE), an
// OTP node sends every message with a distribution header that carries no
// atom-cache references, and splits large ones into fragments that other
// messages' frames may interleave with (so a 50 MB message no longer holds up
// a small call behind it):
//   131, 68, 0, Control, [Message]                          one frame
//   131, 69, SeqId:64, FragId:64, 0, Control, Message...    first fragment; FragId = number of fragments
//   131, 70, SeqId:64, FragId:64, Message...                the next ones, FragId counting down to 1
// Terms after a header carry no version byte (parse_dist_body).
//
// Pure: frames in, complete message bodies out. Bounded: a message larger
// than `max_message` bytes, more than `max_sequences` messages in flight, a
// fragment out of order or of an unknown sequence are named errors (the
// connection is then closed: its byte stream can no longer be trusted).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace hc::cnode {

class FragmentAssembler {
 public:
  explicit FragmentAssembler(std::size_t max_message, std::size_t max_sequences = 64)
      : max_message_(max_message), max_sequences_(max_sequences) {}

  struct Step {
    enum class Kind { message, pending, error };
    Kind kind = Kind::pending;
    // Kind::message: the Control [Message] bytes (no version bytes); valid
    // until the next feed() or release().
    std::span<const std::uint8_t> body;
    std::error_code error;  // Kind::error
    std::string what;
  };

  // One frame that starts with 131, 68 | 69 | 70.
  Step feed(std::span<const std::uint8_t> frame);
  std::size_t in_flight() const noexcept { return sequences_.size(); }
  // Frees the last reassembled message, once its body is decoded: it can be
  // tens of MB (a sync slice of 100 000 names) and would otherwise stay
  // allocated until the next fragmented message arrives.
  // Bytes of messages in reassembly and of the last completed one (capacity).
  std::size_t bytes_held() const noexcept;
  void release() noexcept { std::vector<std::uint8_t>().swap(done_); }  // (`= {}` would keep the capacity)
  // The body of the last Kind::message step as a buffer of its own, to be
  // decoded elsewhere (inbound_decoder.hpp): moved out when the message
  // was reassembled here, copied when it was one frame (whose bytes are the
  // caller's).
  std::vector<std::uint8_t> take_body(std::span<const std::uint8_t> body);

 private:
  struct Sequence {
    std::uint64_t next_fragment = 0;  // the FragId we expect next
    std::vector<std::uint8_t> bytes;
  };
  Step fail(std::string what) const;

  std::size_t max_message_;
  std::size_t max_sequences_;
  std::unordered_map<std::uint64_t, Sequence> sequences_;
  std::vector<std::uint8_t> done_;  // the last completed fragmented message
};

}  // namespace hc::cnode
