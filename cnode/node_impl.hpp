// Internal: the node's state and routing (see node.hpp for the public API).
// Split from node.hpp so that Process can reach the routing functions without
// exposing them to users.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <typeindex>
#include <unordered_map>

#include "cnode/connection.hpp"
#include "cnode/control_message.hpp"
#include "cnode/dist_fragments.hpp"
#include "cnode/dist_frame.hpp"
#include "cnode/links_monitors.hpp"
#include "cnode/node.hpp"
#include "cnode/rpc_exports.hpp"

namespace hc::cnode {

struct AtomHash {
  std::size_t operator()(const Atom& a) const noexcept { return std::hash<const void*>()(a.id()); }
};

class NodeImpl final : public ConnectionHandler {
 public:
  NodeImpl(Node& facade, boost::asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers);
  ~NodeImpl() override;

  // ---- lifecycle
  void start(std::function<void(std::error_code)> done);
  void stop();

  // ---- processes
  struct Entry {
    std::unique_ptr<Process> proc;
    std::deque<Term> mailbox;
    bool scheduled = false;
    bool running = false;
    std::optional<Term> pending_exit;
    LinksMonitors lm;
    std::vector<Term> aliases;
    std::set<TimerId> timers;
    // Names besides the primary one (Process::add_name): a Horde role host
    // is addressed both as N and as 'N.Crdt'.
    std::vector<Atom> extra_names;
  };
  Pid spawn(std::unique_ptr<Process> p, SpawnOptions o, const Pid* parent);
  Entry* entry(const Pid& pid);
  std::size_t process_count() const noexcept { return procs_.size(); }
  bool is_local(const Pid& pid) const noexcept { return pid.node == name_ && pid.creation == creation_; }
  bool is_local_node(Atom node) const noexcept { return node == name_; }
  Pid allocate_pid();
  Reference make_ref();
  void deliver(const Pid& to, Term msg);  // local only; dropped when dead
  void send(const Pid& from, const Dest& to, const Term& msg);
  void exit_signal(const Pid& from, const Pid& to, const Term& reason, bool from_link);
  void exit_process(Entry& e, const Term& reason);  // (deferred while running)
  void link(const Pid& a, const Pid& b);            // a local
  void unlink(const Pid& a, const Pid& b);
  void monitor(const Pid& watcher, const Dest& target, const Reference& ref);
  bool demonitor(const Pid& watcher, const Reference& ref);
  bool register_name(Atom name, const Pid& pid);
  bool unregister_name(Atom name);
  bool add_name(Atom name, const Pid& pid);
  std::optional<Pid> whereis(Atom name) const;
  void add_alias(const Pid& owner, const Reference& ref);
  void remove_alias(const Reference& ref);
  TimerId send_after(const Pid& to, std::chrono::milliseconds delay, Term msg);
  bool cancel_timer(const Pid& owner, TimerId id);
  void flush_down(Entry& e, const Reference& ref);

  // ---- connections
  void connect(Atom node, std::function<void(std::error_code)> done);
  void disconnect(Atom node);
  void add_peer(Atom node);
  std::vector<Atom> connected_nodes() const;
  std::vector<Atom> visible_nodes() const;
  bool is_connected(Atom node) const { return conns_.count(node) > 0; }
  std::uint64_t monitor_nodes(Node::NodeEventHandler h);
  void remove_node_monitor(std::uint64_t id);
  std::uint64_t peer_flags(Atom node) const;
  // Send a control message (+ payload) to `node`, connecting first when
  // needed (`auto_connect`); dropped when the node cannot be reached.
  // `sender`: the process the message is ordered with (default: the one the
  // control message names as its sender; see sender_of in node.cpp).
  void send_ctrl(Atom node, const ControlMessage& m, const Term* payload, bool auto_connect = true,
                 const Pid* sender = nullptr);
  // Encode into c's queue (fragmented when large and the peer has FRAGMENTS); no flush.
  void write_ctrl(Connection& c, const ControlMessage& m, const Term* payload, const Pid* sender);
  static FrameFormat frame_format(const Connection& c);

