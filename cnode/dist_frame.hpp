// Distribution frames after the handshake (the bytes inside a 4-byte frame).
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html#distribution-header
//
// We never advertise DIST_HDR_ATOM_CACHE nor FRAGMENTS, so a conforming peer
// sends only pass-through frames:
//   112 ('p') | 131 ControlMessage | [131 Payload]
// A 131,68 (normal header) or 131,69 (fragment) frame is reported as
// Errc::unsupported_dist_header (the peer ignored our flags).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "cnode/control_message.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

struct DistFrame {
  ControlMessage control;
  Term control_term;             // as received (for logs)
  std::optional<Term> payload;   // present exactly when has_payload(op)
};

struct DistFrameError {
  std::error_code code;
  std::string what;
};

// Parse one non-empty frame (an empty frame is a tick, handled by the caller).
std::variant<DistFrame, DistFrameError> parse_dist_frame(std::span<const std::uint8_t> frame);

// Append 131 + the control message's encoding (fast paths for the send ops).
void append_control(std::vector<std::uint8_t>& out, const ControlMessage& control);

// Append one complete frame, 4-byte length prefix included, to `out`.
// Returns false, and leaves `out` as it was, when the frame is longer than a
// 4-byte length can say (kMaxFramePayload): such a message cannot be sent.
bool append_dist_frame(std::vector<std::uint8_t>& out, const ControlMessage& control,
                       const Term* payload = nullptr);
std::vector<std::uint8_t> encode_dist_frame(const ControlMessage& control, const Term* payload = nullptr);

}  // namespace hc::cnode
