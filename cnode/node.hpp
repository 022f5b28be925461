// The distribution node: listens for and opens connections to BEAM nodes,
// owns the C++ processes, routes messages, links, monitors and exit signals,
// and answers the system services a visible node must answer (net_kernel
// is_auth, rex features_request / erpc spawn requests, global init_connect).
//
// Threading: a Node lives on ONE io thread (a boost::asio::io_context that one
// thread runs). Every method is io-thread-only unless marked "thread-safe".
// Use post() / NodeRunner::run() from other threads.
//
// Spec: https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <typeindex>
#include <vector>

#include "cnode/dist_frame.hpp"  // PayloadDecoder
#include "cnode/framing.hpp"
#include "cnode/process.hpp"
#include "cnode/rpc_exports.hpp"
#include "cnode/timer.hpp"
#include "cnode/dist_send_queue.hpp"
#include "cnode/tls_options.hpp"
#include "interop/term.hpp"

namespace boost::asio {
class io_context;
}

namespace hc::cnode {

struct NodeOptions {
  std::string name;                      // Alive@Host; Host an IP address or a resolvable name
  std::string cookie;
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 0;                // 0: any free port (published through epmd)
  std::vector<std::string> connect;      // peers to keep connected (reconnect with backoff)
  std::size_t max_frame = kDefaultMaxFrame;
  // Incoming messages of at least this many bytes are decoded on a worker
  // thread, off the io thread (inbound_decoder.hpp); 0: never.
  std::size_t offload_decode_bytes = kDefaultOffloadDecodeBytes;
  // Outgoing messages of at least this many terms (a binary: one per 64
  // bytes) are encoded on a worker thread (connection_manager.hpp); 0: never.
  std::size_t offload_encode_terms = kDefaultOffloadEncodeTerms;
  // Messages of at least this many terms are freed on a worker thread once
  // their process's handler returned; 0: on the io thread.
  std::size_t offload_free_terms = kDefaultOffloadEncodeTerms;
  // Outgoing: messages larger than this go out in fragments to FRAGMENTS
  // peers (dist_send_queue.hpp); a connection with more than
  // max_send_queue bytes waiting to be written is closed with
  // Errc::send_queue_full (0: no limit).
  std::size_t fragment_size = kFragmentSize;
  std::size_t max_send_queue = kDefaultMaxSendQueue;
  std::chrono::milliseconds tick_interval{5000};   // our own ticks (BEAM default net_ticktime 60 s)
  std::chrono::milliseconds peer_timeout{60000};   // no bytes from a peer for this long: dead
  std::chrono::milliseconds handshake_timeout{7000};
  // An outgoing connection (resolve, epmd, TCP connect, handshake) not up
  // within this fails with Errc::dial_timeout, as net_kernel's setup timer
  // (7 s) does: what waited for it is dropped, monitors of the node get
  // noconnection. 0: no deadline but handshake_timeout.
  std::chrono::milliseconds dial_timeout{7000};
  // Messages that may wait for a peer while it is dialled; more are dropped
  // with Errc::pending_queue_full and a log line naming the peer.
  std::size_t max_pending_sends = kDefaultMaxPendingSends;
  bool use_epmd = true;                  // register with epmd and look peers up there
  bool start_epmd = true;                // run `epmd -daemon` when none answers
  std::uint16_t epmd_port = 4369;
  bool discovery = true;                 // connect to the nodes our peers know (rex: erlang:nodes())
  std::chrono::milliseconds discovery_interval{5000};
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{5000};
  bool answer_global = true;             // answer global_name_server's init_connect (see system_services)
  // Distribution over TLS (`-proto_dist inet_tls`) with these options, both
  // directions; plain-TCP peers are refused. nullopt: plain TCP (inet_tcp).
  std::optional<TlsDistOptions> tls;
};

struct NodeStats {
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t decodes_offloaded = 0;  // incoming messages decoded on the worker thread
  std::uint64_t encodes_offloaded = 0;  // outgoing messages encoded on the worker thread
  std::uint64_t frees_offloaded = 0;    // received messages freed on a worker thread
};

class Connection;
class NodeImpl;

class Node {
 public:
  // `timers`: the service behind Process::send_after and call timeouts;
  // default: real timers on `io`.
  Node(boost::asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers = nullptr);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Start listening and register with epmd (which gives the creation). `done`
  // runs on the io thread with the outcome. Configured peers are then dialled.
  void start(std::function<void(std::error_code)> done);
  // Exit every process (reason `shutdown`), close connections cleanly,
  // unregister from epmd. Idempotent.
  void stop();

  // ---- identity ---------------------------------------------------------
  Atom name() const noexcept;
  std::uint32_t creation() const noexcept;
  std::uint16_t port() const noexcept;   // the listening port once started
  const NodeOptions& options() const noexcept;
  boost::asio::io_context& io() noexcept;
  TimerService& timers() noexcept;
  NodeStats stats() const noexcept;

