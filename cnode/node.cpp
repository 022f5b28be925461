#include "cnode/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>

#include "cnode/epmd_client.hpp"
#include "cnode/error.hpp"
#include "cnode/flags.hpp"
#include "cnode/log.hpp"
#include "cnode/node_impl.hpp"
#include "cnode/term_weight.hpp"
#include "cnode/overloaded.hpp"
#include "cnode/system_services.hpp"
#include "cnode/term_io.hpp"

namespace hc::cnode {
namespace asio = boost::asio;
using asio::ip::tcp;

// ===========================================================================
// NodeImpl: the parts, start and stop
// ===========================================================================

namespace {
ConnectionManagerOptions manager_options(const NodeOptions& o, Atom name) {
  ConnectionManagerOptions m;
  m.name = name;
  m.dial_timeout = o.dial_timeout;
  m.reconnect_min = o.reconnect_min;
  m.reconnect_max = o.reconnect_max;
  m.max_pending_sends = o.max_pending_sends;
  m.max_frame = o.max_frame;
  m.offload_decode_bytes = o.offload_decode_bytes;
  m.offload_encode_terms = o.offload_encode_terms;
  return m;
}
}  // namespace

NodeImpl::NodeImpl(Node& facade, asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers)
    : facade_(facade),
      io_(io),
      opts_(std::move(options)),
      timers_(timers ? std::move(timers) : make_asio_timer_service(io)),
      name_(opts_.name),
      conns_(io, *timers_, *this, manager_options(opts_, name_), [this] { return connection_config(); },
             make_tcp_dialer(io, opts_.epmd_port)),
      procs_([&io](std::function<void()> fn) { asio::post(io, std::move(fn)); },
             [this](ProcessEntry& e, const Term& reason) { run_exit(e, reason); }),
      router_(procs_, conns_),
      signals_(procs_, router_, conns_),
      epmd_socket_(io) {
  auto at = opts_.name.find('@');
  if (at != std::string::npos) {
    alive_ = opts_.name.substr(0, at);
    host_ = opts_.name.substr(at + 1);
  }
  procs_.set_identity(name_, creation_);
  if (opts_.offload_free_terms > 0) {
    // A 100 000-name sync message is 50-200 ms to free: on a worker, not
    // in the io thread's turn (its handler is done with it).
    procs_.set_reaper([this](Term&& msg) {
      if (!term_weight_at_least(msg, opts_.offload_free_terms)) return;
      ++frees_offloaded_;
      reaper_.run([m = std::move(msg)]() mutable {
        m = Term();
        return 0;
      }, [](int) {});
    });
  }
  // What Horde asks every member with erpc: is a (local) pid alive?
  auto alive = [this](std::span<const Term> args) -> Term {
    const Pid* p = args[0].as_pid();
    if (p == nullptr) throw RpcException::error(Term(Atom("badarg")));
    return Term(Atom(procs_.live(*p) ? "true" : "false"));
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

NodeStats NodeImpl::stats() const noexcept {
  NodeStats s;
  s.frames_in = conns_.stats().frames_in;
  s.frames_out = conns_.stats().frames_out;
  s.decodes_offloaded = conns_.stats().decodes_offloaded;
  s.encodes_offloaded = conns_.stats().encodes_offloaded;
  s.frees_offloaded = frees_offloaded_;
  return s;
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
    auto contexts = make_tls_contexts(*opts_.tls);
    if (!contexts) {
      HC_LOG(error) << "TLS distribution: " << contexts.what();
      done(contexts.error());
      return;
    }
    conns_.set_tls(*contexts);
  }
  ec = conns_.listen(tcp::endpoint(addr, opts_.port));
  if (ec) {
    HC_LOG(error) << "cannot listen on " << opts_.listen_address << ":" << opts_.port << ": " << ec.message();
    done(std::error_code(ec.value(), std::system_category()));
    return;
  }
  port_ = conns_.port();
  auto finish = [this, done](std::error_code e) {
    if (e) {
      done(e);
      return;
    }
    procs_.set_identity(name_, creation_);
    HC_LOG(info) << "node " << opts_.name << " listening on port " << port_ << (conns_.tls() ? " (TLS)" : "")
                 << ", creation " << creation_;
    conns_.start_accepting();
    start_system_services(facade_);
    for (const auto& peer : opts_.connect) conns_.add_peer(Atom(peer));
    done({});
  };
  if (!opts_.use_epmd) {
    creation_ = (std::random_device{}() % 0xfffffff0u) + 4;
    finish({});
    return;
  }
  register_with_epmd(std::move(finish));
}

void NodeImpl::register_with_epmd(std::function<void(std::error_code)> finish) {
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
  conns_.begin_stop();  // what the exiting processes send to unconnected peers is dropped, not dialled for
  for (const Pid& pid : procs_.pids())
    if (ProcessEntry* e = procs_.entry(pid)) run_exit(*e, Term(Atom("shutdown")));
  boost::system::error_code ignored;
  epmd_socket_.close(ignored);
  conns_.stop();
}

// ===========================================================================
// NodeImpl: processes
// ===========================================================================

Pid NodeImpl::spawn(std::unique_ptr<Process> p, SpawnOptions o, const Pid* parent) {
  const Pid pid = procs_.allocate_pid();
  ProcessEntry& e = procs_.insert(pid, std::move(p), o.trap_exit, &facade_, this);
  if (o.link && parent) signals_.link(*parent, pid);
  if (o.register_as && !procs_.register_name(*o.register_as, pid)) {
    HC_LOG(warn) << "spawn: name " << *o.register_as << " already registered";
    run_exit(e, tuple(Atom("already_registered"), *o.register_as));
    return pid;
  }
  procs_.run_init(e);
  return pid;
}

void NodeImpl::run_exit(ProcessEntry& e, const Term& reason) {
  const Term why = reason;  // `reason` may live in `e` (pending_exit)
  auto remains = procs_.finish(e, why);
  if (!remains) return;
  router_.release(remains->aliases);
  for (TimerId t : remains->timers) timers_->cancel(t);
  signals_.process_ended(*remains, why);
}

void NodeImpl::send_from(const Pid& from, const Dest& to, const Term& msg) {
  std::visit(overloaded{
                 [](const RouteNowhere&) {},
                 [&](const RouteLocal& r) { procs_.deliver(r.pid, msg); },
                 [&](const RouteRemote& r) { conns_.send_ctrl(r.node, r.control, &msg, r.auto_connect); },
             },
             router_.route(from, to));
}

void NodeImpl::send_encoded_from(const Pid& from, const Dest& to, std::span<const std::uint8_t> body,
                                 std::vector<std::uint8_t>* owned) {
  std::visit(overloaded{
                 [](const RouteNowhere&) {},
                 [&](const RouteLocal& r) {
                   // A local receiver gets a Term (rare for the pre-encoded
                   // sends: a CRDT's slice to a neighbour on this node).
                   auto t = decode_body_prefix(body);
                   if (!t || t->consumed != body.size()) {
                     HC_LOG(error) << "message to " << Term(r.pid) << " dropped: its encoded payload does not decode";
                     return;
                   }
                   procs_.deliver(r.pid, std::move(t->term));
                 },
                 [&](const RouteRemote& r) {
                   if (owned) conns_.send_ctrl_encoded(r.node, r.control, std::move(*owned), r.auto_connect);
                   else conns_.send_ctrl_encoded(r.node, r.control, body, r.auto_connect);
                 },
             },
             router_.route(from, to));
}

bool NodeImpl::queued(const Pid& self, const std::function<bool(const Term&)>& pred) {
  if (ProcessEntry* e = procs_.entry(self))
    for (const Term& m : e->mailbox)
      if (pred(m)) return true;
  return false;
}

void NodeImpl::exit_self(const Pid& self, const Term& reason) {
  if (ProcessEntry* e = procs_.entry(self)) procs_.exit(*e, reason);
}

TimerId NodeImpl::send_after(const Pid& to, std::chrono::milliseconds delay, Term msg) {
  ProcessEntry* e = procs_.entry(to);
  if (!e) return 0;
  auto id = std::make_shared<TimerId>(0);
  *id = timers_->start(delay, [this, to, msg = std::move(msg), id, alive = alive_flag_]() mutable {
    if (!*alive) return;
    if (ProcessEntry* te = procs_.entry(to)) te->timers.erase(*id);
    procs_.deliver(to, std::move(msg));
  });
  e->timers.insert(*id);
  return *id;
}

bool NodeImpl::cancel_timer(const Pid& owner, TimerId id) {
  if (ProcessEntry* e = procs_.entry(owner)) e->timers.erase(id);
  return timers_->cancel(id);
}

bool NodeImpl::alias_reachable(Atom node) const {
  return node == name_ || (conns_.peer_flags(node) & dflag::ALIAS);
}

// ===========================================================================
// Node facade
// ===========================================================================

Node::Node(asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers)
    : impl_(std::make_unique<NodeImpl>(*this, io, std::move(options), std::move(timers))) {}
Node::~Node() = default;
void Node::start(std::function<void(std::error_code)> done) { impl_->start(std::move(done)); }
void Node::stop() { impl_->stop(); }
Atom Node::name() const noexcept { return impl_->name(); }
std::uint32_t Node::creation() const noexcept { return impl_->creation(); }
std::uint16_t Node::port() const noexcept { return impl_->port(); }
const NodeOptions& Node::options() const noexcept { return impl_->options(); }
asio::io_context& Node::io() noexcept { return impl_->io(); }
TimerService& Node::timers() noexcept { return impl_->timers(); }
NodeStats Node::stats() const noexcept { return impl_->stats(); }
std::vector<Atom> Node::connected_nodes() const { return impl_->connections().connected_nodes(); }
std::size_t Node::queued_bytes(Atom node) const { return impl_->connections().queued_bytes(node); }
std::vector<Atom> Node::visible_nodes() const { return impl_->connections().visible_nodes(); }
std::shared_ptr<void>& Node::attachment_slot(std::type_index type) { return impl_->attachment_slot(type); }
bool Node::is_connected(Atom node) const { return impl_->connections().is_connected(node); }
void Node::connect(Atom node, std::function<void(std::error_code)> done) {
  impl_->connections().connect(node, std::move(done));
}
void Node::disconnect(Atom node) { impl_->connections().disconnect(node); }
void Node::add_peer(Atom node) { impl_->connections().add_peer(node); }
void Node::add_payload_decoder(std::string key, PayloadDecoder decoder) {
  impl_->connections().add_payload_decoder(std::move(key), std::move(decoder));
}
std::uint64_t Node::monitor_nodes(NodeEventHandler handler) {
  return impl_->connections().monitor_nodes(std::move(handler));
}
void Node::remove_node_monitor(std::uint64_t id) { impl_->connections().remove_node_monitor(id); }
Pid Node::spawn(std::unique_ptr<Process> process, SpawnOptions options, const Pid* parent) {
  return impl_->spawn(std::move(process), std::move(options), parent);
}
Pid Node::spawn_fn(FunctionProcess::Handler handler, SpawnOptions options, FunctionProcess::Init init) {
  return spawn(std::make_unique<FunctionProcess>(std::move(handler), std::move(init)), std::move(options));
}
std::future<Pid> Node::spawn_async(std::function<std::unique_ptr<Process>()> factory, SpawnOptions options) {
  return run([this, factory = std::move(factory), options]() { return spawn(factory(), options); });
}
std::optional<Pid> Node::whereis(Atom name) const { return impl_->processes().whereis(name); }
void Node::export_function(Atom module, Atom function, unsigned arity, RpcFunction fn) {
  impl_->rpc_exports().add_sync(module, function, arity, std::move(fn));
}
void Node::export_async_function(Atom module, Atom function, unsigned arity, RpcAsyncFunction fn) {
  impl_->rpc_exports().add(module, function, arity, std::move(fn));
}
bool Node::unexport_function(Atom module, Atom function, unsigned arity) {
  return impl_->rpc_exports().remove(module, function, arity);
}
bool Node::is_alive(const Pid& pid) const { return impl_->processes().live(pid) != nullptr; }
Process* Node::find(const Pid& pid) const {
  auto* e = impl_->processes().live(pid);
  return e ? e->proc.get() : nullptr;
}
std::size_t Node::process_count() const noexcept { return impl_->processes().size(); }
void Node::send(const Pid& from, const Dest& to, const Term& message) { impl_->send_from(from, to, message); }
void Node::exit_signal(const Pid& from, const Pid& to, const Term& reason) {
  impl_->exit_signal_from(from, to, reason);
}
Reference Node::make_ref() { return impl_->make_ref(); }
Pid Node::null_pid() const { return Pid{impl_->name(), 0, 0, impl_->creation()}; }
void Node::post(std::function<void()> fn) { asio::post(impl_->io(), std::move(fn)); }

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
