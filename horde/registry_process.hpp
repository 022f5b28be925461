// The `N` process of a Horde.Registry on the C++ node: RegistryState (the
// pure RegistryImpl state machine) on the role host (role_host.hpp), which
// is also 'N.Crdt'. Started under a RoleSupervisor 'N.Supervisor'
// (role_supervisor.hpp), like Horde.Registry's one_for_all tree.
//
// - gen_server calls from anywhere ({N, Node} or N locally) are parsed
//   (horde_messages) and answered exactly like RegistryImpl;
// - CRDT changes reach the state machine in the turn that caused them;
// - it traps exits: {'EXIT', Pid, _} of a linked registered process removes
//   its names;
// - the state machine's actions are executed in order: CRDT operations,
//   neighbour updates, links, exit signals, listener notifications (named
//   listener processes get Horde's messages, C++ listeners a callback),
//   problems are logged.
//
// Across a restart (a crash of the host, i.e. of the registry or its CRDT):
// the live processes registered through this registry keep their names (the
// dying host unlinks them and the new one registers and links them again),
// C++ listeners stay, the options' members and meta are applied again; names
// held through other members and meta put at run time come back from the
// other members' CRDTs.
//
// C++ code on the same node uses RegistryApi (registry_api.hpp), which calls
// into this object on the io thread (no message round trip).
//
// Threading: io thread only, like every process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "cnode/pid_set.hpp"
#include "horde/horde_messages.hpp"
#include "horde/registry_state.hpp"
#include "horde/role_host.hpp"

namespace hc::horde {

struct RegistryOptions {
  Atom name;                                       // N
  std::vector<MemberSpec> members;                 // Horde's `members:` (self is added)
  // Horde's `members: :auto` (NodeListener): every visible connected node
  // is a member, updated with set_members on each nodeup/nodedown.
  bool members_auto = false;
  std::chrono::milliseconds sync_interval{300};    // Horde's delta_crdt_options default
  std::vector<Atom> listeners;                     // named processes (Horde's `listeners:`)
  std::vector<std::pair<Term, Term>> meta;         // initial meta (Horde's `meta:`)
  // Restart intensity of 'N.Supervisor' (OTP's defaults, as Horde's tree).
  unsigned max_restarts = 3;
  std::int64_t max_seconds = 5;
  std::function<RestartIntensity::Clock::time_point()> clock;  // default: steady_clock
};

struct RegistryCounters {
  std::uint64_t calls = 0;
  std::uint64_t bad_calls = 0;
  std::uint64_t diffs = 0;             // diff entries processed
  std::uint64_t problems = 0;          // malformed diffs dropped
  std::uint64_t conflicts = 0;         // name_conflict exits sent
  std::uint64_t exits = 0;             // linked processes that exited
};

class RegistryProcess final : public RoleHost {
 public:
  using ListenerId = std::uint64_t;
  using Listener = std::function<void(const ListenerEvent&)>;
  struct Carry;

  RegistryProcess(RegistryOptions options, std::shared_ptr<Carry> carry);
  ~RegistryProcess() override;

  // Starts 'N.Supervisor' with the registry (N, also 'N.Crdt') under it;
  // the registry's pid, or nullopt when a name is taken.
  static std::optional<Pid> start(cnode::Node& node, RegistryOptions options);
  // The live registry named `name` on `node`, or nullptr.
  static RegistryProcess* find(cnode::Node& node, Atom name);
  // Names of the registries running on `node`.
  static std::vector<Atom> running(cnode::Node& node);
  static constexpr const char* kKind = "Horde.Registry";

  const RegistryOptions& options() const noexcept { return options_; }
  const RegistryState& state() const noexcept { return *state_; }
  const RegistryCounters& counters() const noexcept { return counters_; }

  // Handles a call as if it came in as a gen_server call; returns the reply
  // ({error, {no_registry, N}} when the registry crashed doing it).
  Term local_call(const RegistryCall& call);
  // Liveness as Horde.Registry.lookup sees it: local pid alive, or remote
  // pid on a connected node (we do not erpc; see registry_api.hpp).
  bool pid_alive(const Pid& pid) const;

  ListenerId add_listener(Listener listener);
  void remove_listener(ListenerId id);

  // keys, members, meta, view_bytes, crdt_bytes, sync counters... as a map.
  Term stats_term() const;
  Pid crdt_pid() const noexcept { return self(); }

 protected:
  void on_start() override;
  std::optional<Term> on_call(const Term& request, const Term& from) override;
  void on_info(const Term& message) override;
  bool on_exit(const cnode::ExitMessage& exit) override;
  void on_nodes_changed() override;
  void on_crdt_changes(std::vector<CrdtDiff> changes) override;
  void on_stop(const Term& reason) override;

 private:
  Term call_now(const RegistryCall& call);
  void execute(const RegistryActions& actions);
  void execute_one(const RegistryAction& action);
  void set_auto_members();

  RegistryOptions options_;
  std::shared_ptr<Carry> carry_;
  std::unique_ptr<RegistryState> state_;
  RegistryCounters counters_;
  cnode::PidSet linked_;  // processes the registry linked (LinkAction); sharded, see pid_set.hpp
};

// What a registry hands to its successor across a restart.
struct RegistryProcess::Carry : RoleCarry {
  struct Registration {
    Term key;
    Pid pid;
    Term value;
  };
  std::vector<Registration> registrations;  // names of live processes registered through us
  std::map<ListenerId, Listener> listeners;  // C++ listeners (RegistryApi)
  ListenerId next_listener = 1;
};

}  // namespace hc::horde
