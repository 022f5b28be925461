// Distribution frames after the handshake (the bytes inside a 4-byte frame).
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html#distribution-header
//
// Pass-through frames:
//   112 ('p') | 131 ControlMessage | [131 Payload]
// and, since we advertise FRAGMENTS (never DIST_HDR_ATOM_CACHE), frames with
// a distribution header and no atom-cache references, reassembled by
// dist_fragments.hpp into a body `ControlMessage [Payload]` without version
// bytes (parse_dist_body). parse_dist_frame itself reports a 131,68/69 frame
// as Errc::unsupported_dist_header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "cnode/control_message.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

struct DistFrame {
  ControlMessage control;
  Term control_term;             // as received (for logs)
  std::optional<Term> payload;   // present exactly when has_payload(op)
};

// A decoder an upper layer supplies for payloads of a shape it knows: given
// the payload's external format (no version byte), nullopt when it is not
// one of its own (the general decoder then runs), else the decoded term or
// why it is malformed. crdt::decode_sync_message is one: it keeps a large
// Merkle continuation encoded. Called on the decode worker: must be
// thread-safe and pure.
using PayloadDecoder = std::function<std::optional<Result<Term>>(std::span<const std::uint8_t> body)>;

// Parse one non-empty frame (an empty frame is a tick, handled by the caller).
// An error is an Errc (bad_dist_header, unsupported_dist_header,
// malformed_term, bad_control_message, unknown_control_op) with the part of
// the frame that was wrong as detail (Result::what()).
// `decoders` are tried in order on the payload (see PayloadDecoder).
Result<DistFrame> parse_dist_frame(std::span<const std::uint8_t> frame, std::span<const PayloadDecoder> decoders = {});

// Parse a body after a distribution header: Control [Payload], no version bytes.
Result<DistFrame> parse_dist_body(std::span<const std::uint8_t> body, std::span<const PayloadDecoder> decoders = {});

// Append 131 + the control message's encoding (fast paths for the send ops).
void append_control(std::vector<std::uint8_t>& out, const ControlMessage& control);

// How a frame is written: pass-through (112, 131 Ctrl, 131 Msg), or after a
// distribution header without atom-cache references (131, 68, 0, Ctrl, Msg),
// which an OTP peer that negotiated FRAGMENTS insists on ("Got message from
// incompatible erlang" otherwise).
enum class FrameFormat { pass_through, dist_header };

// The payload of a frame: none, a term (encoded as the frame is written),
// or a term already encoded: its external format without the version byte
// (a body, as crdt::encode_slice_message writes it), copied in as is, with
// 131 in front where the frame format wants one; or, with a distribution
// header only, such a body of `later` bytes that the caller queues after
// the frame's start itself (DistSendQueue::commit with a payload): counted
// in the length, not written. Non-owning: the term or bytes must outlive
// the append_dist_frame call.
struct FramePayload {
  const Term* term = nullptr;
  std::span<const std::uint8_t> body;
  bool encoded = false;
  std::size_t later = 0;
  FramePayload() = default;
  FramePayload(const Term* t) : term(t) {}  // NOLINT: implicit, as the `const Term*` payloads were
  static FramePayload encoded_body(std::span<const std::uint8_t> bytes) {
    FramePayload p;
    p.body = bytes;
    p.encoded = true;
    return p;
  }
  static FramePayload appended_later(std::size_t bytes) {
    FramePayload p;
    p.later = bytes;
    return p;
  }
};

// Append one complete frame, 4-byte length prefix included, to `out` (all
// of it but the `later` bytes of an appended_later payload, which must be
// FrameFormat::dist_header). Returns false, and leaves `out` as it was, when
// the frame is longer than a 4-byte length can say (kMaxFramePayload): such
// a message cannot be sent.
bool append_dist_frame(std::vector<std::uint8_t>& out, const ControlMessage& control, FramePayload payload = {},
                       FrameFormat format = FrameFormat::pass_through);
std::vector<std::uint8_t> encode_dist_frame(const ControlMessage& control, const Term* payload = nullptr,
                                            FrameFormat format = FrameFormat::pass_through);

}  // namespace hc::cnode
