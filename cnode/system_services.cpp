#include "cnode/system_services.hpp"

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::cnode {
namespace {

class NetKernel final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term&) override {
    if (request.is_record("is_auth", 2)) return Term(Atom("yes"));
    return Term(Atom("ignored"));
  }
};

class Rex final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term&) override {
    // Old rpc protocol {call, M, F, A, GroupLeader}: we run no Erlang code.
    (void)request;
    return tuple(Atom("badrpc"), Atom("notsup"));
  }
  void handle_info(const Term& m) override {
    // {Pid, features_request} -> {features_reply, node(), [erpc]} (OTP 25 erpc.erl/rpc.erl).
    if (m.is_tuple(2) && m.element(0)->is_pid() && m.element(1)->is_atom("features_request")) {
      send(*m.element(0)->as_pid(), tuple(Atom("features_reply"), node().name(), list(Atom("erpc"))));
    }
  }
};

// Learns the nodes our peers know and connects to them.
class Discovery final : public Process {
 public:
  void init() override {
    monitor_id_ = node().monitor_nodes([this, self = self()](Atom n, bool up) {
      if (up) node().send(self, self, tuple(Atom("nodeup"), n));
    });
    send_after(node().options().discovery_interval, Term(Atom("tick")));
  }
  void terminate(const Term&) override { node().remove_node_monitor(monitor_id_); }
  void handle_message(const Term& m) override {
    if (m.is_record("nodeup", 2)) {
      ask(*m.element(1)->as_atom());
    } else if (m.is_atom("tick")) {
      for (const auto& n : node().connected_nodes()) ask(n);
      send_after(node().options().discovery_interval, Term(Atom("tick")));
    }
  }

 private:
  void ask(Atom peer) {
    // rex's {call, M, F, A, GroupLeader} runs erlang:nodes() on the peer.
    call(Dest(Atom("rex"), peer), tuple(Atom("call"), Atom("erlang"), Atom("nodes"), Term::nil(), Atom("user")),
         std::chrono::milliseconds(5000), [this, peer](CallResult r) {
           if (!r || !r.value().is_proper_list()) return;
           for (const auto& t : r.value().list_elements()) {
             auto a = t.as_atom();
             if (!a || *a == node().name() || node().is_connected(*a)) continue;
             HC_LOG(info) << "discovered " << *a << " through " << peer;
             node().connect(*a);
           }
         });
  }
  std::uint64_t monitor_id_ = 0;
};

}  // namespace

std::unique_ptr<Process> make_global_name_server();

void start_system_services(Node& node) {
  node.spawn(std::make_unique<NetKernel>(), SpawnOptions{false, Atom("net_kernel"), false});
  node.spawn(std::make_unique<Rex>(), SpawnOptions{false, Atom("rex"), false});
  if (node.options().answer_global)
    node.spawn(make_global_name_server(), SpawnOptions{false, Atom("global_name_server"), false});
  if (node.options().discovery) node.spawn(std::make_unique<Discovery>());
}

}  // namespace hc::cnode
