// Internal: the node as the composition of its parts (see node.hpp for the
// public API):
//   ConnectionManager (connection_manager.hpp)  listen, dial, accept, per-peer connections, pending sends
//   ProcessTable      (process_table.hpp)       pids, refs, mailboxes, turns, names
//   Router            (router.hpp)              Dest -> local process / control message to a peer; aliases
//   Signals           (signals.hpp)             links, monitors, exit signals
// NodeImpl wires them: it is the ProcessContext processes talk to, the
// ConnectionEvents the connections report to (incoming control messages are
// dispatched in node_dispatch.cpp), and runs start/stop (epmd).
// Threading: the node's io thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <typeindex>
#include <unordered_map>

#include "cnode/connection_manager.hpp"
#include "cnode/node.hpp"
#include "cnode/offload.hpp"
#include "cnode/process_context.hpp"
#include "cnode/process_table.hpp"
#include "cnode/router.hpp"
#include "cnode/rpc_exports.hpp"
#include "cnode/signals.hpp"

namespace hc::cnode {

class NodeImpl final : public ProcessContext, public ConnectionEvents {
 public:
  NodeImpl(Node& facade, boost::asio::io_context& io, NodeOptions options, std::unique_ptr<TimerService> timers);
  ~NodeImpl() override;

  void start(std::function<void(std::error_code)> done);
  void stop();

  Atom name() const noexcept { return name_; }
  std::uint32_t creation() const noexcept { return creation_; }
  std::uint16_t port() const noexcept { return port_; }
  const NodeOptions& options() const noexcept { return opts_; }
  boost::asio::io_context& io() noexcept { return io_; }
  TimerService& timers() noexcept { return *timers_; }
  NodeStats stats() const noexcept;
  std::shared_ptr<void>& attachment_slot(std::type_index type) { return attachments_[type]; }

  ConnectionManager& connections() noexcept { return conns_; }
  const ConnectionManager& connections() const noexcept { return conns_; }
  ProcessTable& processes() noexcept { return procs_; }
  RpcExports& rpc_exports() noexcept { return rpc_exports_; }

  // Start a process (init() runs before this returns); `parent`, with
  // options.link, is linked to it.
  Pid spawn(std::unique_ptr<Process> p, SpawnOptions o, const Pid* parent);
  void send_from(const Pid& from, const Dest& to, const Term& msg);
  // `owned`: `body` is this vector, taken over for a peer (or null: copied).
  void send_encoded_from(const Pid& from, const Dest& to, std::span<const std::uint8_t> body,
                         std::vector<std::uint8_t>* owned = nullptr);
  void exit_signal_from(const Pid& from, const Pid& to, const Term& reason) {
    signals_.exit_signal(from, to, reason, false);
  }

  // ---- ProcessContext
  void send(const Pid& self, const Dest& to, const Term& message) override { send_from(self, to, message); }
  void send_encoded(const Pid& self, const Dest& to, std::span<const std::uint8_t> body) override {
    send_encoded_from(self, to, body);
  }
  void send_encoded(const Pid& self, const Dest& to, std::vector<std::uint8_t>&& body) override {
    send_encoded_from(self, to, body, &body);
  }
  bool register_name(const Pid& self, Atom name) override { return procs_.register_name(name, self); }
  bool add_name(const Pid& self, Atom name) override { return procs_.add_name(name, self); }
  bool unregister_name(Atom name) override { return procs_.unregister_name(name); }
  bool queued(const Pid& self, const std::function<bool(const Term&)>& pred) override;
  void link(const Pid& self, const Pid& other) override { signals_.link(self, other); }
  void unlink(const Pid& self, const Pid& other) override { signals_.unlink(self, other); }
  void monitor(const Pid& self, const Dest& target, const Reference& ref) override {
    signals_.monitor(self, target, ref);
  }
  bool demonitor(const Pid& self, const Reference& ref) override { return signals_.demonitor(self, ref); }
  void exit_self(const Pid& self, const Term& reason) override;
  void exit_signal(const Pid& self, const Pid& target, const Term& reason) override {
    signals_.exit_signal(self, target, reason, false);
  }
  Pid spawn(const Pid& self, std::unique_ptr<Process> child, SpawnOptions options) override {
    return spawn(std::move(child), std::move(options), &self);
  }
  TimerId send_after(const Pid& self, std::chrono::milliseconds delay, Term message) override;
  bool cancel_timer(const Pid& self, TimerId id) override;
  Reference make_ref() override { return procs_.make_ref(); }
  void add_alias(const Pid& self, const Reference& alias) override { router_.add_alias(self, alias); }
  void remove_alias(const Reference& alias) override { router_.remove_alias(alias); }
  bool alias_reachable(Atom node) const override;

  // ---- ConnectionEvents (node_dispatch.cpp)
  void on_control(Connection& c, ControlMessage& m, std::optional<Term>& payload) override;
  void on_node_down(Atom node, const Term& reason) override { signals_.node_down(node, reason); }

 private:
  // The ExitHook of the process table: the process ends, its signals go out.
  void run_exit(ProcessEntry& e, const Term& reason);
  void handle_spawn_request(Connection& c, const ctrl::SpawnRequest& req, const Term& args);
  ConnectionConfig connection_config() const;
  void register_with_epmd(std::function<void(std::error_code)> finish);

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
  bool stopping_ = false;
  std::uint64_t frees_offloaded_ = 0;
  RpcExports rpc_exports_;  // functions erpc/rpc may call (rpc_exports.hpp)
  ConnectionManager conns_;
  ProcessTable procs_;
  Router router_;
  Signals signals_;
  boost::asio::ip::tcp::socket epmd_socket_;
  std::shared_ptr<bool> alive_flag_ = std::make_shared<bool>(true);
  // Frees large messages after their handler (NodeOptions::offload_free_terms).
  // Last: joined before the rest goes.
  Offload reaper_{io_};
};

}  // namespace hc::cnode
