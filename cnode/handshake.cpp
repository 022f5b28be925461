#include "cnode/handshake.hpp"

#include <algorithm>
#include <random>

#include "cnode/error.hpp"
#include "cnode/flags.hpp"

namespace hc::cnode {
namespace {

void put16(Bytes& b, std::uint32_t v) {
  b.push_back(std::uint8_t(v >> 8));
  b.push_back(std::uint8_t(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
void put64(Bytes& b, std::uint64_t v) {
  put32(b, std::uint32_t(v >> 32));
  put32(b, std::uint32_t(v));
}
std::uint64_t get(std::span<const std::uint8_t> m, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | m[at + i];
  return v;
}
std::string text(std::span<const std::uint8_t> m, std::size_t at, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(m.data() + at), n);
}

}  // namespace

bool valid_node_name(std::string_view name) noexcept {
  auto at = name.find('@');
  return name.size() <= 255 && at != std::string_view::npos && at > 0 && at + 1 < name.size() &&
         name.find('@', at + 1) == std::string_view::npos;
}

Bytes SendName::encode() const {
  Bytes b;
  if (old_format) {
    b.push_back('n');
    put16(b, 5);
    put32(b, std::uint32_t(flags));
  } else {
    b.push_back('N');
    put64(b, flags);
    put32(b, creation);
    put16(b, std::uint32_t(name.size()));
  }
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

std::optional<SendName> SendName::decode(std::span<const std::uint8_t> m) {
  if (m.empty()) return std::nullopt;
  SendName s;
  if (m[0] == 'N') {
    if (m.size() < 15) return std::nullopt;
    s.flags = get(m, 1, 8);
    s.creation = std::uint32_t(get(m, 9, 4));
    std::size_t n = get(m, 13, 2);
    if (m.size() != 15 + n) return std::nullopt;
    s.name = text(m, 15, n);
    return s;
  }
  if (m[0] == 'n') {
    if (m.size() < 7) return std::nullopt;
    s.old_format = true;
    s.flags = get(m, 3, 4);
    s.name = text(m, 7, m.size() - 7);
    return s;
  }
  return std::nullopt;
}

Bytes Challenge::encode() const {
  Bytes b;
  b.push_back('N');
  put64(b, flags);
  put32(b, challenge);
  put32(b, creation);
  put16(b, std::uint32_t(name.size()));
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

std::optional<Challenge> Challenge::decode(std::span<const std::uint8_t> m) {
  if (m.size() < 19 || m[0] != 'N') return std::nullopt;
  Challenge c;
  c.flags = get(m, 1, 8);
  c.challenge = std::uint32_t(get(m, 9, 4));
  c.creation = std::uint32_t(get(m, 13, 4));
  std::size_t n = get(m, 17, 2);
  if (m.size() != 19 + n) return std::nullopt;
  c.name = text(m, 19, n);
  return c;
}

Bytes ChallengeReply::encode() const {
  Bytes b;
  b.push_back('r');
  put32(b, challenge);
  b.insert(b.end(), digest.begin(), digest.end());
  return b;
}

std::optional<ChallengeReply> ChallengeReply::decode(std::span<const std::uint8_t> m) {
  if (m.size() != 21 || m[0] != 'r') return std::nullopt;
  ChallengeReply r;
  r.challenge = std::uint32_t(get(m, 1, 4));
  std::copy_n(m.begin() + 5, 16, r.digest.begin());
  return r;
}

Bytes ChallengeAck::encode() const {
  Bytes b;
  b.push_back('a');
  b.insert(b.end(), digest.begin(), digest.end());
  return b;
}

std::optional<ChallengeAck> ChallengeAck::decode(std::span<const std::uint8_t> m) {
  if (m.size() != 17 || m[0] != 'a') return std::nullopt;
  ChallengeAck a;
  std::copy_n(m.begin() + 1, 16, a.digest.begin());
  return a;
}

Bytes encode_status(std::string_view status) {
  Bytes b;
  b.push_back('s');
  b.insert(b.end(), status.begin(), status.end());
  return b;
}

Handshake::Handshake(Role role, HandshakeConfig config, std::string expected_peer)
    : role_(role), config_(std::move(config)), expected_peer_(std::move(expected_peer)) {
  if (!config_.random) {
    config_.random = [] {
      static thread_local std::mt19937 gen{std::random_device{}()};
      return std::uint32_t(gen());
    };
  }
}

Handshake::Step Handshake::fail(std::error_code ec, std::vector<Bytes> send) {
  state_ = State::failed;
  Step s;
  s.error = ec;
  s.send = std::move(send);
  return s;
}

Handshake::Step Handshake::start() {
  Step s;
  if (role_ == Role::initiator && state_ == State::start) {
    SendName n{config_.flags, config_.creation, config_.local_name, false};
    s.send.push_back(n.encode());
    state_ = State::await_status;
  } else if (role_ == Role::acceptor && state_ == State::start) {
    state_ = State::await_name;
  }
  return s;
}

Handshake::Step Handshake::on_message(std::span<const std::uint8_t> msg) {
  if (state_ == State::start) start();
  if (state_ == State::done || state_ == State::failed) return fail(Errc::bad_handshake_message);
  return role_ == Role::initiator ? initiator_message(msg) : acceptor_message(msg);
}

Handshake::Step Handshake::initiator_message(std::span<const std::uint8_t> msg) {
  Step s;
  switch (state_) {
    case State::await_status: {
      if (msg.empty() || msg[0] != 's') return fail(Errc::bad_handshake_message);
      status_ = text(msg, 1, msg.size() - 1);
      if (status_ != "ok" && status_ != "ok_simultaneous") return fail(Errc::handshake_rejected);
      state_ = State::await_challenge;
      return s;
    }
    case State::await_challenge: {
      auto c = Challenge::decode(msg);
      if (!c) return fail(Errc::bad_handshake_message);
      if (!dflag::has_mandatory(c->flags)) return fail(Errc::missing_mandatory_flags);
      if (!valid_node_name(c->name) || (!expected_peer_.empty() && c->name != expected_peer_))
        return fail(Errc::bad_peer_name);
      peer_ = PeerInfo{c->name, c->flags, c->creation};
      my_challenge_ = config_.random();
      ChallengeReply r{my_challenge_, handshake_digest(c->challenge, config_.cookie)};
      s.send.push_back(r.encode());
      state_ = State::await_ack;
      return s;
    }
    case State::await_ack: {
      auto a = ChallengeAck::decode(msg);
      if (!a) return fail(Errc::bad_handshake_message);
      if (a->digest != handshake_digest(my_challenge_, config_.cookie)) return fail(Errc::bad_cookie);
      state_ = State::done;
      s.done = true;
      return s;
    }
    default:
      return fail(Errc::bad_handshake_message);
  }
}

Handshake::Step Handshake::acceptor_message(std::span<const std::uint8_t> msg) {
  Step s;
  switch (state_) {
    case State::await_name: {
      auto n = SendName::decode(msg);
      if (!n) return fail(Errc::bad_handshake_message);
      if (n->old_format && !(n->flags & dflag::HANDSHAKE_23))
        return fail(Errc::unsupported_version, {encode_status("not_allowed")});
      if (!valid_node_name(n->name)) return fail(Errc::bad_peer_name, {encode_status("not_allowed")});
      // The old format carries only the low flag word; the rest comes in 'c'.
      if (!n->old_format && !dflag::has_mandatory(n->flags))
        return fail(Errc::missing_mandatory_flags, {encode_status("not_allowed")});
      peer_ = PeerInfo{n->name, n->flags, n->creation};
      status_ = config_.decide_status ? config_.decide_status(n->name) : "ok";
      s.send.push_back(encode_status(status_));
      if (status_ != "ok" && status_ != "ok_simultaneous") {
        state_ = State::failed;
        s.error = Errc::handshake_rejected;
        return s;
      }
      my_challenge_ = config_.random();
      Challenge c{config_.flags, my_challenge_, config_.creation, config_.local_name};
      s.send.push_back(c.encode());
      state_ = n->old_format ? State::await_complement : State::await_reply;
      return s;
    }
    case State::await_complement: {
      // 'c' FlagsHigh:32 Creation:32
      if (msg.size() != 9 || msg[0] != 'c') return fail(Errc::bad_handshake_message);
      peer_.flags |= get(msg, 1, 4) << 32;
      peer_.creation = std::uint32_t(get(msg, 5, 4));
      if (!dflag::has_mandatory(peer_.flags)) return fail(Errc::missing_mandatory_flags);
      state_ = State::await_reply;
      return s;
    }
    case State::await_reply: {
      auto r = ChallengeReply::decode(msg);
      if (!r) return fail(Errc::bad_handshake_message);
      if (r->digest != handshake_digest(my_challenge_, config_.cookie)) return fail(Errc::bad_cookie);
      s.send.push_back(ChallengeAck{handshake_digest(r->challenge, config_.cookie)}.encode());
      state_ = State::done;
      s.done = true;
      return s;
    }
    default:
      return fail(Errc::bad_handshake_message);
  }
}

}  // namespace hc::cnode
