// The connection manager of a node: listens and accepts, dials peers, owns
// one Connection per peer (and the attempts in handshake), the messages
// waiting for a connection to come up, the peers kept connected with
// reconnect backoff, and the nodeup/nodedown handlers. Incoming control
// messages go to the ConnectionEvents (the node).
//
// - Dial deadline: an outgoing attempt (resolve, epmd, TCP connect and the
//   handshake) that has not produced a connection within `dial_timeout`
//   fails with Errc::dial_timeout, like net_kernel's setup timer (7 s
//   default): the messages queued for the peer are dropped with a log line,
//   the connect() callbacks get the error (so links to the node exit and
//   monitors of it fire with noconnection), a kept peer is redialled.
// - Pending queue: while a peer is dialled, at most `max_pending_sends`
//   messages wait for it; further ones are dropped with
//   Errc::pending_queue_full and a log line naming the peer (the attempt
//   goes on; connected peers are never affected). 0: nothing waits.
// - Connected peers: the connection's own send queue is bounded by
//   ConnectionConfig::max_send_queue (the connection closes with
//   Errc::send_queue_full, the processes see noconnection).
// - Reconnect backoff for kept peers (add_peer): reconnect_min, doubling to
//   reconnect_max, reset by a connection; every timer runs on the injected
//   TimerService, so tests drive it with ManualTimerService.
// - Failed attempts are logged at warn for the 1st, 2nd, 4th, 8th...
//   consecutive failure per peer, at debug otherwise.
//
// Threading: the node's io thread only. Lifetime: owned by the node; async
// work holds a liveness flag and does nothing once the manager is gone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "cnode/connection.hpp"
#include "cnode/control_message.hpp"
#include "cnode/dialer.hpp"
#include "cnode/dist_fragments.hpp"
#include "cnode/dist_frame.hpp"
#include "cnode/hashes.hpp"
#include "cnode/inbound_decoder.hpp"
#include "cnode/timer.hpp"
#include "cnode/transport.hpp"

namespace hc::cnode {

class TlsContexts;

struct ConnectionManagerOptions {
  Atom name;                                       // this node
  std::chrono::milliseconds dial_timeout{7000};    // 0: no deadline (the handshake timeout still applies)
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{5000};
  std::size_t max_pending_sends = kDefaultMaxPendingSends;
  std::size_t max_frame = kDefaultMaxFrame;        // incoming fragmented messages are bounded by it too
  // Incoming messages of at least this many bytes are decoded on a worker
  // thread (inbound_decoder.hpp); 0: all on the io thread.
  std::size_t offload_decode_bytes = kDefaultOffloadDecodeBytes;
  // Outgoing messages to a FRAGMENTS peer of at least this many terms
  // (a binary counts one per 64 bytes) are encoded on a worker thread; the
  // sender's later messages and signals wait behind them (DistSendQueue::
  // reserve). 0: all encoded on the io thread.
  std::size_t offload_encode_terms = kDefaultOffloadEncodeTerms;
};

// What the node does with what the connections bring.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // One control message (+ payload) from the peer of `c`.
  virtual void on_control(Connection& c, ControlMessage& m, std::optional<Term>& payload) = 0;
  // The connection to `node` is gone: before the nodedown handlers run.
  virtual void on_node_down(Atom node, const Term& reason) = 0;
};

struct ConnectionStats {
  std::uint64_t frames_in = 0, frames_out = 0;
  std::uint64_t frames_dropped = 0;   // oversized or malformed, connection kept
  std::uint64_t pending_dropped = 0;  // sends refused: the pending queue was full
  std::uint64_t decodes_offloaded = 0;  // messages decoded on the worker thread (InboundDecoder)
  std::uint64_t encodes_offloaded = 0;  // messages encoded on the worker thread
  std::uint64_t frees_offloaded = 0;    // sent messages' buffers freed on the worker thread
};

class ConnectionManager final : public ConnectionHandler, public Transport {
 public:
  // `config`: the connection settings (read at each new connection: the
  // creation is known only once epmd answered).
  ConnectionManager(boost::asio::io_context& io, TimerService& timers, ConnectionEvents& events,
                    ConnectionManagerOptions options, std::function<ConnectionConfig()> config,
                    std::unique_ptr<Dialer> dialer);
  ~ConnectionManager() override;
  ConnectionManager(const ConnectionManager&) = delete;
  ConnectionManager& operator=(const ConnectionManager&) = delete;

  void set_tls(std::shared_ptr<const TlsContexts> tls) { tls_ = std::move(tls); }
  // InboundDecoder::add_payload_decoder. io thread.
  void add_payload_decoder(std::string key, PayloadDecoder d) { inbound_.add_payload_decoder(std::move(key), std::move(d)); }
  bool tls() const noexcept { return tls_ != nullptr; }
  // Open the listening socket (no accepting yet); the system error when it fails.
  boost::system::error_code listen(const boost::asio::ip::tcp::endpoint& ep);
  std::uint16_t port() const;
  void start_accepting();
  // No new dials from now on (sends to unconnected peers are refused with
  // node_stopped); connected peers still get what is sent: the node's
  // processes exit between begin_stop() and stop() and signal their peers.
  void begin_stop() noexcept { stopping_ = true; }
  // Close everything (connections flush first), fail the attempts with
  // node_stopped, cancel the reconnect timers. Idempotent.
  void stop();

