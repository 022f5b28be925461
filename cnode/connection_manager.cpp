#include "cnode/connection_manager.hpp"

#include <boost/asio/post.hpp>
#include <fcntl.h>

#include <algorithm>

#include "cnode/dist_stream.hpp"
#include "cnode/error.hpp"
#include "cnode/flags.hpp"
#include "cnode/log.hpp"
#include "cnode/term_io.hpp"
#include "cnode/term_weight.hpp"

namespace hc::cnode {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const Atom& a_noconnection() { static const Atom a("noconnection"); return a; }

// The process whose messages and signals must stay in order with this one
// (DistSendQueue holds its later frames behind its fragmented messages): the
// sending or exiting process, or none (the node answering for no process).
std::optional<Pid> sender_of(const ControlMessage& m) {
  return std::visit(
      [](const auto& x) -> std::optional<Pid> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ctrl::MonitorPExit> || std::is_same_v<T, ctrl::PayloadMonitorPExit>) {
          if (auto p = x.from_proc.as_pid()) return *p;
          return std::nullopt;
        } else if constexpr (requires { x.from; }) {
          if constexpr (std::is_same_v<std::decay_t<decltype(x.from)>, Pid>) return x.from;
          else return std::nullopt;
        } else {
          return std::nullopt;
        }
      },
      m);
}

DistSendQueue::Sender sender_key(const Pid& p) noexcept { return (std::uint64_t(p.serial) << 32) | p.id; }

// Both sides offer FRAGMENTS: OTP then accepts only header frames.
FrameFormat frame_format(const Connection& c) {
  return (c.peer_flags() & dflag::FRAGMENTS) ? FrameFormat::dist_header : FrameFormat::pass_through;
}

}  // namespace

ConnectionManager::ConnectionManager(asio::io_context& io, TimerService& timers, ConnectionEvents& events,
                                     ConnectionManagerOptions options, std::function<ConnectionConfig()> config,
                                     std::unique_ptr<Dialer> dialer)
    : io_(io),
      timers_(timers),
      events_(events),
      opts_(std::move(options)),
      config_(std::move(config)),
      dialer_(std::move(dialer)),
      acceptor_(io),
      inbound_(io, opts_.max_frame, opts_.offload_decode_bytes,
               [this](Connection& c, Result<DistFrame>& parsed, std::size_t bytes) { deliver(c, parsed, bytes); }) {}

ConnectionManager::~ConnectionManager() {
  *alive_ = false;
  for (auto& [n, id] : reconnects_) timers_.cancel(id);
  for (auto& [n, p] : pending_)
    if (p.deadline) timers_.cancel(p.deadline);
}

ConnectionConfig ConnectionManager::connection_config() {
  ConnectionConfig c = config_();
  // The buffers of large sent messages (a sync slice of tens of MB) are
  // freed on the encoder's worker. Past the manager's life: in place.
  c.free_elsewhere = [this, alive = alive_](std::vector<std::uint8_t> bytes) {
    if (!*alive) return;
    ++stats_.frees_offloaded;
    encoder_.run([bytes = std::move(bytes)]() mutable {
      std::vector<std::uint8_t>().swap(bytes);
      return 0;
    }, [](int) {});
  };
  return c;
}

// ===========================================================================
// Listening
// ===========================================================================

boost::system::error_code ConnectionManager::listen(const tcp::endpoint& ep) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);  // not for forked children
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

std::uint16_t ConnectionManager::port() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void ConnectionManager::start_accepting() { accept(); }

void ConnectionManager::accept() {
  acceptor_.async_accept([this, alive = alive_](boost::system::error_code ec, tcp::socket s) {
    if (!*alive || stopping_) return;
    if (!ec) {
      auto c = std::make_shared<Connection>(make_dist_stream(std::move(s), tls_, true, {}), connection_config(),
                                            Handshake::Role::acceptor, std::string(), *this);
      all_conns_.insert(c);
      c->start();
    } else if (ec == asio::error::operation_aborted) {
      return;
    }
    accept();
  });
}

void ConnectionManager::stop() {
  if (stopped_) return;
  stopped_ = stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [n, id] : reconnects_) timers_.cancel(id);
  reconnects_.clear();
  auto conns = all_conns_;
  for (auto& c : conns) c->close_after_flush(make_error_code(Errc::node_stopped));
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [n, p] : pending) {
    if (p.deadline) timers_.cancel(p.deadline);
    for (auto& d : p.done) d(make_error_code(Errc::node_stopped));
  }
}