  // ConnectionHandler
  std::string decide_status(Connection& c, std::string_view peer) override;
  bool on_established(const std::shared_ptr<Connection>& c) override;
  void on_frame(Connection& c, std::span<const std::uint8_t> frame) override;
  void on_closed(const std::shared_ptr<Connection>& c, std::error_code why) override;
  void on_frame_skipped(Connection& c, std::size_t size, std::span<const std::uint8_t> head) override;

  Node& facade_;
  // Node::attachment(); declared before the process table so that it
  // outlives every process.
  std::unordered_map<std::type_index, std::shared_ptr<void>> attachments_;
  boost::asio::io_context& io_;
  NodeOptions opts_;
  std::unique_ptr<TimerService> timers_;
  Atom name_;
  std::string alive_, host_;
  std::uint32_t creation_ = 0;
  std::uint16_t port_ = 0;
  NodeStats stats_;
  std::uint64_t frames_dropped_ = 0;  // oversized or malformed, connection kept
  bool started_ = false;
  bool stopping_ = false;
  RpcExports rpc_exports_;  // functions erpc/rpc may call (rpc_exports.hpp)

 private:
  void accept();
  void dial(Atom node);
  // An outgoing attempt failed: logged at warn for the 1st, 2nd, 4th, 8th...
  // consecutive failure to that node, at debug otherwise.
  void fail_pending(Atom node, std::error_code why, const std::string& reason);
  void node_down(Atom node, const Term& reason);
  void schedule_reconnect(Atom node);
  void drain(std::uint64_t key);
  void schedule(Entry& e);
  void run_exit(Entry& e, Term reason);
  void dispatch(Connection& c, ControlMessage& m, std::optional<Term>& payload);
  void handle_spawn_request(Connection& c, const ctrl::SpawnRequest& req, const Term& args);
  void incoming_monitor(Atom node, const ctrl::MonitorP& m);
  void incoming_down(const Reference& ref, const Pid& to, const Term& reason);
  void start_system_services();
  ConnectionConfig connection_config() const;
  static std::uint64_t key_of(const Pid& p) noexcept { return (std::uint64_t(p.serial) << 32) | p.id; }

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket epmd_socket_;
  std::shared_ptr<const TlsContexts> tls_;  // null: plain TCP distribution
  std::uint64_t next_pid_ = 1;
  std::uint64_t next_ref_ = 1;
  std::uint64_t next_unlink_id_ = 1;
  std::uint32_t ref_salt_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<Entry>> procs_;
  std::vector<std::unique_ptr<Entry>> graveyard_;
  std::unordered_map<Atom, Pid, AtomHash> names_;
  std::unordered_map<Term, Pid, TermHash> aliases_;

  struct Pending {
    std::shared_ptr<Connection> conn;  // outgoing attempt in handshake (may be null while dialling)
    std::vector<std::function<void(std::error_code)>> done;
    std::vector<std::function<void(Connection&)>> queued;
  };
  std::unordered_map<Atom, std::shared_ptr<Connection>, AtomHash> conns_;
  std::unordered_map<Atom, Pending, AtomHash> pending_;
  std::set<std::shared_ptr<Connection>> all_conns_;
  // Per established connection: fragmented messages being received.
  std::unordered_map<const Connection*, FragmentAssembler> assemblers_;
  std::unordered_map<Atom, std::chrono::milliseconds, AtomHash> peers_;  // keep connected: current backoff
  std::map<std::uint64_t, Node::NodeEventHandler> node_monitors_;
  std::unordered_map<Atom, std::uint64_t, AtomHash> dial_failures_;  // consecutive, per peer
  std::uint64_t next_node_monitor_ = 1;
  std::shared_ptr<bool> alive_flag_ = std::make_shared<bool>(true);
};

}  // namespace hc::cnode