  // ---- connections --------------------------------------------------------
  std::vector<Atom> connected_nodes() const;  // completed handshakes
  // The connected nodes that are not hidden (they set DFLAG_PUBLISHED in
  // the handshake): what erlang:nodes() / nodes(visible) returns.
  std::vector<Atom> visible_nodes() const;
  bool is_connected(Atom node) const;
  // Bytes encoded for `node` and not yet written to its socket (0 when not
  // connected): how far behind the peer reads. Io thread; O(1).
  std::size_t queued_bytes(Atom node) const;
  // Connect (no-op when connected or connecting). `done`, if given, runs once
  // with the outcome of this attempt.
  void connect(Atom node, std::function<void(std::error_code)> done = {});
  // Close the connection to `node` (processes see noconnection).
  void disconnect(Atom node);
  // Keep `node` connected: dial it now and redial with backoff when it drops.
  void add_peer(Atom node);
  // nodeup/nodedown: handler(node, up). Returns an id for remove_node_monitor.
  using NodeEventHandler = std::function<void(Atom node, bool up)>;
  std::uint64_t monitor_nodes(NodeEventHandler handler);
  void remove_node_monitor(std::uint64_t id);

  // ---- processes ----------------------------------------------------------
  // Start a process (init() runs before spawn returns). `parent`, when given
  // with options.link, is linked to the child.
  Pid spawn(std::unique_ptr<Process> process, SpawnOptions options = {}, const Pid* parent = nullptr);
  template <class P, class... Args>
  Pid spawn_new(SpawnOptions options, Args&&... args) {
    return spawn(std::make_unique<P>(std::forward<Args>(args)...), std::move(options));
  }
  Pid spawn_fn(FunctionProcess::Handler handler, SpawnOptions options = {}, FunctionProcess::Init init = {});
  // Thread-safe: spawn from any thread; the future holds the pid.
  std::future<Pid> spawn_async(std::function<std::unique_ptr<Process>()> factory, SpawnOptions options = {});

  // ---- functions for erpc/rpc callers (rpc_exports.hpp) ------------------
  // `:erpc.call(ThisNode, module, function, Args)` with length(Args) == arity
  // runs `fn` on the io thread. Replaces an earlier export of the same MFA.
  void export_function(Atom module, Atom function, unsigned arity, RpcFunction fn);
  // The same for functions that answer later through `reply` (io thread).
  void export_async_function(Atom module, Atom function, unsigned arity, RpcAsyncFunction fn);
  bool unexport_function(Atom module, Atom function, unsigned arity);

  // ---- decoding ------------------------------------------------------------
  // A decoder for received payloads of a shape an upper layer knows
  // (cnode/dist_frame.hpp PayloadDecoder; e.g. crdt::decode_sync_message),
  // tried before the general decoder on every received message, on the
  // thread that decodes it (the io thread, or the worker for messages of
  // NodeOptions::offload_decode_bytes and more). A second call with the
  // same `key` replaces the first. io thread; O(number of decoders).
  void add_payload_decoder(std::string key, PayloadDecoder decoder);

  std::optional<Pid> whereis(Atom name) const;
  bool is_alive(const Pid& pid) const;  // local pids only
  Process* find(const Pid& pid) const;  // local live process or nullptr
  std::size_t process_count() const noexcept;
  // Send a message from `from` (any pid, may be a placeholder for
  // anonymous senders) to `to`, local or remote. Unknown local targets drop
  // the message, as Erlang does.
  void send(const Pid& from, const Dest& to, const Term& message);
  // Exit signal from `from` to `to` (erlang:exit/2).
  void exit_signal(const Pid& from, const Pid& to, const Term& reason);
  Reference make_ref();
  // A pid that never belongs to a live process (e.g. sender of anonymous messages).
  Pid null_pid() const;

  // ---- thread-safe entry points ------------------------------------------
  void post(std::function<void()> fn);
  // Run `fn` on the io thread and return its result through a future.
  template <class F>
  auto run(F&& fn) -> std::future<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    auto future = task->get_future();
    post([task] { (*task)(); });
    return future;
  }

  // State an upper layer keeps per node (e.g. the Horde roles' directory),
  // so that nothing is process-wide when several nodes share one process.
  // Created on first use, destroyed with the node. io thread only.
  template <class T>
  T& attachment() {
    std::shared_ptr<void>& slot = attachment_slot(std::type_index(typeid(T)));
    if (!slot) slot = std::make_shared<T>();
    return *static_cast<T*>(slot.get());
  }

  NodeImpl& impl() noexcept { return *impl_; }  // internal (node_impl.hpp)

 private:
  std::shared_ptr<void>& attachment_slot(std::type_index type);
  std::unique_ptr<NodeImpl> impl_;
};

// Runs a Node on its own background thread: for main(), tests and benchmarks.
//   NodeRunner r(opts); if (auto ec = r.start()) ...; r.run([&]{ ... }).get(); r.stop();
class NodeRunner {
 public:
  explicit NodeRunner(NodeOptions options);
  ~NodeRunner();  // stop()
  // Start the io thread and the node; blocks the caller until started.
  std::error_code start();
  // Stop the node cleanly and join the io thread. Idempotent.
  void stop();
  Node& node() noexcept { return *node_; }
  template <class F>
  auto run(F&& fn) {
    return node_->run(std::forward<F>(fn));
  }
  void post(std::function<void()> fn) { node_->post(std::move(fn)); }

 private:
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<Node> node_;
  std::thread thread_;
  bool started_ = false;
};

}  // namespace hc::cnode
