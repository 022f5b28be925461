#include "horde/role_supervisor.hpp"

#include <algorithm>

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::horde {

Atom role_supervisor_name(Atom name) { return Atom(std::string(name.text()) + ".Supervisor"); }

// ---- RoleDirectory -------------------------------------------------------------------

RoleDirectory& RoleDirectory::of(cnode::Node& node) { return node.attachment<RoleDirectory>(); }

RoleRecord* RoleDirectory::find(Atom name) {
  auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : &it->second;
}

RoleRecord& RoleDirectory::record(Atom name, const std::string& kind) {
  RoleRecord& r = roles_[name];
  r.kind = kind;
  return r;
}

std::vector<Atom> RoleDirectory::running(const std::string& kind) const {
  std::vector<Atom> out;
  for (const auto& [name, r] : roles_)
    if (r.kind == kind && r.host != nullptr) out.push_back(name);
  return out;
}

Term RoleDirectory::stats_term() const {
  TermPairs out;
  for (const auto& [name, r] : roles_) {
    TermPairs s;
    s.emplace_back(atom("kind"), Term::binary(r.kind));
    s.emplace_back(atom("status"), atom(r.status == RoleStatus::running ? (r.host ? "running" : "restarting")
                                                                        : "stopped_restart_intensity_exceeded"));
    s.emplace_back(atom("restarts"), Term(static_cast<std::uint64_t>(r.restarts)));
    s.emplace_back(atom("last_crash"), r.last_crash);
    out.emplace_back(Term(name), Term::map(std::move(s)));
  }
  return Term::map(std::move(out));
}

// ---- RoleSupervisor ---------------------------------------------------------------------

RoleSupervisor::RoleSupervisor(RoleSupervisorOptions options)
    : options_(std::move(options)), intensity_(options_.max_restarts, options_.max_seconds) {
  if (!options_.clock) options_.clock = [] { return RestartIntensity::Clock::now(); };
  if (!options_.carry) options_.carry = std::make_shared<RoleCarry>();
}

std::optional<Pid> RoleSupervisor::start(cnode::Node& node, RoleSupervisorOptions options) {
  const Atom sup_name = role_supervisor_name(options.name);
  if (node.whereis(sup_name) || node.whereis(options.name)) return std::nullopt;
  auto carry = options.carry ? options.carry : std::make_shared<RoleCarry>();
  options.carry = carry;
  cnode::SpawnOptions spawn;
  spawn.register_as = sup_name;
  spawn.trap_exit = true;
  Pid pid = node.spawn(std::make_unique<RoleSupervisor>(std::move(options)), spawn);
  if (!node.is_alive(pid) || carry->parts.empty() || !node.is_alive(carry->parts.back())) return std::nullopt;
  return carry->parts.back();
}

void RoleSupervisor::init() {
  set_trap_exit(true);
  RoleCarry& carry = *options_.carry;
  carry.supervisor = self();
  carry.parts.assign(options_.parts.size(), Pid{});
  RoleRecord& r = RoleDirectory::of(node()).record(options_.name, options_.kind);
  r.status = RoleStatus::running;
  r.restarts = 0;
  r.last_crash = Term::nil();
  if (!start_parts(0)) {
    // A name is taken (or a part's init failed): like a supervisor whose
    // child fails to start, the role does not come up at all.
    stop_parts(0);
    RoleDirectory::of(node()).erase(options_.name);
    exit(tuple(atom("shutdown"), atom("failed_to_start_child")));
  }
}

bool RoleSupervisor::start_parts(std::size_t from) {
  RoleCarry& carry = *options_.carry;
  for (std::size_t i = from; i < options_.parts.size(); ++i) {
    cnode::SpawnOptions s = options_.parts[i].spawn;
    s.link = true;
    carry.parts[i] = spawn(options_.parts[i].make(), s);
    if (!node().is_alive(carry.parts[i])) {
      HC_LOG(error) << options_.name << ": " << options_.parts[i].label << " failed to start";
      return false;
    }
  }
  return true;
}

void RoleSupervisor::stop_parts(std::size_t from) {
  // Later parts first, as a supervisor stops its children. `kill` is
  // immediate (the parts trap exits); their terminate() still runs and
  // writes the carry.
  RoleCarry& carry = *options_.carry;
  for (std::size_t j = carry.parts.size(); j-- > from;) {
    if (node().is_alive(carry.parts[j])) {
      unlink(carry.parts[j]);
      exit(carry.parts[j], Term(atom("kill")));
    }
  }
}

void RoleSupervisor::handle_message(const Term& message) {
  auto ex = cnode::as_exit(message);
  if (!ex) {
    HC_LOG(debug) << role_supervisor_name(options_.name) << ": ignored " << message;
    return;
  }
  RoleCarry& carry = *options_.carry;
  auto it = std::find(carry.parts.begin(), carry.parts.end(), ex->from);
  if (it == carry.parts.end()) return;  // a part we already replaced, or not ours: OTP ignores it too
  const std::size_t index = static_cast<std::size_t>(it - carry.parts.begin());
  if (carry.stopping) {
    HC_LOG(info) << options_.name << ": stopped (" << options_.parts[index].label << " exited with " << ex->reason << ")";
    stop_parts(0);
    exit(Term(atom("shutdown")));
    return;
  }
  restart_from(index, ex->reason);
}

void RoleSupervisor::restart_from(std::size_t index, const Term& reason) {
  RoleCarry& carry = *options_.carry;
  RoleDirectory& dir = RoleDirectory::of(node());
  RoleRecord& r = dir.record(options_.name, options_.kind);
  r.last_crash = reason;
  if (!intensity_.add_restart(options_.clock())) {
    HC_LOG(error) << options_.name << " (" << options_.kind << "): " << options_.parts[index].label << " exited with "
                  << reason << "; restart intensity exceeded (more than " << options_.max_restarts << " restarts in "
                  << options_.max_seconds << " s): the role is STOPPED and will not restart";
    r.status = RoleStatus::stopped;
    given_up_ = true;
    stop_parts(0);
    exit(Term(atom("shutdown")));
    return;
  }
  ++carry.restarts;
  r.restarts = carry.restarts;
  std::string restarted;
  for (std::size_t i = index; i < options_.parts.size(); ++i) restarted += (i > index ? ", " : "") + options_.parts[i].label;
  HC_LOG(warn) << options_.name << " (" << options_.kind << "): " << options_.parts[index].label << " exited with "
               << reason << "; restarting " << restarted << " (restart " << carry.restarts << ", "
               << intensity_.recent_restarts() << " of at most " << options_.max_restarts << " in "
               << options_.max_seconds << " s)";
  stop_parts(index + 1);
  if (!start_parts(index)) {
    // Count the failed start like a crash (bounded by the intensity).
    std::size_t failed = index;
    while (failed < carry.parts.size() && node().is_alive(carry.parts[failed])) ++failed;
    restart_from(std::min(failed, carry.parts.size() - 1), tuple(atom("shutdown"), atom("failed_to_start_child")));
  }
}

void RoleSupervisor::terminate(const Term& reason) {
  (void)reason;
  stop_parts(0);
  if (!given_up_) RoleDirectory::of(node()).erase(options_.name);
}

}  // namespace hc::horde
