#include "cnode/dist_frame.hpp"

#include "cnode/error.hpp"
#include "cnode/framing.hpp"
#include "cnode/term_io.hpp"
#include "interop/codec.hpp"

namespace hc::cnode {

namespace {
// Control [Payload] after the header byte(s); `versioned`: each term starts
// with 131 (pass-through frames) or not (after a 131,68 header).
// The payload by the first of `decoders` that claims it; nullopt: none does.
std::optional<Result<Term>> claimed_payload(std::span<const std::uint8_t> rest, bool versioned,
                                            std::span<const PayloadDecoder> decoders) {
  if (decoders.empty() || (versioned && (rest.empty() || rest[0] != 131))) return std::nullopt;
  const auto body = versioned ? rest.subspan(1) : rest;
  for (const auto& d : decoders)
    if (auto r = d(body)) return r;
  return std::nullopt;
}

Result<DistFrame> parse_terms(std::span<const std::uint8_t> rest, bool versioned, std::span<const PayloadDecoder> decoders) {
  auto err = [](Errc c, std::string what) { return Error(c, std::move(what)); };
  auto decode = [versioned](std::span<const std::uint8_t> b) {
    return versioned ? decode_external_prefix(b) : decode_body_prefix(b);
  };
  auto ctrl = decode(rest);
  if (!ctrl) return err(Errc::malformed_term, "control message: " + ctrl.message());
  auto msg = from_term(ctrl->term);
  if (!msg) return msg.failure();
  DistFrame out{std::move(*msg), std::move(ctrl->term), std::nullopt};
  rest = rest.subspan(ctrl->consumed);
  if (has_payload(op_of(out.control))) {
    if (rest.empty()) return err(Errc::bad_control_message, "payload missing");
    if (auto claimed = claimed_payload(rest, versioned, decoders)) {
      if (!*claimed) return err(Errc::malformed_term, "payload: " + claimed->message());
      out.payload = std::move(**claimed);
      return out;
    }
    auto payload = decode(rest);
    if (!payload) return err(Errc::malformed_term, "payload: " + payload.message());
    if (payload->consumed != rest.size()) return err(Errc::bad_dist_header, "trailing bytes after payload");
    out.payload = std::move(payload->term);
  } else if (!rest.empty()) {
    return err(Errc::bad_dist_header, "trailing bytes after control message");
  }
  return out;
}
}  // namespace

Result<DistFrame> parse_dist_frame(std::span<const std::uint8_t> frame, std::span<const PayloadDecoder> decoders) {
  auto err = [](Errc c, std::string what) { return Error(c, std::move(what)); };
  if (frame.empty()) return err(Errc::bad_dist_header, "empty frame");
  if (frame[0] == 131 && frame.size() >= 2 && (frame[1] == 68 || frame[1] == 69))
    return err(Errc::unsupported_dist_header, frame[1] == 68 ? "atom-cache distribution header (131,68)"
                                                              : "fragmented distribution header (131,69)");
  if (frame[0] != 112) return err(Errc::bad_dist_header, "frame does not start with pass-through byte 112");
  return parse_terms(frame.subspan(1), true, decoders);
}

Result<DistFrame> parse_dist_body(std::span<const std::uint8_t> body, std::span<const PayloadDecoder> decoders) {
  return parse_terms(body, false, decoders);
}

namespace {
// The control tuples of the message-sending hot path, written without
// building a Term tuple first: SMALL_TUPLE_EXT (104) Arity,
// SMALL_INTEGER_EXT (97) Op, then the elements through the codec. Byte-equal
// to append_external(to_term(m)) (checked in control_message_test).
template <class... E>
void append_small_tuple(std::vector<std::uint8_t>& out, ControlOp op, const E&... elements) {
  out.push_back(104);
  out.push_back(std::uint8_t(1 + sizeof...(E)));
  out.push_back(97);
  out.push_back(std::uint8_t(op));
  (hc::encode_to(out, Term(elements)), ...);
}

// The control tuple without the version byte.
void append_control_body(std::vector<std::uint8_t>& out, const ControlMessage& control) {
  if (auto* m = std::get_if<ctrl::SendSender>(&control)) {
    append_small_tuple(out, ControlOp::SEND_SENDER, m->from, m->to);
  } else if (auto* r = std::get_if<ctrl::RegSend>(&control)) {
    append_small_tuple(out, ControlOp::REG_SEND, r->from, r->unused, r->to_name);
  } else if (auto* a = std::get_if<ctrl::AliasSend>(&control)) {
    append_small_tuple(out, ControlOp::ALIAS_SEND, a->from, a->alias);
  } else {
    hc::encode_to(out, to_term(control));
  }
}
}  // namespace

void append_control(std::vector<std::uint8_t>& out, const ControlMessage& control) {
  out.push_back(131);
  append_control_body(out, control);
}

bool append_dist_frame(std::vector<std::uint8_t>& out, const ControlMessage& control, FramePayload payload,
                       FrameFormat format) {
  // Written in place (the codec appends in amortised O(term size)), then the
  // 4-byte length is patched in.
  const std::size_t start = out.size();
  out.resize(start + 4);
  if (format == FrameFormat::pass_through) {
    out.push_back(112);
    append_control(out, control);
    if (payload.encoded) {
      out.push_back(131);
      out.insert(out.end(), payload.body.begin(), payload.body.end());
    } else if (payload.term) {
      append_external(out, *payload.term);
    }
  } else {
    // A distribution header with no atom-cache references; the terms after
    // it carry no version byte.
    out.insert(out.end(), {131, 68, 0});
    append_control_body(out, control);
    if (payload.encoded) {
      out.insert(out.end(), payload.body.begin(), payload.body.end());
    } else if (payload.term) {
      hc::encode_to(out, *payload.term);
    }
  }
  const std::size_t n = out.size() - start - 4 + payload.later;
  if (n > kMaxFramePayload) {  // the length would wrap: the peer would misframe the stream
    out.resize(start);
    return false;
  }
  out[start] = std::uint8_t(n >> 24);
  out[start + 1] = std::uint8_t(n >> 16);
  out[start + 2] = std::uint8_t(n >> 8);
  out[start + 3] = std::uint8_t(n);
  return true;
}

std::vector<std::uint8_t> encode_dist_frame(const ControlMessage& control, const Term* payload, FrameFormat format) {
  std::vector<std::uint8_t> out;
  append_dist_frame(out, control, payload, format);
  return out;
}

}  // namespace hc::cnode