  // ---- Transport
  bool is_connected(Atom node) const override { return conns_.count(node) > 0; }
  std::uint64_t peer_flags(Atom node) const override;
  std::error_code send_ctrl(Atom node, const ControlMessage& m, const Term* payload, bool auto_connect = true,
                            const Pid* sender = nullptr) override;
  void connect(Atom node, std::function<void(std::error_code)> done) override;
  // send_ctrl with a payload already encoded: `body` is the message's
  // external format without the version byte (crdt::encode_slice_message),
  // copied into the frame as is, through the same send queue (fragments,
  // per-sender order) as any payload. Not connected: the body is decoded
  // into a Term and queued as send_ctrl queues (rare: a slice to a peer
  // being dialled); Errc::malformed_term when it does not decode.
  std::error_code send_ctrl_encoded(Atom node, const ControlMessage& m, std::span<const std::uint8_t> body,
                                    bool auto_connect = true);
  // The same, taking the body over: to a FRAGMENTS peer, a large body is
  // queued as it is and its fragments written from it in place (O(1) here,
  // however large: a 67 MB slice was two 67 MB copies in the sender's
  // turn); a small one, or to a peer without FRAGMENTS, is copied as above.
  std::error_code send_ctrl_encoded(Atom node, const ControlMessage& m, std::vector<std::uint8_t>&& body,
                                    bool auto_connect = true);

  void disconnect(Atom node);
  // Keep `node` connected: dial now, redial with backoff when it drops.
  void add_peer(Atom node);
  std::vector<Atom> connected_nodes() const;  // sorted
  std::vector<Atom> visible_nodes() const;    // sorted; those that set DFLAG_PUBLISHED
  using NodeEventHandler = std::function<void(Atom node, bool up)>;
  std::uint64_t monitor_nodes(NodeEventHandler h);
  void remove_node_monitor(std::uint64_t id);

  // ---- introspection (tests, stats)
  bool is_dialling(Atom node) const { return pending_.count(node) > 0; }
  std::size_t pending_sends(Atom node) const;
  // Bytes queued on the connection to `node` (0 when not connected).
  std::size_t queued_bytes(Atom node) const;
  // The delay before the next redial of a kept peer.
  std::optional<std::chrono::milliseconds> next_backoff(Atom node) const;
  ConnectionStats stats() const noexcept;
  // Is a message of `node`'s connection being decoded on the worker?
  bool decoding(Atom node) const;

  // ---- ConnectionHandler
  std::string decide_status(Connection& c, std::string_view peer) override;
  bool on_established(const std::shared_ptr<Connection>& c) override;
  void on_frame(Connection& c, std::span<const std::uint8_t> frame) override;
  void on_closed(const std::shared_ptr<Connection>& c, std::error_code why) override;
  void on_frame_skipped(Connection& c, std::size_t size, std::span<const std::uint8_t> head) override;

 private:
  struct Queued {
    ControlMessage m;
    std::optional<Term> payload;
    std::optional<Pid> sender;
  };
  struct Pending {
    std::uint64_t attempt = 0;
    TimerId deadline = 0;
    std::shared_ptr<Connection> conn;  // in handshake; null while dialling
    std::vector<std::function<void(std::error_code)>> done;
    std::vector<Queued> queued;
    std::uint64_t dropped = 0;         // sends refused meanwhile (queue full)
  };
  // config_() plus the hook that frees sent messages' large buffers on a worker.
  ConnectionConfig connection_config();
  void dial(Atom node);
  void dial_expired(Atom node, std::uint64_t attempt);
  void fail_pending(Atom node, std::error_code why, const std::string& reason);
  void schedule_reconnect(Atom node);
  void accept();
  // Encode into c's queue (fragmented when large and the peer has FRAGMENTS); no flush.
  // `owned`: the payload is this encoded body, taken over with a distribution
  // header (DistSendQueue::commit with a payload), copied in without.
  void write_ctrl(Connection& c, const ControlMessage& m, FramePayload payload, const Pid* sender,
                  std::vector<std::uint8_t>* owned = nullptr);
  std::error_code send_ctrl_encoded(Atom node, const ControlMessage& m, std::span<const std::uint8_t> body,
                                    std::vector<std::uint8_t>* owned, bool auto_connect);
  void notify(Atom node, bool up);
  // Encode a large message on encoder_ (see offload_encode_terms); false:
  // encode it here as usual.
  bool encode_on_worker(const std::shared_ptr<Connection>& c, const ControlMessage& m, const Term& payload,
                        const Pid* sender);
  // One decoded (or malformed) message of `c`, from inbound_.
  void deliver(Connection& c, Result<DistFrame>& parsed, std::size_t bytes);

  boost::asio::io_context& io_;
  TimerService& timers_;
  ConnectionEvents& events_;
  ConnectionManagerOptions opts_;
  std::function<ConnectionConfig()> config_;
  std::unique_ptr<Dialer> dialer_;
  std::shared_ptr<const TlsContexts> tls_;  // null: plain TCP distribution
  boost::asio::ip::tcp::acceptor acceptor_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::uint64_t next_attempt_ = 1;

  std::unordered_map<Atom, std::shared_ptr<Connection>, AtomHash> conns_;
  std::unordered_map<Atom, Pending, AtomHash> pending_;
  std::set<std::shared_ptr<Connection>> all_conns_;
  std::unordered_map<Atom, std::chrono::milliseconds, AtomHash> peers_;  // kept connected: the next backoff
  std::unordered_map<Atom, TimerId, AtomHash> reconnects_;              // redial timers
  std::unordered_map<Atom, std::uint64_t, AtomHash> dial_failures_;     // consecutive, per peer
  std::map<std::uint64_t, NodeEventHandler> node_monitors_;
  std::uint64_t next_node_monitor_ = 1;
  ConnectionStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Per established connection: the messages being received (fragments,
  // and decodes on the worker). Last member: destroyed, and its worker
  // joined, before the rest.
  InboundDecoder inbound_;
  Offload encoder_{io_};  // large outgoing messages (encode_on_worker)
};

}  // namespace hc::cnode