// ===========================================================================
// Dialling
// ===========================================================================

void ConnectionManager::connect(Atom node, std::function<void(std::error_code)> done) {
  if (conns_.count(node)) {
    if (done) asio::post(io_, [done] { done({}); });
    return;
  }
  if (stopping_ || node == opts_.name || !valid_node_name(node.text())) {
    if (done) {
      auto ec = make_error_code(stopping_ ? Errc::node_stopped : Errc::bad_peer_name);
      asio::post(io_, [done, ec] { done(ec); });
    }
    return;
  }
  auto [it, fresh] = pending_.try_emplace(node);
  if (done) it->second.done.push_back(std::move(done));
  if (fresh) dial(node);
}

void ConnectionManager::dial(Atom node) {
  Pending& p = pending_.at(node);
  const std::uint64_t attempt = p.attempt = next_attempt_++;
  if (opts_.dial_timeout.count() > 0) {
    p.deadline = timers_.start(opts_.dial_timeout, [this, node, attempt, alive = alive_] {
      if (*alive) dial_expired(node, attempt);
    });
  }
  dialer_->dial(node, [this, node, attempt, alive = alive_](std::error_code ec, std::string reason, tcp::socket s) {
    if (!*alive) return;
    auto it = pending_.find(node);
    // Superseded: the attempt timed out, the node stopped, or an incoming
    // connection from the peer won meanwhile (the socket just closes).
    if (stopping_ || it == pending_.end() || it->second.attempt != attempt || conns_.count(node)) return;
    if (ec) {
      fail_pending(node, ec, reason);
      return;
    }
    const std::string n(node.text());
    auto c = std::make_shared<Connection>(make_dist_stream(std::move(s), tls_, false, n), connection_config(),
                                          Handshake::Role::initiator, n, *this);
    it->second.conn = c;
    all_conns_.insert(c);
    c->start();
  });
}

void ConnectionManager::dial_expired(Atom node, std::uint64_t attempt) {
  auto it = pending_.find(node);
  if (it == pending_.end() || it->second.attempt != attempt) return;
  it->second.deadline = 0;  // fired
  fail_pending(node, make_error_code(Errc::dial_timeout),
               "no connection within " + std::to_string(opts_.dial_timeout.count()) +
                   " ms (dial deadline: resolve, epmd, TCP connect and handshake)");
}

void ConnectionManager::fail_pending(Atom node, std::error_code why, const std::string& reason) {
  auto it = pending_.find(node);
  if (it == pending_.end()) return;
  const std::uint64_t n = ++dial_failures_[node];
  if ((n & (n - 1)) == 0)  // 1, 2, 4, 8, ...: every failure is seen, the log is not flooded
    HC_LOG(warn) << "cannot connect to " << node << ": " << reason << " (failed attempt " << n
                 << (n > 1 ? "; next warning at attempt " + std::to_string(2 * n) : std::string()) << ")";
  else
    HC_LOG(debug) << "cannot connect to " << node << ": " << reason << " (failed attempt " << n << ")";
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.deadline) timers_.cancel(p.deadline);
  if (!p.queued.empty() || p.dropped) {
    HC_LOG(warn) << "dropped " << (p.queued.size() + p.dropped) << " message(s) to " << node
                 << " that waited for the connection (" << why.message() << ")";
  }
  if (p.conn && !p.conn->closed()) p.conn->close(why);  // its on_closed finds no attempt any more
  for (auto& d : p.done) d(why);
  if (peers_.count(node)) schedule_reconnect(node);
}

void ConnectionManager::schedule_reconnect(Atom node) {
  if (stopping_ || reconnects_.count(node)) return;
  auto pe = peers_.find(node);
  if (pe == peers_.end()) return;
  const auto delay = pe->second;
  pe->second = std::min(opts_.reconnect_max, pe->second * 2);
  reconnects_[node] = timers_.start(delay, [this, node, alive = alive_] {
    if (!*alive) return;
    reconnects_.erase(node);
    if (!stopping_) connect(node, {});
  });
}

