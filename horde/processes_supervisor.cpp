#include "horde/processes_supervisor.hpp"

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/role_supervisor.hpp"

namespace hc::horde {

namespace {
constexpr std::string_view kKillTag = "$hc_ps_kill";
constexpr std::string_view kRestartTag = "$gen_restart";
}  // namespace

// ---- WorkerProcess -------------------------------------------------------------

void WorkerProcess::apply(WorkerStep step, const Term* from) {
  if (from != nullptr && step.reply) reply(*from, *step.reply);
  if (step.stop) exit(*step.stop);
}

std::optional<Term> WorkerProcess::handle_call(const Term& request, const Term& from) {
  apply(worker_->handle_call(request), &from);
  return std::nullopt;
}

void WorkerProcess::handle_cast(const Term& request) { apply(worker_->handle_cast(request), nullptr); }
void WorkerProcess::handle_info(const Term& message) { apply(worker_->handle_info(message), nullptr); }
void WorkerProcess::terminate(const Term& reason) { worker_->terminate(reason); }

// ---- ProcessesSupervisor ---------------------------------------------------------

ProcessesSupervisor::ProcessesSupervisor(ProcessesSupervisorOptions options)
    : options_(std::move(options)), intensity_(options_.max_restarts, options_.max_seconds) {}

std::size_t ProcessesSupervisor::record_overhead_bytes() {
  // map node (children_ + child_id_to_pid_) + Child + ChildSpec vectors.
  return sizeof(Child) + sizeof(Term) * 4 + 4 * sizeof(void*) * 2;
}

void ProcessesSupervisor::init() {
  set_trap_exit(true);
  if (!options_.role_kind.empty()) RoleDirectory::of(node()).record(options_.root_name, options_.role_kind).children = this;
}

void ProcessesSupervisor::terminate(const Term& reason) {
  (void)reason;
  if (options_.role_kind.empty()) return;
  if (RoleRecord* r = RoleDirectory::of(node()).find(options_.root_name); r && r->children == this) r->children = nullptr;
}

void ProcessesSupervisor::report(const char* context, const Term& reason, const Pid& pid, const ChildSpec& spec) const {
  HC_LOG(warn) << options_.root_name << ".ProcessesSupervisor " << context << ": child " << Term(pid) << " ("
               << Term(spec.module) << ", id " << spec.id << ") reason " << reason;
}

Term ProcessesSupervisor::start_worker(const ChildSpec& spec, Pid& pid_out) {
  TermVector args = options_.extra_arguments;
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  WorkerStart started = options_.kinds->start(spec.module, spec.function, args);
  if (auto* reason = std::get_if<Term>(&started)) {
    if (reason->is_tuple(2) && reason->element(0)->is_atom("cpp_worker_kind_not_provided"))
      return tuple(atom("error"), tuple(atom("cpp_worker_kind_not_provided"), spec.module, node().name()));
    return tuple(atom("error"), *reason);
  }
  cnode::SpawnOptions so;
  so.link = true;
  pid_out = spawn(std::make_unique<WorkerProcess>(std::move(std::get<0>(started)), spec.module), so);
  return tuple(atom("ok"), pid_out);
}

void ProcessesSupervisor::save_child(const Pid& pid, ChildSpec spec) {
  child_id_to_pid_[spec.id] = Term(pid);
  children_[Term(pid)] = Child{std::move(spec), false};
}

Term ProcessesSupervisor::start_child(const Term& spec_term) {
  ParseResult parsed = parse_child_spec(spec_term);
  if (auto* reason = std::get_if<Term>(&parsed)) return tuple(atom("error"), *reason);
  if (options_.max_children && children_.size() >= *options_.max_children)
    return tuple(atom("error"), atom("max_children"));
  ChildSpec spec = std::move(std::get<ChildSpec>(parsed));
  Pid pid;
  Term result = start_worker(spec, pid);
  if (result.element(0)->is_atom("ok")) save_child(pid, std::move(spec));
  return result;
}

void ProcessesSupervisor::shut_down(const Pid& pid, const ChildSpec& spec) {
  unlink(pid);
  if (spec.shutdown.kind == Shutdown::Kind::brutal_kill) {
    exit(pid, Term(atom("kill")));
    return;
  }
  const Reference ref = monitor(pid);
  exit(pid, Term(atom("shutdown")));
  cnode::TimerId timer = 0;
  if (spec.shutdown.kind == Shutdown::Kind::timeout)
    timer = send_after(spec.shutdown.timeout, tuple(atom(kKillTag), Term(ref)));
  shutting_down_[Term(ref)] = {pid, timer};
}

void ProcessesSupervisor::delete_child(const Pid& pid) {
  auto it = children_.find(Term(pid));
  if (it == children_.end()) return;
  auto id_it = child_id_to_pid_.find(it->second.spec.id);
  if (id_it != child_id_to_pid_.end() && id_it->second == Term(pid)) child_id_to_pid_.erase(id_it);
  children_.erase(it);
}

Term ProcessesSupervisor::terminate_child(const Term& pid_term) {
  auto it = children_.find(pid_term);
  if (it == children_.end()) return tuple(atom("error"), atom("not_found"));
  const Pid pid = *pid_term.as_pid();
  if (!it->second.restarting) shut_down(pid, it->second.spec);
  delete_child(pid);
  return Term(atom("ok"));
}

Term ProcessesSupervisor::terminate_child_by_id(const Term& id) {
  auto it = child_id_to_pid_.find(id);
  if (it == child_id_to_pid_.end()) return tuple(atom("error"), atom("not_found"));
  return terminate_child(Term(it->second));
}

void ProcessesSupervisor::send_exit_signal(const Term& pid, const Term& reason) {
  if (const Pid* p = pid.as_pid()) exit(*p, reason);
}

Term ProcessesSupervisor::which_children() const {
  TermVector out;
  out.reserve(children_.size());
  for (const auto& [pid, c] : children_)
    out.push_back(tuple(c.spec.id, c.restarting ? Term(atom("restarting")) : pid, c.spec.type_atom(), c.spec.modules));
  return Term::list(std::move(out));
}

std::vector<std::pair<Term, Term>> ProcessesSupervisor::running_children() const {
  std::vector<std::pair<Term, Term>> out;
  for (const auto& [pid, c] : children_)
    if (!c.restarting) out.emplace_back(c.spec.spec, pid);
  return out;
}

Term ProcessesSupervisor::count_children() const {
  std::int64_t active = 0, workers = 0, supervisors = 0;
  for (const auto& [_, c] : children_) {
    if (!c.restarting) ++active;
    if (c.spec.type == ChildType::worker) ++workers;
    else ++supervisors;
  }
  return list(tuple(atom("specs"), Term(static_cast<std::int64_t>(children_.size()))), tuple(atom("active"), active),
              tuple(atom("supervisors"), supervisors), tuple(atom("workers"), workers));
}

std::size_t ProcessesSupervisor::shutdown_children(bool relinquish) {
  std::size_t n = 0;
  auto all = children_;
  for (const auto& [pid, c] : all) {
    if (!c.restarting) shut_down(*pid.as_pid(), c.spec);
    if (relinquish) cast(options_.root_name, tuple(atom("relinquish_child_process"), c.spec.id));
    ++n;
  }
  children_.clear();
  child_id_to_pid_.clear();
  return n;
}

std::optional<Term> ProcessesSupervisor::handle_call(const Term& request, const Term& from) {
  (void)from;
  if (request.is_atom("which_children")) return which_children();
  if (request.is_atom("count_children")) return count_children();
  if (request.is_tuple(2) && request.element(0)->is_atom("terminate_child")) return terminate_child(*request.element(1));
  if (request.is_tuple(2) && request.element(0)->is_atom("terminate_child_by_id"))
    return terminate_child_by_id(*request.element(1));
  if (request.is_tuple(3) && request.element(0)->is_atom("send_exit_signal")) {
    send_exit_signal(*request.element(1), *request.element(2));
    return Term(atom("ok"));
  }
  if (request.is_tuple(2) && request.element(0)->is_atom("start_child")) return start_child(*request.element(1));
  return tuple(atom("error"), tuple(atom("bad_request"), request));
}

bool ProcessesSupervisor::restart_child(const Pid& old_pid, Child child) {
  if (!intensity_.add_restart(options_.clock())) {
    report("shutdown: reached_max_restart_intensity", Term(atom("reached_max_restart_intensity")), old_pid, child.spec);
    delete_child(old_pid);
    return false;
  }
  Pid pid;
  Term result = start_worker(child.spec, pid);
  if (!result.element(0)->is_atom("ok")) {
    report("start_error", *result.element(1), old_pid, child.spec);
    children_[Term(old_pid)] = Child{child.spec, true};
    send(self(), tuple(atom(kRestartTag), Term(old_pid)));
    return true;
  }
  const Term id = child.spec.id;
  delete_child(old_pid);
  save_child(pid, std::move(child.spec));
  cast(options_.root_name, tuple(atom("update_child_pid"), id, Term(pid)));
  return true;
}

void ProcessesSupervisor::on_child_exit(const Pid& pid, const Term& reason) {
  auto it = children_.find(Term(pid));
  if (it == children_.end()) return;
  Child child = it->second;
  switch (horde::on_child_exit(child.spec.restart, reason)) {
    case ChildExitAction::relinquish:
      cast(options_.root_name, tuple(atom("relinquish_child_process"), child.spec.id));
      delete_child(pid);
      return;
    case ChildExitAction::remove:
      if (!is_clean_exit(reason)) report("child_terminated", reason, pid, child.spec);
      cast(options_.root_name, tuple(atom("disown_child_process"), child.spec.id));
      delete_child(pid);
      return;
    case ChildExitAction::restart:
      report("child_terminated", reason, pid, child.spec);
      if (!restart_child(pid, std::move(child))) exit(Term(atom("shutdown")));
      return;
  }
}

void ProcessesSupervisor::handle_info(const Term& message) {
  if (auto ex = cnode::as_exit(message)) {
    if (children_.count(Term(ex->from))) {
      on_child_exit(ex->from, ex->reason);
      return;
    }
    // Our parent (N) going away takes us along, as a supervisor does.
    if (ex->reason.is_atom("normal")) return;
    exit(ex->reason);
    return;
  }
  if (auto down = cnode::as_down(message)) {
    auto it = shutting_down_.find(down->ref);
    if (it != shutting_down_.end()) {
      if (it->second.second != 0) cancel_timer(it->second.second);
      shutting_down_.erase(it);
    }
    return;
  }
  if (message.is_tuple(2) && message.element(0)->is_atom(kKillTag)) {
    auto it = shutting_down_.find(*message.element(1));
    if (it != shutting_down_.end()) {
      exit(it->second.first, Term(atom("kill")));
      shutting_down_.erase(it);
    }
    return;
  }
  if (message.is_tuple(2) && message.element(0)->is_atom(kRestartTag)) {
    auto it = children_.find(*message.element(1));
    if (it == children_.end() || !it->second.restarting) return;
    Child child = it->second;
    if (!restart_child(*message.element(1)->as_pid(), std::move(child))) exit(Term(atom("shutdown")));
    return;
  }
  HC_LOG(warn) << options_.root_name << ".ProcessesSupervisor received unexpected message: " << message;
}

}  // namespace hc::horde
