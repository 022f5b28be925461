// The Horde.DynamicSupervisor role as a pure state machine: it mirrors
// Horde.DynamicSupervisorImpl (Horde 0.10.0, lib/horde/dynamic_supervisor_impl.ex)
// event by event, without sockets, clocks or processes.
//
// Events in:  gen_server calls on `N` (start_child, terminate_child,
//             which_children, count_children, members, set_members,
//             horde_shutting_down, wait_for_quorum, get_telemetry), proxied
//             operations from other members, CRDT diffs reported by 'N.Crdt',
//             the DOWN of a monitored member, and the casts of the local
//             'N.ProcessesSupervisor' (update_child_pid, relinquish_child_process,
//             disown_child_process).
// Actions out: CRDT operations, set_neighbours, member monitors, replies,
//             proxied messages, the which/count_children fan-out and the
//             local children's starts and stops, which
//             the adapter (supervisor_process) executes in order.
// Local children: Horde calls its ProcessesSupervisor synchronously
//             (GenServer.call); here those calls are actions too
//             (StartChild, TerminateChild, SignalChild, StopChildren), and a
//             start's result comes back as on_child_started in the same turn.
//
// CRDT data (horde-wire.md section 6):
//   {member, {N, Node}}            => 1
//   {member_node_info, {N, Node}}  => %Horde.DynamicSupervisor.Member{} (supervisor_member.hpp)
//   {process, Id}                  => {{N, Node}, Spec, Pid} | {nil, Spec} (released)
//
// Deviations, on purpose:
// - Calls Horde does not know get {error, {bad_request, Req}} (Horde crashes).
// - An own member info that differs from what we want is re-put whenever the
//   membership changes (Horde does the same; we also compare the
//   cpp_worker_kinds we advertise).
// - Member monitors skip our own {N, Node} (Horde monitors itself, to no effect).
//
// Thread safety: none; one owner (the supervisor process, io thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "horde/child_spec.hpp"
#include "horde/horde_messages.hpp"
#include "horde/supervisor_member.hpp"
#include "horde/uniform_distribution.hpp"
#include "interop/term.hpp"

namespace hc::horde::sup {

// ---- actions ---------------------------------------------------------------

struct CrdtOp {
  enum class Kind : std::uint8_t { add, remove };
  Kind kind = Kind::add;
  Term key;
  Term value;
  bool operator==(const CrdtOp&) const = default;
};
// One DeltaCrdt call on 'N.Crdt' (put/delete/merge/drop).
struct CrdtOps {
  std::vector<CrdtOp> ops;
  bool operator==(const CrdtOps&) const = default;
};
// send('N.Crdt', {set_neighbours, [{'N.Crdt', Node}]}).
struct SetNeighbours {
  std::vector<Term> neighbours;
  bool operator==(const SetNeighbours&) const = default;
};
// Process.monitor({N, Node}); its DOWN becomes on_member_down(member).
struct MonitorMember {
  Term member;
  bool operator==(const MonitorMember&) const = default;
};
// GenServer.reply(From, Reply).
struct Reply {
  Term from;
  Term reply;
  bool operator==(const Reply&) const = default;
};
// send(To, Message) (proxy_operation to another member's N).
struct Send {
  Term to;
  Term message;
  bool operator==(const Send&) const = default;
};
// Horde's which_children/count_children: call every member's
// 'N.ProcessesSupervisor' ({Name, Node} in `supervisors`), treat an exit as
// no answer, aggregate (finish_which_children / finish_count_children) and
// reply to `from`. The adapter never lets this block (per-call timeout).
struct CollectChildren {
  enum class Kind : std::uint8_t { which, count };
  Kind kind = Kind::which;
  Term from;
  std::vector<Term> supervisors;
  bool operator==(const CollectChildren&) const = default;
};

// The local 'N.ProcessesSupervisor' (Horde calls it with GenServer.call;
// the host executes these at once, in order, and hands a start's result
// back through on_child_started before the next action):
// Horde.ProcessesSupervisor.start_child(Sup, Spec); the result ({ok, Pid} |
// {ok, Pid, Info} | ignore | {error, Reason}) goes to on_child_started with
// `from` ([] when nobody waits for it).
struct StartChild {
  Term spec;
  Term from;
  bool operator==(const StartChild&) const = default;
};
// terminate_child_by_id(Id); its result (ok | {error, not_found}) is the
// reply to `from` ([]: none).
struct TerminateChild {
  Term id;
  Term from;
  bool operator==(const TerminateChild&) const = default;
};
// send_exit_signal(Pid, Reason) (process redistribution).
struct SignalChild {
  Term pid;
  Term reason;
  bool operator==(const SignalChild&) const = default;
};
// Horde.ProcessesSupervisor.stop/1 (quorum lost): the role stops.
struct StopChildren {
  bool operator==(const StopChildren&) const = default;
};

using Action = std::variant<CrdtOps, SetNeighbours, MonitorMember, Reply, Send, CollectChildren, StartChild,
                            TerminateChild, SignalChild, StopChildren>;
using Actions = std::vector<Action>;

// Aggregation of the fan-out answers exactly as DynamicSupervisorImpl does it.
// `answers` holds one entry per supervisor that answered (a which_children
// list / a count_children keyword list).
Term finish_which_children(const std::vector<Term>& answers);  // ids -> undefined
Term finish_count_children(const std::vector<Term>& answers);  // map of summed counts

// ---- the state machine -----------------------------------------------------

struct Config {
  using RandomBitsFn = RandomBits;
  Atom name;  // N
  Atom node;  // this node
  std::shared_ptr<const DistributionStrategy> strategy = std::make_shared<UniformDistribution>();
  std::optional<std::int64_t> proxy_message_ttl;  // nullopt: infinity (Horde default)
  bool active_redistribution = false;             // process_redistribution: :active
  // Advertised in our member info (mixed strategy); nullopt: advertise nothing.
  std::optional<std::vector<Atom>> cpp_worker_kinds;
  RandomBits random;  // for :rand.uniform(2^128) ids
};

// {Owner, Spec, Pid} of a running child as recorded in processes_by_id.
struct ChildEntry {
  Term owner;
  Term spec;
  Term pid;
  bool operator==(const ChildEntry&) const = default;
};

class SupervisorState {
 public:
  explicit SupervisorState(Config config);

