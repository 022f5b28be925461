// The `N` process of a Horde.DynamicSupervisor on the C++ node:
// sup::SupervisorState (the pure DynamicSupervisorImpl state machine) on the
// role host (role_host.hpp), which is also 'N.Crdt'. Started under a
// RoleSupervisor 'N.Supervisor' (role_supervisor.hpp) with, before it,
//   'N.ProcessesSupervisor'  the local C++ children (processes_supervisor.hpp)
// so that (rest_for_one) a crash of N/'N.Crdt' restarts only the host: the
// children keep running and the new host adopts them (puts them in its new
// CRDT as ours); a crash of the ProcessesSupervisor (its children die with
// it) restarts both, and the new host starts each child it had once more,
// under the same id. Intensity exceeded: the role stops.
//
// - gen_server calls on N ({N, Node} or N locally) go to the state machine;
//   replies (also for proxied operations) are sent with gen_server:reply
//   semantics, so a BEAM caller of Horde.DynamicSupervisor.start_child/2 on
//   a BEAM member gets its answer straight from this node.
// - which_children / count_children fan out to every member's
//   'N.ProcessesSupervisor' with a per-call timeout (Horde uses infinity and
//   catches exits; a member that does not answer in `children_call_timeout`
//   counts as "no answer", so our caller is never left waiting).
// - members: an explicit list (Horde's `members:`; self is always added, so
//   with no list the member is alone until set_members or the CRDT adds
//   others), or `members_auto` (Horde's :auto: self plus every connected
//   node, updated on nodeup/nodedown).
// - graceful_stop: status shutting_down, children shut down and released
//   ({nil, Spec}) so the member the ring picks restarts them, then a grace
//   period for 'N.Crdt' to push those writes, then exit `shutdown`.
//
// Threading: io thread only, like every process.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "horde/processes_supervisor.hpp"
#include "horde/role_host.hpp"
#include "horde/supervisor_state.hpp"

namespace hc::horde {

struct SupervisorOptions {
  Atom name;                                      // N
  std::vector<Term> members;                      // {N, Node} or N; self is always added (as Horde does)
  bool members_auto = false;                      // Horde's members: :auto
  std::chrono::milliseconds sync_interval{300};   // Horde's delta_crdt_options default
  std::shared_ptr<const DistributionStrategy> strategy = std::make_shared<UniformDistribution>();
  std::optional<std::int64_t> proxy_message_ttl;  // nullopt: infinity
  bool active_redistribution = false;             // process_redistribution: :active
  unsigned max_restarts = 3;
  std::int64_t max_seconds = 5;
  std::optional<std::size_t> max_children;
  TermVector extra_arguments;
  std::shared_ptr<const WorkerKinds> kinds = std::make_shared<WorkerKinds>(WorkerKinds::builtin());
  bool advertise_kinds = true;                    // cpp_worker_kinds in our member info
  std::chrono::milliseconds children_call_timeout{5000};
  std::chrono::milliseconds shutdown_grace{0};    // 0: 3 x sync_interval (at least 300 ms)
  sup::Config::RandomBitsFn random;               // default: seeded from std::random_device
  std::function<RestartIntensity::Clock::time_point()> clock;  // default: steady_clock
};

struct SupervisorCounters {
  std::uint64_t calls = 0;
  std::uint64_t proxied_in = 0;
  std::uint64_t proxied_out = 0;
  std::uint64_t diffs = 0;
  std::uint64_t member_downs = 0;
};

class SupervisorProcess final : public RoleHost {
 public:
  struct Carry;
  SupervisorProcess(SupervisorOptions options, std::shared_ptr<Carry> carry);
  ~SupervisorProcess() override;
  static constexpr const char* kKind = "Horde.DynamicSupervisor";

  // Spawns N (and its 'N.Crdt' and 'N.ProcessesSupervisor'). nullopt when a
  // name is taken.
  static std::optional<Pid> start(cnode::Node& node, SupervisorOptions options);
  static SupervisorProcess* find(cnode::Node& node, Atom name);
  static std::vector<Atom> running(cnode::Node& node);

  // Graceful shutdown (see above); `done` runs once N has exited.
  void graceful_stop(std::function<void()> done = {});

  const SupervisorOptions& options() const noexcept { return options_; }
  const sup::SupervisorState& state() const noexcept { return *state_; }
  const SupervisorCounters& counters() const noexcept { return counters_; }
  ProcessesSupervisor* processes_supervisor() const;
  Pid crdt_pid() const noexcept { return self(); }
  // members, children (local/global), crdt bytes, counters.
  Term stats_term() const;

 protected:
  void on_start() override;
  std::optional<Term> on_call(const Term& request, const Term& from) override;
  void on_cast(const Term& request) override;
  void on_info(const Term& message) override;
  void on_down(const cnode::DownMessage& down) override;
  void on_nodes_changed() override;
  void on_crdt_changes(std::vector<crdt::KeyChange> changes) override;
  void on_stop(const Term& reason) override;

 private:
  void execute(const sup::Actions& actions);
  void execute_one(const sup::Action& action);
  void collect_children(const sup::CollectChildren& c);
  void start_child(const sup::StartChild& a);
  void stop_children();
  void adopt_children();
  std::vector<Term> auto_members() const;

  SupervisorOptions options_;
  std::shared_ptr<Carry> carry_;
  std::unique_ptr<sup::SupervisorState> state_;
  std::map<Term, Term> member_monitors_;  // monitor ref -> member
  bool stopping_ = false;
  std::vector<std::function<void()>> stop_waiters_;
  SupervisorCounters counters_;
};

// What a supervisor hands to its successor across a restart.
struct SupervisorProcess::Carry : RoleCarry {
  std::vector<Term> local_children;  // specs (with Horde's id) of the children this member ran
};

}  // namespace hc::horde
