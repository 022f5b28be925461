#include "cnode/node.hpp"
#include "cnode/overloaded.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fcntl.h>

#include <random>

#include "cnode/dist_fragments.hpp"
#include "cnode/dist_frame.hpp"
#include "cnode/epmd_client.hpp"
#include "cnode/error.hpp"
#include "cnode/flags.hpp"
#include "cnode/log.hpp"
#include "cnode/node_impl.hpp"
#include "cnode/spawn_request.hpp"
#include "cnode/system_services.hpp"
#include "cnode/term_io.hpp"

namespace hc::cnode {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const Atom& a_normal() { static const Atom a("normal"); return a; }
const Atom& a_kill() { static const Atom a("kill"); return a; }
const Atom& a_killed() { static const Atom a("killed"); return a; }
const Atom& a_noproc() { static const Atom a("noproc"); return a; }
const Atom& a_noconnection() { static const Atom a("noconnection"); return a; }
}  // namespace

// ===========================================================================
// NodeImpl: lifecycle
// ===========================================================================

NodeImpl::NodeImpl(Node& facade, asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers)
    : facade_(facade),
      io_(io),
      opts_(std::move(options)),
      timers_(timers ? std::move(timers) : make_asio_timer_service(io)),
      acceptor_(io),
      epmd_socket_(io) {
  auto at = opts_.name.find('@');
  if (at != std::string::npos) {
    alive_ = opts_.name.substr(0, at);
    host_ = opts_.name.substr(at + 1);
  }
  name_ = Atom(opts_.name);
  ref_salt_ = std::random_device{}();
  // What Horde asks every member with erpc: is a (local) pid alive?
  auto alive = [this](std::span<const Term> args) -> Term {
    const Pid* p = args[0].as_pid();
    if (p == nullptr) throw RpcException::error(Term(Atom("badarg")));
    Entry* e = entry(*p);
    return Term(Atom(e && e->proc->alive() ? "true" : "false"));
  };
  rpc_exports_.add_sync(Atom("erlang"), Atom("is_process_alive"), 1, alive);
  rpc_exports_.add_sync(Atom("Elixir.Process"), Atom("alive?"), 1, alive);
}

NodeImpl::~NodeImpl() { *alive_flag_ = false; }

ConnectionConfig NodeImpl::connection_config() const {
  ConnectionConfig c;
  c.handshake.local_name = opts_.name;
  c.handshake.cookie = opts_.cookie;
  c.handshake.flags = dflag::HC_ADVERTISED;
  c.handshake.creation = creation_;
  c.max_frame = opts_.max_frame;
  c.tick_interval = opts_.tick_interval;
  c.peer_timeout = opts_.peer_timeout;
  c.handshake_timeout = opts_.handshake_timeout;
  c.max_send_queue = opts_.max_send_queue;
  c.fragment_size = opts_.fragment_size;
  return c;
}

void NodeImpl::start(std::function<void(std::error_code)> done) {
  if (!valid_node_name(opts_.name)) {
    HC_LOG(error) << "invalid node name '" << opts_.name << "' (expected NAME@HOST)";
    done(make_error_code(Errc::bad_peer_name));
    return;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(opts_.listen_address, ec);
  if (ec) {
    HC_LOG(error) << "invalid listen address '" << opts_.listen_address << "'";
    done(std::error_code(ec.value(), std::system_category()));
    return;
  }
  if (opts_.tls) {
    TlsOptionProblem problem;
    auto contexts = make_tls_contexts(*opts_.tls, &problem);
    if (!contexts) {
      HC_LOG(error) << "TLS distribution: " << problem.detail;
      done(contexts.error());
      return;
    }
    tls_ = *contexts;
  }
  tcp::endpoint ep(addr, opts_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);  // not for forked children
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    HC_LOG(error) << "cannot listen on " << opts_.listen_address << ":" << opts_.port << ": " << ec.message();
    done(std::error_code(ec.value(), std::system_category()));
    return;
  }
  port_ = acceptor_.local_endpoint().port();
  auto finish = [this, done](std::error_code e) {
    if (e) {
      done(e);
      return;
    }
    started_ = true;
    HC_LOG(info) << "node " << opts_.name << " listening on port " << port_ << (tls_ ? " (TLS)" : "")
                 << ", creation " << creation_;
    accept();
    start_system_services();
    for (const auto& peer : opts_.connect) add_peer(Atom(peer));
    done({});
  };
  if (!opts_.use_epmd) {
    creation_ = (std::random_device{}() % 0xfffffff0u) + 4;
    finish({});
    return;
  }
  asio::co_spawn(
      io_,
      [this, finish, alive = alive_flag_]() -> asio::awaitable<void> {
        tcp::endpoint epmd_ep(asio::ip::make_address("127.0.0.1"), opts_.epmd_port);
        std::error_code e;
        // Starting epmd takes a moment; without starting one, a few tries
        // cover an epmd that is itself just starting.
        const int attempts = opts_.start_epmd ? 25 : 5;
        for (int attempt = 0; attempt < attempts; ++attempt) {
          epmd_socket_ = tcp::socket(io_);
          e = co_await epmd::register_node(epmd_socket_, epmd_ep, alive_, port_, creation_);
          if (!*alive) co_return;
          if (!e) break;
          if (e != hc::errc::unreachable) break;  // epmd was reached (name taken, lost, bad answer): retrying is no use
          if (attempt == 0 && opts_.start_epmd) {
            HC_LOG(info) << "no epmd on port " << opts_.epmd_port << "; starting epmd -daemon -port " << opts_.epmd_port;
            epmd::start_daemon(opts_.epmd_port);
          }
          asio::steady_timer t(io_, std::chrono::milliseconds(200));
          boost::system::error_code ignored;
          co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
          if (!*alive) co_return;
        }
        if (e == Errc::epmd_name_in_use) {
          HC_LOG(error) << "name " << alive_ << " is in use: epmd on port " << opts_.epmd_port
                        << " already has a node registered under it";
        } else if (e == Errc::epmd_unreachable) {
          HC_LOG(error) << "epmd is unreachable on 127.0.0.1:" << opts_.epmd_port
                        << (opts_.start_epmd ? " (starting epmd -daemon did not help)" : " (--no-epmd-start)");
        } else if (e) {
          HC_LOG(error) << "epmd registration of '" << alive_ << "' failed: " << e.message();
        }
        finish(e);
      },
      asio::detached);
}

