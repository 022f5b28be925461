// The distribution handshake, version 6 (OTP 23+), as a pure state machine for
// both sides. https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#distribution-handshake
//
// It consumes handshake messages (the bytes inside the 2-byte length frames,
// see framing.hpp) and says what to send back; it never touches a socket.
//
//   initiator (A)                          acceptor (B)
//   'N' Flags:64 Creation:32 NLen:16 Name  ->                  send_name
//                                        <-  's' "ok"           status
//   'N' Flags:64 Chal:32 Creation:32 NLen:16 Name <-           challenge
//   'r' ChalA:32 Digest:128               ->                  challenge_reply
//                                        <-  'a' Digest:128     challenge_ack
//
// Digest = MD5(Cookie ++ integer_to_list(Challenge)). The old 'n' send_name
// (version 5) is accepted only from a peer that sets HANDSHAKE_23 (it then
// sends a 'c' complement with the high flag word and its creation, as OTP 23+
// does); otherwise it is rejected with Errc::unsupported_version.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cnode/md5.hpp"

namespace hc::cnode {

using Bytes = std::vector<std::uint8_t>;

// Wire shapes of the handshake messages (encoders/decoders are pure and
// exposed for tests).
struct SendName {  // 'N' (or old 'n', version 5)
  std::uint64_t flags = 0;
  std::uint32_t creation = 0;
  std::string name;
  bool old_format = false;  // 'n': Version:16 Flags:32 Name
  Bytes encode() const;
  static std::optional<SendName> decode(std::span<const std::uint8_t> msg);
};
struct Challenge {  // 'N' Flags:64 Challenge:32 Creation:32 NLen:16 Name
  std::uint64_t flags = 0;
  std::uint32_t challenge = 0;
  std::uint32_t creation = 0;
  std::string name;
  Bytes encode() const;
  static std::optional<Challenge> decode(std::span<const std::uint8_t> msg);
};
struct ChallengeReply {  // 'r' Challenge:32 Digest:128
  std::uint32_t challenge = 0;
  Md5Digest digest{};
  Bytes encode() const;
  static std::optional<ChallengeReply> decode(std::span<const std::uint8_t> msg);
};
struct ChallengeAck {  // 'a' Digest:128
  Md5Digest digest{};
  Bytes encode() const;
  static std::optional<ChallengeAck> decode(std::span<const std::uint8_t> msg);
};
Bytes encode_status(std::string_view status);  // 's' Status

// A node name is Alive@Host with both parts non-empty and at most 255 bytes.
bool valid_node_name(std::string_view name) noexcept;

struct HandshakeConfig {
  std::string local_name;  // our node name
  std::string cookie;
  std::uint64_t flags = 0;  // what we advertise
  std::uint32_t creation = 0;
  std::function<std::uint32_t()> random;  // challenge source (injected for tests)
  // Acceptor only: status to answer for a peer name ("ok", "nok", "alive",
  // "not_allowed"); default accepts everyone.
  std::function<std::string(std::string_view peer)> decide_status;
};

struct PeerInfo {
  std::string name;
  std::uint64_t flags = 0;
  std::uint32_t creation = 0;
};

class Handshake {
 public:
  enum class Role { initiator, acceptor };

  struct Step {
    std::vector<Bytes> send;   // messages to send, in order (unframed)
    bool done = false;         // handshake completed: switch to 4-byte frames
    std::error_code error;     // failed: send `send` (may hold a status) then close
  };

  // `expected_peer`: for the initiator, the node we dial (checked against the
  // challenge's name); ignored for the acceptor.
  Handshake(Role role, HandshakeConfig config, std::string expected_peer = {});

  Step start();  // initiator: the send_name; acceptor: nothing
  Step on_message(std::span<const std::uint8_t> msg);

  Role role() const noexcept { return role_; }
  const PeerInfo& peer() const noexcept { return peer_; }
  bool done() const noexcept { return state_ == State::done; }
  // The status we answered (acceptor) or received (initiator).
  const std::string& status() const noexcept { return status_; }
  // Initiator: our challenge reply is out and the ack not yet in (a peer
  // that closes now rejected our digest: the cookies differ).
  bool awaiting_ack() const noexcept { return state_ == State::await_ack; }

 private:
  enum class State { start, await_status, await_challenge, await_name, await_complement,
                     await_reply, await_ack, done, failed };
  Step fail(std::error_code ec, std::vector<Bytes> send = {});
  Step initiator_message(std::span<const std::uint8_t> msg);
  Step acceptor_message(std::span<const std::uint8_t> msg);

  Role role_;
  HandshakeConfig config_;
  std::string expected_peer_;
  State state_ = State::start;
  PeerInfo peer_;
  std::uint32_t my_challenge_ = 0;
  std::string status_;
};

}  // namespace hc::cnode
