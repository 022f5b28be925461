#include "horde/role_host.hpp"

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/supervisor_state.hpp"

namespace hc::horde {

namespace {
// What the node monitor callback sends: a message from the node, like the
// {nodeup, Node} net_kernel:monitor_nodes/1 delivers, dropped once we are gone.
constexpr std::string_view kNodesChanged = "$hc_nodes_changed";
}  // namespace

RoleHost::RoleHost(Atom name, std::string kind, CrdtPartOptions crdt, std::shared_ptr<RoleCarry> carry)
    : name_(name), kind_(std::move(kind)), crdt_(std::move(crdt)), carry_(std::move(carry)) {
  if (!carry_) carry_ = std::make_shared<RoleCarry>();
}

RoleHost::~RoleHost() = default;

void RoleHost::init() {
  set_trap_exit(true);
  if (!registered_name()) register_name(name_);
  if (!add_name(sup::crdt_name_of(name_))) throw std::runtime_error("name " + std::string(sup::crdt_name_of(name_).text()) + " is taken");
  RoleDirectory::of(node()).record(name_, kind_).host = this;
  ++depth_;
  crdt_.start(*this);
  on_start();
  flush_changes();
  --depth_;
}

void RoleHost::terminate(const Term& reason) {
  if (node_monitor_ != 0) node().remove_node_monitor(node_monitor_);
  node_monitor_ = 0;
  if (RoleRecord* r = RoleDirectory::of(node()).find(name_); r && r->host == this) r->host = nullptr;
  on_stop(reason);
}

void RoleHost::follow_visible_nodes() {
  if (node_monitor_ != 0) return;
  cnode::Node* n = &node();
  const Pid me = self();
  node_monitor_ = node().monitor_nodes([n, me](Atom, bool) { n->send(n->null_pid(), me, Term(atom(kNodesChanged))); });
}

void RoleHost::handle_message(const Term& message) {
  // Exceptions are not caught here: the node ends the process with
  // {cpp_exception, What} and the RoleSupervisor restarts it.
  ++depth_;
  dispatch(message);
  flush_changes();
  --depth_;
}

void RoleHost::dispatch(const Term& message) {
  if (auto call = cnode::as_gen_call(message)) {
    if (!cnode::parse_from(call->from)) {
      on_info(message);
    } else if (CrdtPart::is_crdt_call(call->request)) {
      crdt_.handle_call(*this, call->request, call->from);  // a DeltaCrdt call on 'N.Crdt'
    } else if (auto answer = on_call(call->request, call->from)) {
      reply(call->from, *answer);
    }
    return;
  }
  if (CrdtPart::is_protocol_message(message)) {
    crdt_.handle_message(*this, message);
    return;
  }
  if (auto cast = cnode::as_gen_cast(message)) {
    on_cast(*cast);
    return;
  }
  if (auto down = cnode::as_down(message)) {
    if (!crdt_.handle_down(*this, *down)) on_down(*down);
    return;
  }
  if (auto ex = cnode::as_exit(message)) {
    if (ex->from == carry_->supervisor) {
      exit(ex->reason);  // our supervisor is gone: so are we
      return;
    }
    if (on_exit(*ex) || ex->reason.is_atom("normal")) return;
    HC_LOG(warn) << name_ << ": {'EXIT', " << Term(ex->from) << ", " << ex->reason
                 << "} from a process the role is not linked to; DeltaCrdt (" << sup::crdt_name_of(name_)
                 << ") stops on it, so the role restarts";
    exit(ex->reason);
    return;
  }
  if (message.is_atom(kNodesChanged)) {
    on_nodes_changed();
    return;
  }
  on_info(message);
}

void RoleHost::flush_changes() {
  while (crdt_.has_changes() && alive()) on_crdt_changes(crdt_.take_changes());
}

void RoleHost::crash(const std::string& what) {
  HC_LOG(error) << name_ << ": internal error: " << what;
  exit(tuple(atom("cpp_exception"), Term::binary(what)));
}

}  // namespace hc::horde
