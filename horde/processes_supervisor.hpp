// 'N.ProcessesSupervisor' on the C++ node: Horde.ProcessesSupervisor
// (Horde 0.10.0 lib/horde/processes_supervisor.ex) for C++ worker kinds.
//
// Each child is a C++ worker (worker_kinds.hpp) running in its own process
// (WorkerProcess), linked to this supervisor, which traps exits. It answers
// the calls other members make with an infinite timeout, immediately:
//   which_children            -> [{Id, Pid | restarting, Type, Modules}]
//   count_children            -> [{specs, S}, {active, A}, {supervisors, Su}, {workers, W}]
//   {terminate_child, Pid}    -> ok | {error, not_found}
//   {terminate_child_by_id, Id} -> ok | {error, not_found}
//   {send_exit_signal, Pid, Reason} -> ok
//   {start_child, SpecMap}    -> {ok, Pid} | {error, Reason}
// Anything else gets {error, {bad_request, Req}} so a caller never hangs.
//
// Exits of children follow restart_policy.hpp and are reported to `N` with
// the casts Horde uses ({update_child_pid, Id, Pid}, {disown_child_process, Id},
// {relinquish_child_process, Id}). Restart intensity is counted against the
// injected clock; when exceeded the supervisor exits with `shutdown`, which
// (as in Horde's one_for_all tree) takes its `N` and 'N.Crdt' down.
//
// Deviation: terminating a child does not block the io thread until it is
// gone. The child is unlinked, removed and sent `shutdown` (or `kill` for
// brutal_kill) at once and the reply is sent; a child that traps exits and
// outlives its shutdown timeout is killed by a timer.
//
// Threading: io thread only. N calls the public methods directly (same
// thread), as Horde calls its ProcessesSupervisor synchronously.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cnode/gen_server.hpp"
#include "horde/child_spec.hpp"
#include "horde/restart_policy.hpp"
#include "horde/worker_kinds.hpp"

namespace hc::horde {

struct ProcessesSupervisorOptions {
  Atom root_name;  // N: receives the casts
  // The role kind under which this process enters the node's RoleDirectory
  // (as RoleRecord::children, for N to find it); empty: stand-alone.
  std::string role_kind;
  unsigned max_restarts = 3;
  std::int64_t max_seconds = 5;
  std::optional<std::size_t> max_children;  // nullopt: infinity
  TermVector extra_arguments;
  std::shared_ptr<const WorkerKinds> kinds = std::make_shared<WorkerKinds>(WorkerKinds::builtin());
  std::function<RestartIntensity::Clock::time_point()> clock = [] { return RestartIntensity::Clock::now(); };
};

// A C++ worker as a process: gen_server calls/casts/info go to the Worker.
class WorkerProcess final : public cnode::GenServer {
 public:
  WorkerProcess(std::unique_ptr<Worker> worker, Atom module) : worker_(std::move(worker)), module_(module) {}
  const Atom& module() const noexcept { return module_; }

 protected:
  std::optional<Term> handle_call(const Term& request, const Term& from) override;
  void handle_cast(const Term& request) override;
  void handle_info(const Term& message) override;
  void terminate(const Term& reason) override;

 private:
  void apply(WorkerStep step, const Term* from);
  std::unique_ptr<Worker> worker_;
  Atom module_;
};

class ProcessesSupervisor final : public cnode::GenServer {
 public:
  explicit ProcessesSupervisor(ProcessesSupervisorOptions options);

  // Horde.ProcessesSupervisor.start_child/2 with a child spec map.
  Term start_child(const Term& spec);
  Term terminate_child_by_id(const Term& id);
  Term terminate_child(const Term& pid);
  void send_exit_signal(const Term& pid, const Term& reason);
  Term which_children() const;
  Term count_children() const;
  // Shut every child down (graceful stop: each is relinquished to the Horde
  // with a {relinquish_child_process, Id} cast to N, as Horde's terminate
  // does). Returns the number of children shut down.
  std::size_t shutdown_children(bool relinquish);
  std::size_t child_count() const noexcept { return children_.size(); }
  bool has_child_id(const Term& id) const { return child_id_to_pid_.count(id) != 0; }
  // {Spec, Pid} of every running child (not those waiting for a restart):
  // what a restarted N adopts.
  std::vector<std::pair<Term, Term>> running_children() const;
  // Approximate heap bytes held per child record (benchmarks).
  static std::size_t record_overhead_bytes();

 protected:
  void init() override;
  std::optional<Term> handle_call(const Term& request, const Term& from) override;
  void handle_info(const Term& message) override;
  void terminate(const Term& reason) override;

 private:
  struct Child {
    ChildSpec spec;
    bool restarting = false;
  };
  // Runs M:F(extra ++ A) for a C++ kind: {ok, Pid} or {error, Reason}.
  Term start_worker(const ChildSpec& spec, Pid& pid_out);
  void save_child(const Pid& pid, ChildSpec spec);
  void on_child_exit(const Pid& pid, const Term& reason);
  // Restart (or schedule a retry); false when the intensity is exceeded.
  bool restart_child(const Pid& old_pid, Child child);
  void shut_down(const Pid& pid, const ChildSpec& spec);
  void delete_child(const Pid& pid);
  void report(const char* context, const Term& reason, const Pid& pid, const ChildSpec& spec) const;

  ProcessesSupervisorOptions options_;
  RestartIntensity intensity_;
  // Keyed by the child's pid term (the old pid while restarting).
  std::map<Term, Child> children_;
  std::map<Term, Term> child_id_to_pid_;
  // Children being shut down: monitor ref -> (pid, kill timer).
  std::map<Term, std::pair<Pid, cnode::TimerId>> shutting_down_;
};

}  // namespace hc::horde
