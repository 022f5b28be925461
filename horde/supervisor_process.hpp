// The `N` process of a Horde.DynamicSupervisor on the C++ node: the adapter
// that runs sup::SupervisorState (the pure DynamicSupervisorImpl state
// machine) on the cnode process API. It owns, linked like Horde's
// one_for_all tree (any of the three dying takes the others down):
//   'N.Crdt'                 the DeltaCrdt peer (horde/crdt_process)
//   'N.ProcessesSupervisor'  the local C++ children (processes_supervisor.hpp)
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

#include "cnode/gen_server.hpp"
#include "horde/processes_supervisor.hpp"
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

class SupervisorProcess final : public cnode::GenServer, private sup::LocalChildren {
 public:
  explicit SupervisorProcess(SupervisorOptions options);
  ~SupervisorProcess() override;

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
  Pid crdt_pid() const noexcept { return crdt_pid_; }
  // members, children (local/global), crdt bytes, counters.
  Term stats_term() const;

 protected:
  void init() override;
  std::optional<Term> handle_call(const Term& request, const Term& from) override;
  void handle_cast(const Term& request) override;
  void handle_info(const Term& message) override;
  void terminate(const Term& reason) override;

 private:
  // sup::LocalChildren
  Term start_child(const Term& spec) override;
  Term terminate_child_by_id(const Term& id) override;
  void send_exit_signal(const Term& pid, const Term& reason) override;
  void stop_all() override;

  template <typename F>
  void run_event(F&& f);
  void execute(const sup::Actions& actions);
  void execute_one(const sup::Action& action);
  void collect_children(const sup::CollectChildren& c);
  void on_diffs(std::vector<Term> diffs);
  std::vector<Term> auto_members() const;

  SupervisorOptions options_;
  std::unique_ptr<sup::SupervisorState> state_;
  Pid crdt_pid_;
  Pid ps_pid_;
  std::map<Term, Term> member_monitors_;  // monitor ref -> member
  std::deque<std::vector<Term>> pending_;
  bool busy_ = false;
  bool drain_scheduled_ = false;
  std::uint64_t node_monitor_ = 0;
  bool stopping_ = false;
  std::vector<std::function<void()>> stop_waiters_;
  SupervisorCounters counters_;
  std::shared_ptr<SupervisorProcess*> self_ref_;
};

}  // namespace hc::horde
