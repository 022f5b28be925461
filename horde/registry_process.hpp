// The `N` process of a Horde.Registry on the C++ node: the adapter that runs
// RegistryState (the pure RegistryImpl state machine) on the cnode process
// API and owns the local 'N.Crdt' (horde/crdt_process).
//
// Like Horde.Registry's one_for_all supervisor: the registry starts its CRDT
// process linked; if either dies the other goes too.
//
// - gen_server calls from anywhere ({N, Node} or N locally) are parsed
//   (horde_messages) and answered exactly like RegistryImpl;
// - CRDT diffs reported by 'N.Crdt' are fed to the state machine (queued,
//   never re-entrantly, in the order they happened);
// - it traps exits: {'EXIT', Pid, _} of a linked registered process removes
//   its names;
// - the state machine's actions are executed in order: CRDT operations,
//   neighbour updates, links, exit signals, listener notifications (named
//   listener processes get Horde's messages, C++ listeners a callback),
//   problems are logged.
//
// C++ code on the same node uses RegistryApi (registry_api.hpp), which calls
// straight into this object on the io thread (no message round trip).
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
#include "horde/horde_messages.hpp"
#include "horde/registry_state.hpp"

namespace hc::horde {

struct RegistryOptions {
  Atom name;                                       // N
  std::vector<MemberSpec> members;                 // Horde's `members:` (self is added)
  // Horde's `members: :auto` (NodeListener): every connected node is a
  // member, updated with set_members on each nodeup/nodedown.
  bool members_auto = false;
  std::chrono::milliseconds sync_interval{300};    // Horde's delta_crdt_options default
  std::vector<Atom> listeners;                     // named processes (Horde's `listeners:`)
  std::vector<std::pair<Term, Term>> meta;         // initial meta (Horde's `meta:`)
};

struct RegistryCounters {
  std::uint64_t calls = 0;
  std::uint64_t bad_calls = 0;
  std::uint64_t diffs = 0;             // diff entries processed
  std::uint64_t problems = 0;          // malformed diffs dropped
  std::uint64_t conflicts = 0;         // name_conflict exits sent
  std::uint64_t exits = 0;             // linked processes that exited
};

class RegistryProcess final : public cnode::GenServer {
 public:
  using ListenerId = std::uint64_t;
  using Listener = std::function<void(const ListenerEvent&)>;

  explicit RegistryProcess(RegistryOptions options);
  ~RegistryProcess() override;

  // Spawns the registry registered as N (and its 'N.Crdt'). nullopt when
  // the name is taken.
  static std::optional<Pid> start(cnode::Node& node, RegistryOptions options);
  // The live registry process named `name` on `node`, or nullptr.
  static RegistryProcess* find(cnode::Node& node, Atom name);
  // Names of the registries running on `node`.
  static std::vector<Atom> running(cnode::Node& node);

  const RegistryOptions& options() const noexcept { return options_; }
  const RegistryState& state() const noexcept { return *state_; }
  const RegistryCounters& counters() const noexcept { return counters_; }

  // Handles a call as if it came in as a gen_server call; returns the reply.
  Term local_call(const RegistryCall& call);
  // Liveness as Horde.Registry.lookup sees it: local pid alive, or remote
  // pid on a connected node (we do not erpc; see registry_api.hpp).
  bool pid_alive(const Pid& pid) const;

  ListenerId add_listener(Listener listener);
  void remove_listener(ListenerId id);

  // keys, members, meta, view_bytes, crdt_bytes, sync counters... as a map.
  Term stats_term() const;
  Pid crdt_pid() const noexcept { return crdt_pid_; }

 protected:
  void init() override;
  std::optional<Term> handle_call(const Term& request, const Term& from) override;
  void handle_info(const Term& message) override;
  void terminate(const Term& reason) override;

 private:
  void on_diffs(std::vector<CrdtDiff> diffs);
  // Runs one event and then every diff batch it caused.
  template <typename F>
  void run_event(F&& f);
  void execute(const RegistryActions& actions);
  void execute_one(const RegistryAction& action);

  RegistryOptions options_;
  std::unique_ptr<RegistryState> state_;
  Pid crdt_pid_;
  // Diff batches not yet given to the state machine. Diffs caused by our
  // own CRDT operations arrive while we execute actions; they are processed
  // after the current event, as Horde processes {crdt_update, _} messages.
  std::deque<std::vector<CrdtDiff>> pending_;
  bool busy_ = false;
  bool drain_scheduled_ = false;
  RegistryCounters counters_;
  std::map<ListenerId, Listener> listeners_;
  ListenerId next_listener_ = 1;
  void set_auto_members();
  std::uint64_t node_monitor_ = 0;
  // Cleared on destruction so the CRDT's callback never reaches a dead object.
  std::shared_ptr<RegistryProcess*> self_ref_;
};

}  // namespace hc::horde