  // DynamicSupervisorImpl.init/1 + handle_continue({set_members, Members}):
  // puts our member info; `members` nullopt means :auto / none (Horde's nil).
  Actions init(const std::optional<std::vector<Term>>& members);

  // A gen_server call on N. Replies come back as Reply actions.
  Actions handle_call(const Term& request, const Term& from);
  // {proxy_operation, Msg, From} (ttl nullopt = infinity) / {proxy_operation, Msg, From, TTL}.
  Actions handle_proxy_operation(const Term& request, const Term& from, std::optional<std::int64_t> ttl);
  // Any other message N receives: {proxy_operation, ...}, {set_members, M},
  // {crdt_update, Diffs}, '$gen_cast' payloads are decoded by the adapter.
  Actions handle_info(const Term& message);
  Actions handle_cast(const Term& request);

  // What the CRDT changed (the role host hands its changes over as they
  // are; a {crdt_update, Diffs} message is parsed to the same type).
  Actions on_crdt_update(const std::vector<CrdtDiff>& diffs);
  // DOWN of the monitor on `member` ({N, Node}).
  Actions on_member_down(const Term& member);
  Actions set_members(const std::vector<Term>& members);
  // A child the local ProcessesSupervisor already runs (after a restart of
  // N alone): recorded as ours and put in the CRDT, as start_child would.
  Actions adopt_local_child(const Term& spec, const Term& pid);
  // The result of a StartChild action (executed by the host in the same turn).
  Actions on_child_started(const Term& spec, const Term& result, const Term& from);

  // ---- views --------------------------------------------------------------
  const Term& self_name() const noexcept { return self_; }
  bool shutting_down() const noexcept { return shutting_down_; }
  // members(state): member infos of the current members, in name order.
  std::vector<Member> members() const;
  std::vector<Term> member_names() const;
  const Member* member_info(const Term& name) const;
  const std::map<Term, ChildEntry>& processes() const noexcept { return processes_by_id_; }
  std::optional<Term> child_id_of_pid(const Term& pid) const;
  std::int64_t local_process_count() const noexcept { return local_process_count_; }
  bool monitoring(const Term& member) const { return monitored_.count(member) != 0; }
  ChooseResult choose_node(const Term& spec, std::vector<Member>& storage) const;
  const Config& config() const noexcept { return config_; }

 private:
  struct CallContext {
    bool proxied = false;
    std::optional<std::int64_t> ttl;  // nullopt: infinity
  };
  Actions dispatch_call(const Term& request, const Term& from, CallContext ctx);
  void call_start_child(const Term& request, const Term& spec, const Term& from, CallContext ctx);
  void call_terminate_child(const Term& request, const Term& pid, const Term& from, CallContext ctx);
  void proxy_to_node(const Term& owner, const Term& request, const Term& from, CallContext ctx);
  void reply(const Term& from, Term value);

  Member node_info() const;
  void set_own_node_status(bool force = false);
  void mark_dead(const Term& member);
  void update_member(const CrdtDiff& diff);
  void update_process(const CrdtDiff& diff);
  void monitor_supervisors();
  void handle_quorum_change();
  void set_crdt_neighbours();
  void handoff_processes();
  void handoff_child(const Term& id);
  void add_child(const Term& spec, const Term& from = Term());
  void update_state_with_child(const Term& spec, const Term& pid);
  void terminate_local_child(const ChildEntry& entry, const Term& id, const Term& from);
  void set_child_pid(const Term& id, const Term& pid);
  void crdt_put(Term key, Term value);
  void crdt_delete(Term key);

  Config config_;
  Term self_;  // {N, Node}
  Atom crdt_name_;
  Atom processes_supervisor_name_;

  std::map<Term, int> members_;               // State.members
  std::map<Term, Member> members_info_;       // State.members_info
  std::map<Term, ChildEntry> processes_by_id_;
  std::map<Term, Term> process_pid_to_id_;
  std::int64_t local_process_count_ = 0;
  std::vector<Term> waiting_for_quorum_;
  std::set<Term> monitored_;                  // name_to_supervisor_ref keys
  bool shutting_down_ = false;
  Actions* out_ = nullptr;
};

Atom crdt_name_of(Atom name);                   // 'N.Crdt'
Atom processes_supervisor_name_of(Atom name);   // 'N.ProcessesSupervisor'

}  // namespace hc::horde::sup
