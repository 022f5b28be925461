// Supervision of a Horde role on the C++ node, like Horde's own tree
// (Horde.RegistrySupervisor / Horde.DynamicSupervisor: a Supervisor named
// 'N.Supervisor' over DeltaCrdt, the role process and, for a supervisor,
// the ProcessesSupervisor; OTP's default intensity, 3 restarts in 5 s).
//
// RoleSupervisor is generic: it starts an ordered list of parts, linked,
// traps their exits, and when a part crashes it restarts that part and
// every part after it (OTP rest_for_one) while the restart intensity,
// counted against the injected clock, allows; then the role stops and the
// RoleDirectory says so (`stats`, the log). Horde uses one_for_all; the
// parts are ordered so that rest_for_one gives the same result for what
// matters (a crashed CRDT or role process restarts both, since one host is
// both) while a supervisor role's C++ children, in the ProcessesSupervisor
// before the host, keep running when only the host restarts.
//
// A part that exits on purpose sets RoleCarry::stopping first (graceful
// stop, quorum lost): the role then stops, no restart. Any other exit
// reason, `normal` and `shutdown` included, is a crash, as for OTP's
// permanent children.
//
// RoleCarry is shared by the supervisor and its parts: what a part hands to
// its successor across a restart (the registrations of live local
// processes, the specs of local children) and the current part pids. A part
// writes it in terminate(), which runs for every exit, `kill` included.
//
// Threading: io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnode/process.hpp"
#include "horde/restart_policy.hpp"

namespace hc::cnode {
class Node;
}

namespace hc::horde {

class RoleHost;
class ProcessesSupervisor;

// What one role hands over across restarts; roles derive their own.
struct RoleCarry {
  virtual ~RoleCarry() = default;
  Pid supervisor;                 // 'N.Supervisor'
  std::vector<Pid> parts;         // current pid of each part, in start order
  bool stopping = false;          // a part stops the role on purpose
  unsigned restarts = 0;          // restarts so far (for logs and stats)
};

enum class RoleStatus { running, stopped };

// One role of a node as `stats` shows it.
struct RoleRecord {
  std::string kind;               // "Horde.Registry" | "Horde.DynamicSupervisor"
  RoleStatus status = RoleStatus::running;
  unsigned restarts = 0;
  Term last_crash;                // reason of the last crash, or []
  RoleHost* host = nullptr;       // set by the live host (init .. terminate)
  // A supervisor role's 'N.ProcessesSupervisor', set by that live process
  // (init .. terminate): the host calls it synchronously, as Horde calls
  // its ProcessesSupervisor with GenServer.call.
  ProcessesSupervisor* children = nullptr;
};

// The roles of one node (a Node attachment, so several nodes in one process
// never share it). Hosts enter themselves in init and leave in terminate:
// `host` is only non-null while that process is alive.
class RoleDirectory {
 public:
  static RoleDirectory& of(cnode::Node& node);
  RoleRecord* find(Atom name);
  RoleRecord& record(Atom name, const std::string& kind);
  void erase(Atom name) { roles_.erase(name); }
  // Names of the roles of `kind` with a live host.
  std::vector<Atom> running(const std::string& kind) const;
  // #{Name => #{kind, status, restarts, last_crash}} for every role known.
  Term stats_term() const;

 private:
  std::map<Atom, RoleRecord> roles_;
};

struct RolePart {
  std::string label;  // for logs: "registry", "ProcessesSupervisor", ...
  std::function<std::unique_ptr<cnode::Process>()> make;
  cnode::SpawnOptions spawn;  // `link` is set by the supervisor
};

struct RoleSupervisorOptions {
  Atom name;          // N (the supervisor registers as 'N.Supervisor')
  std::string kind;   // RoleRecord::kind
  std::vector<RolePart> parts;
  std::shared_ptr<RoleCarry> carry;
  unsigned max_restarts = 3;   // OTP Supervisor defaults, as Horde's trees
  std::int64_t max_seconds = 5;
  std::function<RestartIntensity::Clock::time_point()> clock;  // default: steady_clock
};

class RoleSupervisor final : public cnode::Process {
 public:
  explicit RoleSupervisor(RoleSupervisorOptions options);
  // Spawns 'N.Supervisor' and its parts. The pid of the last part (the
  // role's N), or nullopt when a name is taken or a part failed to start.
  static std::optional<Pid> start(cnode::Node& node, RoleSupervisorOptions options);

  void init() override;
  void handle_message(const Term& message) override;
  void terminate(const Term& reason) override;

 private:
  // Starts parts[from..]; false when one did not come up.
  bool start_parts(std::size_t from);
  void stop_parts(std::size_t from);
  // Restart from part `index` after `reason`; stops the role when the
  // intensity is exceeded.
  void restart_from(std::size_t index, const Term& reason);

  RoleSupervisorOptions options_;
  RestartIntensity intensity_;
  bool given_up_ = false;
};

Atom role_supervisor_name(Atom name);  // 'N.Supervisor'

}  // namespace hc::horde