void NodeImpl::stop() {
  if (stopping_) return;
  stopping_ = true;
  HC_LOG(info) << "node stopping";
  std::vector<std::uint64_t> keys;
  for (auto& [k, e] : procs_) keys.push_back(k);
  for (auto k : keys) {
    auto it = procs_.find(k);
    if (it != procs_.end()) run_exit(*it->second, Term(Atom("shutdown")));
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  epmd_socket_.close(ignored);
  auto conns = all_conns_;
  for (auto& c : conns) c->close_after_flush(make_error_code(Errc::node_stopped));
  for (auto& [n, p] : pending_)
    for (auto& d : p.done) d(make_error_code(Errc::node_stopped));
  pending_.clear();
}

void NodeImpl::accept() {
  acceptor_.async_accept([this, alive = alive_flag_](boost::system::error_code ec, tcp::socket s) {
    if (!*alive || stopping_) return;
    if (!ec) {
      auto c = std::make_shared<Connection>(make_dist_stream(std::move(s), tls_, true, {}), connection_config(),
                                            Handshake::Role::acceptor,
                                            std::string(), *this);
      all_conns_.insert(c);
      c->start();
    } else if (ec == asio::error::operation_aborted) {
      return;
    }
    accept();
  });
}

// ===========================================================================
// Connections
// ===========================================================================

void NodeImpl::connect(Atom node, std::function<void(std::error_code)> done) {
  if (conns_.count(node)) {
    if (done) asio::post(io_, [done] { done({}); });
    return;
  }
  if (stopping_ || node == name_ || !valid_node_name(node.text())) {
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

void NodeImpl::dial(Atom node) {
  asio::co_spawn(
      io_,
      [this, node, alive = alive_flag_]() -> asio::awaitable<void> {
        std::string n(node.text());
        auto at = n.find('@');
        std::string peer_alive = n.substr(0, at), host = n.substr(at + 1);
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(host, ec);
        if (ec) {
          tcp::resolver resolver(io_);
          auto results = co_await resolver.async_resolve(host, "", asio::redirect_error(asio::use_awaitable, ec));
          if (!*alive) co_return;
          if (ec || results.empty()) {
            fail_pending(node, std::error_code(ec.value(), std::system_category()),
                         "cannot resolve its host: " + ec.message());
            co_return;
          }
          addr = results.begin()->endpoint().address();
        }
        epmd::PortInfo info;
        auto e = co_await epmd::port_please(tcp::endpoint(addr, opts_.epmd_port), peer_alive, info);
        if (!*alive) co_return;
        if (e) {
          fail_pending(node, make_error_code(Errc::noconnection), "epmd lookup on " + host + " failed: " + e.message());
          co_return;
        }
        tcp::socket s(io_);
        co_await s.async_connect(tcp::endpoint(addr, info.port), asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive) co_return;
        if (ec) {
          fail_pending(node, make_error_code(Errc::noconnection),
                       "TCP connect to port " + std::to_string(info.port) + " failed: " + ec.message());
          co_return;
        }
        auto it = pending_.find(node);
        if (stopping_ || it == pending_.end() || conns_.count(node)) co_return;  // superseded
        auto c = std::make_shared<Connection>(make_dist_stream(std::move(s), tls_, false, n), connection_config(),
                                              Handshake::Role::initiator, n, *this);
        it->second.conn = c;
        all_conns_.insert(c);
        c->start();
      },
      asio::detached);
}

void NodeImpl::fail_pending(Atom node, std::error_code why, const std::string& reason) {
  auto it = pending_.find(node);
  if (it == pending_.end()) return;
  const std::uint64_t n = ++dial_failures_[node];
  if ((n & (n - 1)) == 0)  // 1, 2, 4, 8, ...: every failure is seen, the log is not flooded
    HC_LOG(warn) << "cannot connect to " << node << ": " << reason << " (failed attempt " << n
                 << (n > 1 ? "; next warning at attempt " + std::to_string(2 * n) : std::string()) << ")";
  else
    HC_LOG(debug) << "cannot connect to " << node << ": " << reason << " (failed attempt " << n << ")";
  auto p = std::move(it->second);
  pending_.erase(it);
  for (auto& d : p.done) d(why);
  if (peers_.count(node)) schedule_reconnect(node);
}

void NodeImpl::schedule_reconnect(Atom node) {
  if (stopping_) return;
  auto& backoff = peers_[node];
  auto delay = backoff;
  backoff = std::min(opts_.reconnect_max, backoff * 2);
  auto t = std::make_shared<asio::steady_timer>(io_, delay);
  t->async_wait([this, node, t, alive = alive_flag_](boost::system::error_code ec) {
    if (ec || !*alive || stopping_) return;
    connect(node, {});
  });
}

void NodeImpl::add_peer(Atom node) {
  if (node == name_) return;
  peers_.try_emplace(node, opts_.reconnect_min);
  connect(node, {});
}

void NodeImpl::disconnect(Atom node) {
  auto it = conns_.find(node);
  if (it != conns_.end()) it->second->close(make_error_code(Errc::not_connected));
}

std::vector<Atom> NodeImpl::connected_nodes() const {
  std::vector<Atom> out;
  for (auto& [n, c] : conns_) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Atom> NodeImpl::visible_nodes() const {
  std::vector<Atom> out;
  for (auto& [n, c] : conns_)
    if (c->peer_flags() & dflag::PUBLISHED) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t NodeImpl::peer_flags(Atom node) const {
  auto it = conns_.find(node);
  return it == conns_.end() ? 0 : it->second->peer_flags();
}

std::uint64_t NodeImpl::monitor_nodes(Node::NodeEventHandler h) {
  auto id = next_node_monitor_++;
  node_monitors_.emplace(id, std::move(h));
  return id;
}

void NodeImpl::remove_node_monitor(std::uint64_t id) { node_monitors_.erase(id); }

std::string NodeImpl::decide_status(Connection& c, std::string_view peer_text) {
  Atom peer(peer_text);
  if (stopping_ || peer == name_) return "not_allowed";
  auto it = pending_.find(peer);
  if (it != pending_.end()) {
    // Simultaneous connect: the node with the greater name keeps its own attempt.
    if (name_.text() > peer.text()) return "nok";
    if (auto own = it->second.conn) {
      it->second.conn.reset();
      own->close(make_error_code(Errc::handshake_rejected));
    }
    return "ok_simultaneous";
  }
  (void)c;
  return "ok";  // an existing connection to `peer` is stale: replaced in on_established
}

bool NodeImpl::on_established(const std::shared_ptr<Connection>& c) {
  if (stopping_) return false;
  Atom peer = c->peer();
  if (auto it = conns_.find(peer); it != conns_.end() && it->second != c) {
    HC_LOG(info) << "new connection from " << peer << " replaces the old one";
    auto old = it->second;
    old->close(make_error_code(Errc::noconnection));  // runs node_down for the old one
  }
  conns_[peer] = c;
  if (auto f = dial_failures_.find(peer); f != dial_failures_.end()) {
    HC_LOG(info) << "connected to " << peer << " after " << f->second << " failed attempt(s)";
    dial_failures_.erase(f);
  }
  HC_LOG(info) << "nodeup " << peer << " (" << (c->role() == Handshake::Role::initiator ? "outgoing" : "incoming")
               << ", flags 0x" << std::hex << c->peer_flags() << std::dec << ")";
  if (auto pit = pending_.find(peer); pit != pending_.end()) {
    auto p = std::move(pit->second);
    pending_.erase(pit);
    if (p.conn && p.conn != c) {
      p.conn->close(make_error_code(Errc::handshake_rejected));
    }
    for (auto& q : p.queued) q(*c);
    c->flush();
    for (auto& d : p.done) d({});
  }
  if (auto pe = peers_.find(peer); pe != peers_.end()) pe->second = opts_.reconnect_min;
  auto monitors = node_monitors_;
  for (auto& [id, h] : monitors) h(peer, true);
  return true;
}

void NodeImpl::on_closed(const std::shared_ptr<Connection>& c, std::error_code why) {
  all_conns_.erase(c);
  assemblers_.erase(c.get());  // half-received fragmented messages die with their connection
  Atom peer = c->peer();
  if (c->established()) {
    auto it = conns_.find(peer);
    if (it != conns_.end() && it->second == c) {
      conns_.erase(it);
      HC_LOG(info) << "nodedown " << peer << " (" << why.message() << ")";
      node_down(peer, Term(a_noconnection()));
      if (peers_.count(peer)) schedule_reconnect(peer);
    }
  } else if (c->role() == Handshake::Role::initiator) {
    auto it = pending_.find(peer);
    if (it != pending_.end() && it->second.conn == c) fail_pending(peer, why, c->describe_handshake_failure(why));
  }
}

void NodeImpl::node_down(Atom node, const Term& reason) {
  std::vector<std::pair<Pid, Pid>> link_exits;  // (remote, local)
  std::vector<std::tuple<Pid, Reference, Term>> downs;
  for (auto& [k, e] : procs_) {
    for (const auto& l : e->lm.links)
      if (l.node == node) link_exits.emplace_back(l, e->proc->self());
    for (auto it = e->lm.monitors.begin(); it != e->lm.monitors.end();) {
      if (it->second.node == node) {
        downs.emplace_back(e->proc->self(), *it->first.as_reference(), it->second.item);
        it = e->lm.monitors.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = e->lm.watchers.begin(); it != e->lm.watchers.end();) {
      if (it->second.watcher.node == node) it = e->lm.watchers.erase(it);
      else ++it;
    }
  }
  for (auto& [pid, ref, item] : downs) deliver(pid, make_down(ref, item, reason));
  for (auto& [remote, local] : link_exits) exit_signal(remote, local, reason, true);
  auto monitors = node_monitors_;
  for (auto& [id, h] : monitors) h(node, false);
}

FrameFormat NodeImpl::frame_format(const Connection& c) {
  // Both sides offer FRAGMENTS: OTP then accepts only header frames.
  return (c.peer_flags() & dflag::FRAGMENTS) ? FrameFormat::dist_header : FrameFormat::pass_through;
}

namespace {
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
}  // namespace

void NodeImpl::write_ctrl(Connection& c, const ControlMessage& m, const Term* payload, const Pid* sender) {
  const FrameFormat format = frame_format(c);
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
    c.queue().commit(from ? key_of(*from) : DistSendQueue::kNoSender, start);
  }
}

void NodeImpl::send_ctrl(Atom node, const ControlMessage& m, const Term* payload, bool auto_connect,
                         const Pid* sender) {
  auto it = conns_.find(node);
  if (it != conns_.end()) {
    auto& c = *it->second;
    write_ctrl(c, m, payload, sender);
    c.flush();
    return;
  }
  if (!auto_connect || stopping_ || node == name_ || !valid_node_name(node.text())) return;
  auto [pit, fresh] = pending_.try_emplace(node);
  std::optional<Term> p = payload ? std::optional<Term>(*payload) : std::nullopt;
  std::optional<Pid> s = sender ? std::optional<Pid>(*sender) : std::nullopt;
  pit->second.queued.push_back([this, m, p, s](Connection& c) { write_ctrl(c, m, p ? &*p : nullptr, s ? &*s : nullptr); });
  if (fresh) dial(node);
}

// ===========================================================================
// Incoming frames
// ===========================================================================

void NodeImpl::on_frame(Connection& c, std::span<const std::uint8_t> frame) {
  ++stats_.frames_in;
  std::variant<DistFrame, DistFrameError> parsed = DistFrameError{};
  if (!frame.empty() && frame[0] == 131) {
    // A distribution header (we advertise FRAGMENTS): whole or in fragments.
    auto [it, fresh] = assemblers_.try_emplace(&c, opts_.max_frame);
    auto step = it->second.feed(frame);
    if (step.kind == FragmentAssembler::Step::Kind::pending) return;
    if (step.kind == FragmentAssembler::Step::Kind::error) parsed = DistFrameError{step.error, step.what};
    else parsed = parse_dist_body(step.body);
  } else {
    parsed = parse_dist_frame(frame);
  }
  if (auto* err = std::get_if<DistFrameError>(&parsed)) {
    // The length prefix delimited this frame, so the next one is intact:
    // drop only this message (the BEAM, too, only discards what it cannot
    // decode) and keep the connection.
    ++frames_dropped_;
    HC_LOG(warn) << "dropped a malformed message of " << frame.size() << " bytes from " << c.peer() << ": "
                 << err->code.message() << ": " << err->what;
    return;
  }
  auto& f = std::get<DistFrame>(parsed);
  HC_LOG(trace) << "<- " << c.peer() << " " << f.control_term << (f.payload ? " + " + to_string(*f.payload) : "");
  dispatch(c, f.control, f.payload);
}

void NodeImpl::on_frame_skipped(Connection& c, std::size_t size, std::span<const std::uint8_t> head) {
  ++frames_dropped_;
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

void NodeImpl::dispatch(Connection& c, ControlMessage& msg, std::optional<Term>& payload) {
  using namespace ctrl;
  std::visit(
      overloaded{
          [&](Send& m) { deliver(m.to, std::move(*payload)); },
          [&](SendTT& m) { deliver(m.to, std::move(*payload)); },
          [&](SendSender& m) { deliver(m.to, std::move(*payload)); },
          [&](SendSenderTT& m) { deliver(m.to, std::move(*payload)); },
          [&](RegSend& m) {
            if (auto p = whereis(m.to_name)) deliver(*p, std::move(*payload));
            else HC_LOG(debug) << "message to unregistered name " << m.to_name << " dropped";
          },
          [&](RegSendTT& m) {
            if (auto p = whereis(m.to_name)) deliver(*p, std::move(*payload));
          },
          [&](AliasSend& m) {
            if (auto it = aliases_.find(Term(m.alias)); it != aliases_.end()) deliver(it->second, std::move(*payload));
          },
          [&](AliasSendTT& m) {
            if (auto it = aliases_.find(Term(m.alias)); it != aliases_.end()) deliver(it->second, std::move(*payload));
          },
          [&](Link& m) {
            Entry* e = entry(m.to);
            if (e && e->proc->alive()) e->lm.links.insert(m.from);
            else send_ctrl(c.peer(), Exit{m.to, m.from, Term(a_noproc())}, nullptr, false);
          },
          [&](Unlink& m) {
            if (Entry* e = entry(m.to)) e->lm.links.erase(m.from);
          },
          [&](UnlinkId& m) {
            if (Entry* e = entry(m.to)) e->lm.links.erase(m.from);
            send_ctrl(c.peer(), UnlinkIdAck{m.id, m.to, m.from}, nullptr, false);
          },
          [&](UnlinkIdAck&) {},
          [&](Exit& m) { exit_signal(m.from, m.to, m.reason, true); },
          [&](ExitTT& m) { exit_signal(m.from, m.to, m.reason, true); },
          [&](PayloadExit& m) { exit_signal(m.from, m.to, *payload, true); },
          [&](PayloadExitTT& m) { exit_signal(m.from, m.to, *payload, true); },
          [&](Exit2& m) { exit_signal(m.from, m.to, m.reason, false); },
          [&](Exit2TT& m) { exit_signal(m.from, m.to, m.reason, false); },
          [&](PayloadExit2& m) { exit_signal(m.from, m.to, *payload, false); },
          [&](PayloadExit2TT& m) { exit_signal(m.from, m.to, *payload, false); },
          [&](MonitorP& m) { incoming_monitor(c.peer(), m); },
          [&](DemonitorP& m) {
            Entry* e = nullptr;
            if (auto p = m.to_proc.as_pid()) e = entry(*p);
            else if (auto a = m.to_proc.as_atom()) {
              if (auto p2 = whereis(*a)) e = entry(*p2);
            }
            if (e) e->lm.watchers.erase(Term(m.ref));
          },
          [&](MonitorPExit& m) { incoming_down(m.ref, m.to, m.reason); },
          [&](PayloadMonitorPExit& m) { incoming_down(m.ref, m.to, *payload); },
          [&](SpawnRequest& m) { handle_spawn_request(c, m, *payload); },
          [&](SpawnRequestTT& m) {
            handle_spawn_request(c, SpawnRequest{m.req_id, m.from, m.group_leader, m.module, m.function, m.arity, m.opts},
                                 *payload);
          },
          [&](SpawnReply&) {},
          [&](SpawnReplyTT&) {},
          [&](GroupLeader&) {},
          [&](NodeLink&) {},
      },
      msg);
}

void NodeImpl::incoming_monitor(Atom node, const ctrl::MonitorP& m) {
  Entry* e = nullptr;
  if (auto p = m.to_proc.as_pid()) e = entry(*p);
  else if (auto a = m.to_proc.as_atom()) {
    if (auto p2 = whereis(*a)) e = entry(*p2);
  }
  if (e && e->proc->alive()) {
    e->lm.watchers[Term(m.ref)] = Watcher{m.from, m.to_proc};
    return;
  }
  send_ctrl(node, ctrl::MonitorPExit{m.to_proc, m.from, m.ref, Term(a_noproc())}, nullptr, false);
}

void NodeImpl::incoming_down(const Reference& ref, const Pid& to, const Term& reason) {
  Entry* e = entry(to);
  if (!e) return;
  auto it = e->lm.monitors.find(Term(ref));
  if (it == e->lm.monitors.end()) return;
  Term item = it->second.item;
  e->lm.monitors.erase(it);
  deliver(to, make_down(ref, item, reason));
}

void NodeImpl::handle_spawn_request(Connection& c, const ctrl::SpawnRequest& req, const Term& args) {
  const Pid fresh = allocate_pid();
  auto answer = answer_spawn_request(req, args, fresh, rpc_exports_);
  if (!answer.handled) {
    std::string what = std::string(req.module.text()) + ":" + std::string(req.function.text()) + "/" +
                       std::to_string(req.arity);
    if (auto erpc = parse_erpc_request(req, args))
      what = std::string(erpc->module.text()) + ":" + std::string(erpc->function.text()) + "/" +
             std::to_string(erpc->args.size()) + " (erpc)";
    HC_LOG(info) << "refused spawn request " << what << " from " << c.peer()
                 << ": notsup (no C++ function exported under that module)";
  }
  const Atom peer = c.peer();
  for (auto& m : answer.messages) send_ctrl(peer, m, nullptr, false);
  if (!answer.function) return;
  // Run the exported function now; its answer (now or later, on this
  // thread) becomes the exit of the "spawned" erpc process.
  auto erpc = std::make_shared<ErpcRequest>(std::move(*answer.erpc));
  auto replied = std::make_shared<bool>(false);
  RpcReply reply = [this, alive = alive_flag_, peer, req, fresh, flags = answer.flags, erpc,
                    replied](RpcOutcome outcome) {
    if (!*alive || *replied) return;
    *replied = true;
    if (erpc->kind == ErpcRequest::Kind::cast) {
      if (outcome.kind != RpcOutcome::Kind::value) {
        HC_LOG(warn) << "erpc cast " << erpc->module << ":" << erpc->function << "/" << erpc->args.size()
                     << " from " << peer << " failed: " << outcome.value;
      }
      return;
    }
    for (auto& m : spawn_exit_messages(req, fresh, flags, erpc_exit_reason(erpc->res_ref, outcome)))
      send_ctrl(peer, m, nullptr, false);
  };
  (*answer.function)(std::span<const Term>(erpc->args), reply);
}

// ===========================================================================
// Processes
// ===========================================================================

Pid NodeImpl::allocate_pid() {
  // 15-bit ids and 13-bit serials, like a real node's pid numbers, so every
  // peer accepts them; id 0 serial 0 is never used (null_pid).
  std::uint64_t n = next_pid_++;
  Pid p;
  p.node = name_;
  p.id = std::uint32_t(n & 0x7fff);
  p.serial = std::uint32_t((n >> 15) & 0x1fff);
  p.creation = creation_;
  if (p.id == 0 && p.serial == 0) return allocate_pid();
  return p;
}

Reference NodeImpl::make_ref() {
  std::uint64_t n = next_ref_++;
  Reference r;
  r.node = name_;
  r.creation = creation_;
  r.ids = {std::uint32_t(n & 0x3ffff), std::uint32_t(n >> 18), ref_salt_};
  return r;
}

NodeImpl::Entry* NodeImpl::entry(const Pid& pid) {
  if (!is_local(pid)) return nullptr;
  auto it = procs_.find(key_of(pid));
  return it == procs_.end() ? nullptr : it->second.get();
}

Pid NodeImpl::spawn(std::unique_ptr<Process> p, SpawnOptions o, const Pid* parent) {
  Pid pid = allocate_pid();
  auto owned = std::make_unique<Entry>();
  Entry& e = *owned;
  p->node_ = &facade_;
  p->pid_ = pid;
  p->alive_ = true;
  p->trap_exit_ = o.trap_exit;
  e.proc = std::move(p);
  procs_.emplace(key_of(pid), std::move(owned));
  if (o.link && parent) link(*parent, pid);
  if (o.register_as && !register_name(*o.register_as, pid)) {
    HC_LOG(warn) << "spawn: name " << *o.register_as << " already registered";
    run_exit(e, tuple(Atom("already_registered"), *o.register_as));
    return pid;
  }
  e.running = true;
  try {
    e.proc->init();
  } catch (const std::exception& ex) {
    e.pending_exit = tuple(Atom("cpp_exception"), Term::binary(ex.what()));
  }
  e.running = false;
  if (e.pending_exit) {
    run_exit(e, *e.pending_exit);
  } else if (!e.mailbox.empty()) {
    schedule(e);  // messages init() sent to itself
  }
  return pid;
}

void NodeImpl::schedule(Entry& e) {
  if (e.scheduled || e.running) return;
  e.scheduled = true;
  asio::post(io_, [this, key = key_of(e.proc->self()), alive = alive_flag_] {
    if (*alive) drain(key);
  });
}

void NodeImpl::deliver(const Pid& to, Term msg) {
  Entry* e = entry(to);
  if (!e || !e->proc->alive()) return;
  e->mailbox.push_back(std::move(msg));
  schedule(*e);
}

void NodeImpl::drain(std::uint64_t key) {
  auto it = procs_.find(key);
  if (it == procs_.end()) return;
  Entry& e = *it->second;
  e.scheduled = false;
  for (int budget = 0; budget < 256 && !e.mailbox.empty() && e.proc->alive(); ++budget) {
    Term msg = std::move(e.mailbox.front());
    e.mailbox.pop_front();
    e.running = true;
    try {
      if (!e.proc->intercept_call_message(msg)) e.proc->handle_message(msg);
    } catch (const std::exception& ex) {
      HC_LOG(error) << "process " << Term(e.proc->self()) << " threw: " << ex.what();
      if (!e.pending_exit) e.pending_exit = tuple(Atom("cpp_exception"), Term::binary(ex.what()));
    } catch (...) {
      if (!e.pending_exit) e.pending_exit = tuple(Atom("cpp_exception"), Term::binary("unknown"));
    }
    e.running = false;
    if (e.pending_exit) {
      run_exit(e, *e.pending_exit);
      return;
    }
  }
  if (!e.mailbox.empty() && e.proc->alive()) schedule(e);
}

void NodeImpl::exit_process(Entry& e, const Term& reason) {
  if (!e.proc->alive()) return;
  if (e.running) {
    if (!e.pending_exit) e.pending_exit = reason;
    return;
  }
  run_exit(e, reason);
}

void NodeImpl::run_exit(Entry& e, Term reason) {
  Process& p = *e.proc;
  if (!p.alive_) return;
  p.alive_ = false;
  const Pid self = p.pid_;
  try {
    p.terminate(reason);
  } catch (...) {
  }
  if (p.name_) {
    names_.erase(*p.name_);
    p.name_.reset();
  }
  for (const Atom& n : e.extra_names) names_.erase(n);
  e.extra_names.clear();
  for (auto& a : e.aliases) aliases_.erase(a);
  for (auto t : e.timers) timers_->cancel(t);
  for (auto& [tag, call] : p.calls_) timers_->cancel(call.timer);
  auto links = std::move(e.lm.links);
  auto watchers = std::move(e.lm.watchers);
  auto monitors = std::move(e.lm.monitors);
  e.mailbox.clear();
  // Remove from the table first: cascading signals must see us dead. The
  // object lives on in the graveyard until the current handler has returned.
  auto it = procs_.find(key_of(self));
  if (it != procs_.end()) {
    if (graveyard_.empty()) {
      asio::post(io_, [this, alive = alive_flag_] {
        if (*alive) graveyard_.clear();
      });
    }
    graveyard_.push_back(std::move(it->second));
    procs_.erase(it);
  }
  if (!(reason == Term(a_normal())) || true) {
    for (const auto& l : links) {
      if (is_local(l)) exit_signal(self, l, reason, true);
      else send_ctrl(l.node, ctrl::Exit{self, l, reason}, nullptr, false);
    }
  }
  for (auto& [ref, w] : watchers) {
    if (is_local(w.watcher)) {
      Term item = w.monitored.is_atom() ? tuple(w.monitored, name_) : w.monitored;
      if (Entry* we = entry(w.watcher)) {
        we->lm.monitors.erase(ref);
        deliver(w.watcher, make_down(*ref.as_reference(), item, reason));
      }
    } else {
      send_ctrl(w.watcher.node, ctrl::MonitorPExit{w.monitored, w.watcher, *ref.as_reference(), reason}, nullptr, false,
                &self);  // monitored by name: still this process's signal
    }
  }
  for (auto& [ref, m] : monitors) {
    if (m.node == name_) {
      if (auto tp = m.target.as_pid())
        if (Entry* te = entry(*tp)) te->lm.watchers.erase(ref);
    } else {
      send_ctrl(m.node, ctrl::DemonitorP{self, m.target, *ref.as_reference()}, nullptr, false);
    }
  }
}

void NodeImpl::exit_signal(const Pid& from, const Pid& to, const Term& reason, bool from_link) {
  if (!is_local(to)) {
    if (from_link) send_ctrl(to.node, ctrl::Exit{from, to, reason}, nullptr, false);
    else send_ctrl(to.node, ctrl::Exit2{from, to, reason}, nullptr);
    return;
  }
  Entry* e = entry(to);
  if (!e || !e->proc->alive()) return;
  if (from_link && e->lm.links.erase(from) == 0) return;  // not linked (any more): ignored
  if (!from_link && reason == Term(a_kill())) {
    exit_process(*e, Term(a_killed()));
  } else if (e->proc->trap_exit()) {
    deliver(to, make_exit_message(from, reason));
  } else if (reason == Term(a_normal())) {
    if (!from_link && from == to) exit_process(*e, reason);
  } else {
    exit_process(*e, reason);
  }
}

void NodeImpl::link(const Pid& a, const Pid& b) {
  Entry* ea = entry(a);
  if (!ea || a == b) return;
  if (is_local(b)) {
    Entry* eb = entry(b);
    if (!eb || !eb->proc->alive()) {
      ea->lm.links.insert(b);
      exit_signal(b, a, Term(a_noproc()), true);
      return;
    }
    ea->lm.links.insert(b);
    eb->lm.links.insert(a);
    return;
  }
  ea->lm.links.insert(b);
  if (conns_.count(b.node)) {
    send_ctrl(b.node, ctrl::Link{a, b}, nullptr);
  } else {
    connect(b.node, [this, a, b](std::error_code ec) {
      if (ec) exit_signal(b, a, Term(a_noconnection()), true);
      else send_ctrl(b.node, ctrl::Link{a, b}, nullptr, false);
    });
  }
}

void NodeImpl::unlink(const Pid& a, const Pid& b) {
  Entry* ea = entry(a);
  if (!ea) return;
  ea->lm.links.erase(b);
  if (is_local(b)) {
    if (Entry* eb = entry(b)) eb->lm.links.erase(a);
    return;
  }
  // Per node (this io thread): a process-wide counter would be shared,
  // unsynchronised, by every node in the process.
  if (peer_flags(b.node) & dflag::UNLINK_ID) send_ctrl(b.node, ctrl::UnlinkId{next_unlink_id_++, a, b}, nullptr, false);
  else send_ctrl(b.node, ctrl::Unlink{a, b}, nullptr, false);
}

void NodeImpl::monitor(const Pid& watcher, const Dest& target, const Reference& ref) {
  Entry* we = entry(watcher);
  if (!we) return;
  const Term key(ref);
  auto local_target = [&](const Pid& p, const Term& monitored, const Term& item) {
    Entry* te = entry(p);
    if (!te || !te->proc->alive()) {
      deliver(watcher, make_down(ref, item, Term(a_noproc())));
      return;
    }
    te->lm.watchers[key] = Watcher{watcher, monitored};
    we->lm.monitors[key] = OutgoingMonitor{Term(p), name_, item};
  };
  auto remote_target = [&](Atom node, const Term& target_term, const Term& item) {
    we->lm.monitors[key] = OutgoingMonitor{target_term, node, item};
    if (conns_.count(node)) {
      send_ctrl(node, ctrl::MonitorP{watcher, target_term, ref}, nullptr, false);
      return;
    }
    connect(node, [this, node, watcher, target_term, ref](std::error_code ec) {
      if (ec) incoming_down(ref, watcher, Term(a_noconnection()));
      else send_ctrl(node, ctrl::MonitorP{watcher, target_term, ref}, nullptr, false);
    });
  };
  if (auto p = target.pid()) {
    if (is_local(*p) || p->node == name_) local_target(*p, Term(*p), Term(*p));
    else remote_target(p->node, Term(*p), Term(*p));
  } else if (auto a = target.local_name()) {
    Term item = tuple(*a, name_);
    if (auto p2 = whereis(*a)) local_target(*p2, Term(*a), item);
    else deliver(watcher, make_down(ref, item, Term(a_noproc())));
  } else if (auto rn = target.remote_name()) {
    Term item = tuple(rn->name, rn->node);
    if (rn->node == name_) {
      if (auto p2 = whereis(rn->name)) local_target(*p2, Term(rn->name), item);
      else deliver(watcher, make_down(ref, item, Term(a_noproc())));
    } else {
      remote_target(rn->node, Term(rn->name), item);
    }
  } else {
    deliver(watcher, make_down(ref, target.to_term(), Term(a_noproc())));
  }
}

bool NodeImpl::demonitor(const Pid& watcher, const Reference& ref) {
  Entry* we = entry(watcher);
  if (!we) return false;
  const Term key(ref);
  auto it = we->lm.monitors.find(key);
  bool found = it != we->lm.monitors.end();
  if (found) {
    auto m = it->second;
    we->lm.monitors.erase(it);
    if (m.node == name_) {
      if (auto tp = m.target.as_pid())
        if (Entry* te = entry(*tp)) te->lm.watchers.erase(key);
    } else {
      send_ctrl(m.node, ctrl::DemonitorP{watcher, m.target, ref}, nullptr, false);
    }
  }
  flush_down(*we, ref);
  return found;
}

void NodeImpl::flush_down(Entry& e, const Reference& ref) {
  const Term key(ref);
  for (auto it = e.mailbox.begin(); it != e.mailbox.end();) {
    if (it->is_record("DOWN", 5) && *it->element(1) == key) it = e.mailbox.erase(it);
    else ++it;
  }
}

bool NodeImpl::register_name(Atom name, const Pid& pid) {
  Entry* e = entry(pid);
  if (!e || !e->proc->alive() || e->proc->name_ || names_.count(name)) return false;
  names_.emplace(name, pid);
  e->proc->name_ = name;
  return true;
}

bool NodeImpl::unregister_name(Atom name) {
  auto it = names_.find(name);
  if (it == names_.end()) return false;
  if (Entry* e = entry(it->second)) {
    if (e->proc->name_ == name) e->proc->name_.reset();
    std::erase(e->extra_names, name);
  }
  names_.erase(it);
  return true;
}

bool NodeImpl::add_name(Atom name, const Pid& pid) {
  Entry* e = entry(pid);
  if (!e || !e->proc->alive() || names_.count(name)) return false;
  if (!e->proc->name_) return register_name(name, pid);
  names_.emplace(name, pid);
  e->extra_names.push_back(name);
  return true;
}

std::optional<Pid> NodeImpl::whereis(Atom name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void NodeImpl::add_alias(const Pid& owner, const Reference& ref) {
  Entry* e = entry(owner);
  if (!e) return;
  aliases_[Term(ref)] = owner;
  e->aliases.push_back(Term(ref));
}

void NodeImpl::remove_alias(const Reference& ref) {
  const Term key(ref);
  auto it = aliases_.find(key);
  if (it == aliases_.end()) return;
  if (Entry* e = entry(it->second)) std::erase(e->aliases, key);
  aliases_.erase(it);
}

TimerId NodeImpl::send_after(const Pid& to, std::chrono::milliseconds delay, Term msg) {
  Entry* e = entry(to);
  if (!e) return 0;
  auto id = std::make_shared<TimerId>(0);
  *id = timers_->start(delay, [this, to, msg = std::move(msg), id, alive = alive_flag_]() mutable {
    if (!*alive) return;
    if (Entry* te = entry(to)) te->timers.erase(*id);
    deliver(to, std::move(msg));
  });
  e->timers.insert(*id);
  return *id;
}

bool NodeImpl::cancel_timer(const Pid& owner, TimerId id) {
  if (Entry* e = entry(owner)) e->timers.erase(id);
  return timers_->cancel(id);
}

void NodeImpl::send(const Pid& from, const Dest& to, const Term& msg) {
  if (auto p = to.pid()) {
    if (is_local(*p)) {
      deliver(*p, msg);
    } else if (p->node != name_) {
      if (peer_flags(p->node) & dflag::SEND_SENDER || !conns_.count(p->node))
        send_ctrl(p->node, ctrl::SendSender{from, *p}, &msg);
      else
        send_ctrl(p->node, ctrl::Send{Term(Atom("")), *p}, &msg);
    }
    // A pid of this node name with another creation belongs to a previous
    // incarnation: dropped, like the BEAM does.
  } else if (auto a = to.local_name()) {
    if (auto p2 = whereis(*a)) deliver(*p2, msg);
  } else if (auto rn = to.remote_name()) {
    if (rn->node == name_) {
      if (auto p2 = whereis(rn->name)) deliver(*p2, msg);
    } else {
      static const Term kUnused{Atom("")};
      send_ctrl(rn->node, ctrl::RegSend{from, kUnused, rn->name}, &msg);
    }
  } else if (auto al = to.alias()) {
    if (al->node == name_) {
      if (auto it = aliases_.find(Term(*al)); it != aliases_.end()) deliver(it->second, msg);
    } else if (peer_flags(al->node) & dflag::ALIAS) {
      send_ctrl(al->node, ctrl::AliasSend{from, *al}, &msg, false);
    }
  }
}

// ===========================================================================
// Node facade
// ===========================================================================

Node::Node(asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers)
    : impl_(std::make_unique<NodeImpl>(*this, io, std::move(options), std::move(timers))) {}
Node::~Node() = default;
void Node::start(std::function<void(std::error_code)> done) { impl_->start(std::move(done)); }
void Node::stop() { impl_->stop(); }
Atom Node::name() const noexcept { return impl_->name_; }
std::uint32_t Node::creation() const noexcept { return impl_->creation_; }
std::uint16_t Node::port() const noexcept { return impl_->port_; }
const NodeOptions& Node::options() const noexcept { return impl_->opts_; }
asio::io_context& Node::io() noexcept { return impl_->io_; }
TimerService& Node::timers() noexcept { return *impl_->timers_; }
NodeStats Node::stats() const noexcept { return impl_->stats_; }
std::vector<Atom> Node::connected_nodes() const { return impl_->connected_nodes(); }
std::vector<Atom> Node::visible_nodes() const { return impl_->visible_nodes(); }
std::shared_ptr<void>& Node::attachment_slot(std::type_index type) { return impl_->attachments_[type]; }
bool Node::is_connected(Atom node) const { return impl_->is_connected(node); }
void Node::connect(Atom node, std::function<void(std::error_code)> done) { impl_->connect(node, std::move(done)); }
void Node::disconnect(Atom node) { impl_->disconnect(node); }
void Node::add_peer(Atom node) { impl_->add_peer(node); }
std::uint64_t Node::monitor_nodes(NodeEventHandler handler) { return impl_->monitor_nodes(std::move(handler)); }
void Node::remove_node_monitor(std::uint64_t id) { impl_->remove_node_monitor(id); }
Pid Node::spawn(std::unique_ptr<Process> process, SpawnOptions options, const Pid* parent) {
  return impl_->spawn(std::move(process), std::move(options), parent);
}
Pid Node::spawn_fn(FunctionProcess::Handler handler, SpawnOptions options, FunctionProcess::Init init) {
  return spawn(std::make_unique<FunctionProcess>(std::move(handler), std::move(init)), std::move(options));
}
std::future<Pid> Node::spawn_async(std::function<std::unique_ptr<Process>()> factory, SpawnOptions options) {
  return run([this, factory = std::move(factory), options]() { return spawn(factory(), options); });
}
std::optional<Pid> Node::whereis(Atom name) const { return impl_->whereis(name); }
void Node::export_function(Atom module, Atom function, unsigned arity, RpcFunction fn) {
  impl_->rpc_exports_.add_sync(module, function, arity, std::move(fn));
}
void Node::export_async_function(Atom module, Atom function, unsigned arity, RpcAsyncFunction fn) {
  impl_->rpc_exports_.add(module, function, arity, std::move(fn));
}
bool Node::unexport_function(Atom module, Atom function, unsigned arity) {
  return impl_->rpc_exports_.remove(module, function, arity);
}
bool Node::is_alive(const Pid& pid) const {
  auto* e = impl_->entry(pid);
  return e && e->proc->alive();
}
Process* Node::find(const Pid& pid) const {
  auto* e = impl_->entry(pid);
  return e && e->proc->alive() ? e->proc.get() : nullptr;
}
std::size_t Node::process_count() const noexcept { return impl_->process_count(); }
void Node::send(const Pid& from, const Dest& to, const Term& message) { impl_->send(from, to, message); }
void Node::exit_signal(const Pid& from, const Pid& to, const Term& reason) {
  impl_->exit_signal(from, to, reason, false);
}
Reference Node::make_ref() { return impl_->make_ref(); }
Pid Node::null_pid() const { return Pid{impl_->name_, 0, 0, impl_->creation_}; }
void Node::post(std::function<void()> fn) { asio::post(impl_->io_, std::move(fn)); }

// ===========================================================================
// NodeRunner
// ===========================================================================

NodeRunner::NodeRunner(NodeOptions options)
    : io_(std::make_unique<asio::io_context>(1)), node_(std::make_unique<Node>(*io_, std::move(options))) {}

NodeRunner::~NodeRunner() { stop(); }

std::error_code NodeRunner::start() {
  std::promise<std::error_code> started;
  auto fut = started.get_future();
  node_->start([&started](std::error_code ec) { started.set_value(ec); });
  thread_ = std::thread([this] {
    // Every line this io thread logs names its node, also when several
    // nodes share the process (tests, benchmarks).
    log::set_thread_node_name(node_->options().name);
    auto guard = asio::make_work_guard(*io_);
    io_->run();
  });
  started_ = true;
  auto ec = fut.get();
  if (ec) stop();
  return ec;
}

void NodeRunner::stop() {
  if (!started_) return;
  started_ = false;
  asio::post(*io_, [this] {
    node_->stop();
    // Give the closing connections a moment to flush, then end the loop.
    auto t = std::make_shared<asio::steady_timer>(*io_, std::chrono::milliseconds(100));
    t->async_wait([this, t](boost::system::error_code) { io_->stop(); });
  });
  if (thread_.joinable()) thread_.join();
}

}  // namespace hc::cnode