std::optional<std::chrono::milliseconds> ConnectionManager::next_backoff(Atom node) const {
  auto it = peers_.find(node);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

void ConnectionManager::add_peer(Atom node) {
  if (node == opts_.name) return;
  peers_.try_emplace(node, opts_.reconnect_min);
  connect(node, {});
}

void ConnectionManager::disconnect(Atom node) {
  auto it = conns_.find(node);
  if (it != conns_.end()) it->second->close(make_error_code(Errc::not_connected));
}

// ===========================================================================
// State
// ===========================================================================

std::vector<Atom> ConnectionManager::connected_nodes() const {
  std::vector<Atom> out;
  for (auto& [n, c] : conns_) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Atom> ConnectionManager::visible_nodes() const {
  std::vector<Atom> out;
  for (auto& [n, c] : conns_)
    if (c->peer_flags() & dflag::PUBLISHED) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t ConnectionManager::peer_flags(Atom node) const {
  auto it = conns_.find(node);
  return it == conns_.end() ? 0 : it->second->peer_flags();
}

std::size_t ConnectionManager::pending_sends(Atom node) const {
  auto it = pending_.find(node);
  return it == pending_.end() ? 0 : it->second.queued.size();
}

std::uint64_t ConnectionManager::monitor_nodes(NodeEventHandler h) {
  auto id = next_node_monitor_++;
  node_monitors_.emplace(id, std::move(h));
  return id;
}

void ConnectionManager::remove_node_monitor(std::uint64_t id) { node_monitors_.erase(id); }

void ConnectionManager::notify(Atom node, bool up) {
  auto monitors = node_monitors_;  // a handler may remove itself
  for (auto& [id, h] : monitors) h(node, up);
}

// ===========================================================================
// Sending
// ===========================================================================

void ConnectionManager::write_ctrl(Connection& c, const ControlMessage& m, FramePayload payload, const Pid* sender,
                                   std::vector<std::uint8_t>* owned) {
  const FrameFormat format = frame_format(c);
  if (owned) payload = format == FrameFormat::dist_header ? FramePayload::appended_later(owned->size())
                                                          : FramePayload::encoded_body(*owned);
  auto& out = c.out();
  const std::size_t start = out.size();
  if (!append_dist_frame(out, m, payload, format)) {
    HC_LOG(error) << "message to " << c.peer() << " dropped: over the 4 GiB a distribution frame can carry";
    return;
  }
  ++stats_.frames_out;
  if (format == FrameFormat::dist_header) {
    // FRAGMENTS peer: large messages go out in fragments, and the sender's
    // later frames stay behind them.
    auto from = sender ? std::optional<Pid>(*sender) : sender_of(m);
    const auto key = from ? sender_key(*from) : DistSendQueue::kNoSender;
    if (owned) c.queue().commit(key, start, std::move(*owned));
    else c.queue().commit(key, start);
  }
}

bool ConnectionManager::encode_on_worker(const std::shared_ptr<Connection>& c, const ControlMessage& m,
                                         const Term& payload, const Pid* sender) {
  // Only with a distribution header (FRAGMENTS peers: every OTP since 22):
  // the queue keeps the sender's later frames behind the reservation.
  if (opts_.offload_encode_terms == 0 || frame_format(*c) != FrameFormat::dist_header ||
      !term_weight_at_least(payload, opts_.offload_encode_terms))
    return false;
  auto from = sender ? std::optional<Pid>(*sender) : sender_of(m);
  const auto ticket = c->queue().reserve(from ? sender_key(*from) : DistSendQueue::kNoSender);
  ++stats_.encodes_offloaded;
  encoder_.run(
      [m, payload]() {
        std::vector<std::uint8_t> frame;
        if (!append_dist_frame(frame, m, &payload, FrameFormat::dist_header)) frame.clear();
        return frame;
      },
      [this, c, ticket](std::vector<std::uint8_t> frame) {
        if (c->closed()) return;  // lost with the connection, as any queued frame
        if (frame.empty()) {
          HC_LOG(error) << "message to " << c->peer() << " dropped: over the 4 GiB a distribution frame can carry";
        } else {
          ++stats_.frames_out;
        }
        c->queue().fill(ticket, std::move(frame));
        c->flush();
      });
  return true;
}

std::error_code ConnectionManager::send_ctrl(Atom node, const ControlMessage& m, const Term* payload,
                                             bool auto_connect, const Pid* sender) {
  if (auto it = conns_.find(node); it != conns_.end()) {
    auto& c = *it->second;
    if (payload && encode_on_worker(it->second, m, *payload, sender)) return {};
    write_ctrl(c, m, payload, sender);
    c.flush();
    return {};
  }
  if (stopping_) return make_error_code(Errc::node_stopped);
  if (node == opts_.name || !valid_node_name(node.text())) return make_error_code(Errc::bad_peer_name);
  if (!auto_connect) return make_error_code(Errc::not_connected);
  auto [pit, fresh] = pending_.try_emplace(node);
  Pending& p = pit->second;
  if (p.queued.size() >= opts_.max_pending_sends) {
    ++stats_.pending_dropped;
    const std::uint64_t n = ++p.dropped;
    if ((n & (n - 1)) == 0) {  // 1st, 2nd, 4th... of this attempt
      HC_LOG(warn) << "message to " << node << " dropped: " << opts_.max_pending_sends
                   << " messages already wait for the connection to come up (max_pending_sends; " << n
                   << " dropped so far)";
    }
    if (fresh) dial(node);  // max_pending_sends 0: nothing waits, the node is still dialled
    return make_error_code(Errc::pending_queue_full);
  }
  p.queued.push_back(Queued{m, payload ? std::optional<Term>(*payload) : std::nullopt,
                            sender ? std::optional<Pid>(*sender) : std::nullopt});
  if (fresh) dial(node);
  return {};
}

std::error_code ConnectionManager::send_ctrl_encoded(Atom node, const ControlMessage& m,
                                                     std::span<const std::uint8_t> body, bool auto_connect) {
  return send_ctrl_encoded(node, m, body, nullptr, auto_connect);
}

std::error_code ConnectionManager::send_ctrl_encoded(Atom node, const ControlMessage& m, std::vector<std::uint8_t>&& body,
                                                     bool auto_connect) {
  return send_ctrl_encoded(node, m, body, &body, auto_connect);
}

std::error_code ConnectionManager::send_ctrl_encoded(Atom node, const ControlMessage& m,
                                                     std::span<const std::uint8_t> body, std::vector<std::uint8_t>* owned,
                                                     bool auto_connect) {
  if (auto it = conns_.find(node); it != conns_.end()) {
    auto& c = *it->second;
    write_ctrl(c, m, FramePayload::encoded_body(body), nullptr, owned);
    c.flush();
    return {};
  }
  // The pending queue holds Terms (and a peer not yet connected is rare).
  auto t = decode_body_prefix(body);
  if (!t || t->consumed != body.size()) {
    HC_LOG(error) << "message to " << node << " dropped: its encoded payload does not decode"
                  << (t ? "" : ": " + t.message());
    return make_error_code(Errc::malformed_term);
  }
  return send_ctrl(node, m, &t->term, auto_connect);
}

// ===========================================================================
// ConnectionHandler
// ===========================================================================

std::string ConnectionManager::decide_status(Connection& c, std::string_view peer_text) {
  (void)c;
  Atom peer(peer_text);
  if (stopping_ || peer == opts_.name) return "not_allowed";
  auto it = pending_.find(peer);
  if (it != pending_.end()) {
    // Simultaneous connect: the node with the greater name keeps its own attempt.
    if (opts_.name.text() > peer.text()) return "nok";
    if (auto own = it->second.conn) {
      it->second.conn.reset();
      own->close(make_error_code(Errc::handshake_rejected));
    }
    return "ok_simultaneous";
  }
  return "ok";  // an existing connection to `peer` is stale: replaced in on_established
}

bool ConnectionManager::on_established(const std::shared_ptr<Connection>& c) {
  if (stopping_) return false;
  Atom peer = c->peer();
  if (auto it = conns_.find(peer); it != conns_.end() && it->second != c) {
    HC_LOG(info) << "new connection from " << peer << " replaces the old one";
    auto old = it->second;
    old->close(make_error_code(Errc::noconnection));  // runs the nodedown of the old one
  }
  conns_[peer] = c;
  if (auto f = dial_failures_.find(peer); f != dial_failures_.end()) {
    HC_LOG(info) << "connected to " << peer << " after " << f->second << " failed attempt(s)";
    dial_failures_.erase(f);
  }
  HC_LOG(info) << "nodeup " << peer << " (" << (c->role() == Handshake::Role::initiator ? "outgoing" : "incoming")
               << ", flags 0x" << std::hex << c->peer_flags() << std::dec << ")";
  if (auto pit = pending_.find(peer); pit != pending_.end()) {
    Pending p = std::move(pit->second);
    pending_.erase(pit);
    if (p.deadline) timers_.cancel(p.deadline);
    if (p.conn && p.conn != c) p.conn->close(make_error_code(Errc::handshake_rejected));
    if (p.dropped) {
      HC_LOG(warn) << "connected to " << peer << "; " << p.dropped
                   << " message(s) sent while connecting were dropped (max_pending_sends " << opts_.max_pending_sends
                   << ")";
    }
    for (auto& q : p.queued) write_ctrl(*c, q.m, q.payload ? &*q.payload : nullptr, q.sender ? &*q.sender : nullptr);
    c->flush();
    for (auto& d : p.done) d({});
  }
  if (auto pe = peers_.find(peer); pe != peers_.end()) pe->second = opts_.reconnect_min;
  notify(peer, true);
  return true;
}

void ConnectionManager::on_closed(const std::shared_ptr<Connection>& c, std::error_code why) {
  all_conns_.erase(c);
  inbound_.forget(*c);  // half-received and undelivered messages die with their connection
  Atom peer = c->peer();
  if (c->established()) {
    auto it = conns_.find(peer);
    if (it != conns_.end() && it->second == c) {
      conns_.erase(it);
      HC_LOG(info) << "nodedown " << peer << " (" << why.message() << ")";
      events_.on_node_down(peer, Term(a_noconnection()));
      notify(peer, false);
      if (peers_.count(peer)) schedule_reconnect(peer);
    }
  } else if (c->role() == Handshake::Role::initiator) {
    auto it = pending_.find(peer);
    if (it != pending_.end() && it->second.conn == c) fail_pending(peer, why, c->describe_handshake_failure(why));
  }
}

// ===========================================================================
// Incoming frames
// ===========================================================================

void ConnectionManager::on_frame(Connection& c, std::span<const std::uint8_t> frame) {
  ++stats_.frames_in;
  inbound_.feed(c, frame);
}

void ConnectionManager::deliver(Connection& c, Result<DistFrame>& parsed, std::size_t bytes) {
  if (!parsed) {
    // The length prefix delimited this frame, so the next one is intact:
    // drop only this message (the BEAM, too, only discards what it cannot
    // decode) and keep the connection.
    ++stats_.frames_dropped;
    HC_LOG(warn) << "dropped a malformed message of " << bytes << " bytes from " << c.peer() << ": "
                 << parsed.message();
    return;
  }
  auto& f = *parsed;
  HC_LOG(trace) << "<- " << c.peer() << " " << f.control_term << (f.payload ? " + " + to_string(*f.payload) : "");
  events_.on_control(c, f.control, f.payload);
}

std::size_t ConnectionManager::queued_bytes(Atom node) const {
  auto it = conns_.find(node);
  return it == conns_.end() ? 0 : it->second->queue().queued_bytes();
}

ConnectionStats ConnectionManager::stats() const noexcept {
  ConnectionStats s = stats_;
  s.decodes_offloaded = inbound_.offloaded();
  return s;
}

bool ConnectionManager::decoding(Atom node) const {
  auto it = conns_.find(node);
  return it != conns_.end() && inbound_.decoding(*it->second);
}

void ConnectionManager::on_frame_skipped(Connection& c, std::size_t size, std::span<const std::uint8_t> head) {
  ++stats_.frames_dropped;
  // Name the sender: the control message (which holds the sender's pid for
  // SEND_SENDER / REG_SEND) is usually in the first bytes that arrived.
  std::string control = "control message not yet received";
  if (head.size() > 1 && head[0] == 112) {
    auto d = decode_external_prefix(head.subspan(1));
    if (d) control = "control message " + to_string(d->term);
  }
  HC_LOG(warn) << "skipped a frame of " << size << " bytes from " << c.peer() << " (" << control
               << "): larger than --max-frame " << opts_.max_frame << "; that message is dropped, the connection kept";
}

}  // namespace hc::cnode
