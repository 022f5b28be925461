#include "horde/supervisor_process.hpp"

#include <random>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/mixed_distribution.hpp"

namespace hc::horde {
namespace {

// The end of a graceful stop's grace period (a timer message).
constexpr std::string_view kStopNow = "$hc_sup_stop";

CrdtPartOptions crdt_options(const SupervisorOptions& o) {
  CrdtPartOptions c;
  c.name = sup::crdt_name_of(o.name);
  c.sync_interval = o.sync_interval;
  return c;
}

sup::Config::RandomBitsFn default_random() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}() ^
                                               static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return [rng] { return (*rng)(); };
}

}  // namespace

SupervisorProcess::SupervisorProcess(SupervisorOptions options, std::shared_ptr<Carry> carry)
    : RoleHost(options.name, kKind, crdt_options(options), carry), options_(std::move(options)), carry_(std::move(carry)) {
  if (!options_.random) options_.random = default_random();
  if (!options_.clock) options_.clock = [] { return RestartIntensity::Clock::now(); };
  if (!options_.strategy) options_.strategy = std::make_shared<UniformDistribution>();
  if (!options_.kinds) options_.kinds = std::make_shared<WorkerKinds>(WorkerKinds::builtin());
}

SupervisorProcess::~SupervisorProcess() = default;

std::optional<Pid> SupervisorProcess::start(cnode::Node& node, SupervisorOptions options) {
  const Atom name = options.name;
  if (node.whereis(name) || node.whereis(sup::crdt_name_of(name)) || node.whereis(sup::processes_supervisor_name_of(name)))
    return std::nullopt;
  if (!options.clock) options.clock = [] { return RestartIntensity::Clock::now(); };
  auto carry = std::make_shared<Carry>();
  RoleSupervisorOptions rs;
  rs.name = name;
  rs.kind = kKind;
  rs.carry = carry;
  rs.clock = options.clock;  // OTP's Supervisor defaults (3 in 5 s) for the tree itself

  RolePart ps;
  ps.label = "ProcessesSupervisor";
  ps.spawn.trap_exit = true;
  ps.spawn.register_as = sup::processes_supervisor_name_of(name);
  ProcessesSupervisorOptions pso;
  pso.root_name = name;
  pso.role_kind = kKind;
  pso.max_restarts = options.max_restarts;
  pso.max_seconds = options.max_seconds;
  pso.max_children = options.max_children;
  pso.extra_arguments = options.extra_arguments;
  pso.kinds = options.kinds ? options.kinds : std::make_shared<WorkerKinds>(WorkerKinds::builtin());
  pso.clock = options.clock;
  ps.make = [pso]() -> std::unique_ptr<cnode::Process> { return std::make_unique<ProcessesSupervisor>(pso); };

  RolePart host;
  host.label = "supervisor and CRDT";
  host.spawn.register_as = name;
  host.spawn.trap_exit = true;
  host.make = [options, carry]() -> std::unique_ptr<cnode::Process> {
    return std::make_unique<SupervisorProcess>(options, carry);
  };
  rs.parts.push_back(std::move(ps));
  rs.parts.push_back(std::move(host));
  return RoleSupervisor::start(node, std::move(rs));
}

SupervisorProcess* SupervisorProcess::find(cnode::Node& node, Atom name) {
  RoleRecord* r = RoleDirectory::of(node).find(name);
  if (r == nullptr || r->host == nullptr || r->kind != kKind) return nullptr;
  return static_cast<SupervisorProcess*>(r->host);  // kind checked: only supervisors enter as kKind
}

std::vector<Atom> SupervisorProcess::running(cnode::Node& node) { return RoleDirectory::of(node).running(kKind); }

ProcessesSupervisor* SupervisorProcess::processes_supervisor() const {
  // The sibling started just before us (RoleSupervisor part 0), which
  // enters itself in the role's record while it lives.
  RoleRecord* r = RoleDirectory::of(node()).find(options_.name);
  return r ? r->children : nullptr;
}

void SupervisorProcess::on_start() {
  sup::Config config;
  config.name = options_.name;
  config.node = node().name();
  config.strategy = options_.strategy;
  config.proxy_message_ttl = options_.proxy_message_ttl;
  config.active_redistribution = options_.active_redistribution;
  if (options_.advertise_kinds) config.cpp_worker_kinds = options_.kinds->modules();
  config.random = options_.random;
  state_ = std::make_unique<sup::SupervisorState>(std::move(config));
  HC_LOG(info) << "Starting Horde.DynamicSupervisorImpl with name " << options_.name
               << (carry_->restarts ? " (restart " + std::to_string(carry_->restarts) + ")" : std::string());

  std::optional<std::vector<Term>> members;
  if (options_.members_auto) {
    members = auto_members();
    follow_visible_nodes();
  } else {
    // Horde.DynamicSupervisor always makes itself a member ([name | members]).
    members = options_.members;
    members->push_back(tuple(options_.name, node().name()));
  }
  execute(state_->init(members));
  adopt_children();
}

void SupervisorProcess::adopt_children() {
  auto* ps = processes_supervisor();
  if (ps == nullptr) return;
  // Children from before a restart whose ProcessesSupervisor died with them:
  // started once more, under the same id.
  std::size_t restarted = 0, adopted = 0;
  for (const Term& spec : std::exchange(carry_->local_children, {})) {
    const Term* id = spec.map_get(std::string_view("id"));
    if (id == nullptr || ps->has_child_id(*id)) continue;
    Term r = ps->start_child(spec);
    if (r.is_tuple() && r.element(0)->is_atom("ok")) ++restarted;
    else HC_LOG(warn) << options_.name << ": child " << *id << " did not restart: " << r;
  }
  // The children the ProcessesSupervisor runs (all of them after a restart
  // of the host alone): ours in the new CRDT.
  for (const auto& [spec, pid] : ps->running_children()) {
    execute(state_->adopt_local_child(spec, pid));
    ++adopted;
  }
  if (carry_->restarts) {
    HC_LOG(info) << options_.name << ": " << adopted << " running child(ren) adopted after the restart, " << restarted
                 << " started again";
  }
}

std::vector<Term> SupervisorProcess::auto_members() const {
  // Horde.NodeListener: [node() | Node.list()], visible nodes only.
  std::vector<Term> out{tuple(options_.name, node().name())};
  for (const Atom& n : node().visible_nodes()) out.push_back(tuple(options_.name, n));
  return out;
}

void SupervisorProcess::on_stop(const Term& reason) {
  (void)reason;
  if (state_) {
    // The children this member runs, for a successor whose
    // ProcessesSupervisor may have died with them.
    for (const auto& [id, entry] : state_->processes())
      if (entry.owner == state_->self_name()) carry_->local_children.push_back(entry.spec);
  }
  auto waiters = std::move(stop_waiters_);
  for (auto& w : waiters)
    if (w) w();
}

// ---- the ProcessesSupervisor, called synchronously -----------------------------------

void SupervisorProcess::start_child(const sup::StartChild& a) {
  auto* ps = processes_supervisor();
  const Term result = ps ? ps->start_child(a.spec) : tuple(atom("error"), atom("noproc"));
  execute(state_->on_child_started(a.spec, result, a.from));
}

void SupervisorProcess::stop_children() {
  // Horde stops the ProcessesSupervisor, which (max_restarts 0) takes the
  // whole Horde tree down: the role stops (no restart).
  HC_LOG(warn) << options_.name << ": quorum lost, stopping";
  carry_->stopping = true;
  exit(Term(atom("shutdown")));
}

// ---- messages ---------------------------------------------------------------------

std::optional<Term> SupervisorProcess::on_call(const Term& request, const Term& from) {
  ++counters_.calls;
  execute(state_->handle_call(request, from));
  return std::nullopt;
}

void SupervisorProcess::on_cast(const Term& request) { execute(state_->handle_cast(request)); }

void SupervisorProcess::on_down(const cnode::DownMessage& down) {
  auto it = member_monitors_.find(down.ref);
  if (it == member_monitors_.end()) return;
  const Term member = it->second;
  member_monitors_.erase(it);
  ++counters_.member_downs;
  HC_LOG(info) << options_.name << ": member " << member << " down: " << down.reason;
  execute(state_->on_member_down(member));
}

void SupervisorProcess::on_nodes_changed() { execute(state_->set_members(auto_members())); }

void SupervisorProcess::on_crdt_changes(std::vector<crdt::KeyChange> changes) {
  counters_.diffs += changes.size();
  execute(state_->on_crdt_update(changes));
}

void SupervisorProcess::on_info(const Term& message) {
  if (message.is_atom(kStopNow)) {
    carry_->stopping = true;
    exit(Term(atom("shutdown")));
    return;
  }
  if (message.is_tuple() && message.element(0) && message.element(0)->is_atom("proxy_operation")) ++counters_.proxied_in;
  execute(state_->handle_info(message));
}

// ---- actions ----------------------------------------------------------------------

void SupervisorProcess::execute(const sup::Actions& actions) {
  for (const auto& a : actions) execute_one(a);
}

void SupervisorProcess::execute_one(const sup::Action& action) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, sup::CrdtOps>) {
          for (const auto& op : a.ops) {
            if (op.kind == sup::CrdtOp::Kind::add) crdt_put(op.key, op.value);
            else crdt_remove(op.key);
          }
        } else if constexpr (std::is_same_v<A, sup::SetNeighbours>) {
          crdt_set_neighbours(a.neighbours);
        } else if constexpr (std::is_same_v<A, sup::MonitorMember>) {
          const Atom* name = a.member.element(0)->as_atom();
          const Atom* n = a.member.element(1)->as_atom();
          if (name == nullptr || n == nullptr) return;
          Reference ref = monitor(cnode::Dest(*name, *n));
          member_monitors_[Term(ref)] = a.member;
        } else if constexpr (std::is_same_v<A, sup::Reply>) {
          if (!a.from.is_nil()) reply(a.from, a.reply);
        } else if constexpr (std::is_same_v<A, sup::Send>) {
          if (auto dest = cnode::Dest::from_term(a.to)) {
            ++counters_.proxied_out;
            send(*dest, a.message);
          }
        } else if constexpr (std::is_same_v<A, sup::CollectChildren>) {
          collect_children(a);
        } else if constexpr (std::is_same_v<A, sup::StartChild>) {
          start_child(a);
        } else if constexpr (std::is_same_v<A, sup::TerminateChild>) {
          auto* ps = processes_supervisor();
          Term result = ps ? ps->terminate_child_by_id(a.id) : tuple(atom("error"), atom("not_found"));
          if (!a.from.is_nil()) reply(a.from, result);
        } else if constexpr (std::is_same_v<A, sup::SignalChild>) {
          if (auto* ps = processes_supervisor()) ps->send_exit_signal(a.pid, a.reason);
        } else if constexpr (std::is_same_v<A, sup::StopChildren>) {
          stop_children();
        }
      },
      action);
}

void SupervisorProcess::collect_children(const sup::CollectChildren& c) {
  struct Pending {
    sup::CollectChildren::Kind kind;
    Term from;
    std::vector<std::optional<Term>> answers;
    std::size_t outstanding = 0;
  };
  auto p = std::make_shared<Pending>(Pending{c.kind, c.from, std::vector<std::optional<Term>>(c.supervisors.size()), 0});
  const Term request{atom(c.kind == sup::CollectChildren::Kind::which ? "which_children" : "count_children")};
  auto finish = [this, p] {
    std::vector<Term> answers;
    for (auto& a : p->answers)
      if (a) answers.push_back(*a);
    Term result = p->kind == sup::CollectChildren::Kind::which ? sup::finish_which_children(answers)
                                                               : sup::finish_count_children(answers);
    if (!p->from.is_nil()) reply(p->from, result);
  };
  for (std::size_t i = 0; i < c.supervisors.size(); ++i) {
    const Term& target = c.supervisors[i];
    const Atom* n = target.element(1)->as_atom();
    if (n != nullptr && *n == node().name()) {
      if (auto* ps = processes_supervisor())
        p->answers[i] = c.kind == sup::CollectChildren::Kind::which ? ps->which_children() : ps->count_children();
      continue;
    }
    auto dest = cnode::Dest::from_term(target);
    if (!dest) continue;
    ++p->outstanding;
    call(*dest, request, options_.children_call_timeout, [p, i, finish](cnode::CallResult r) {
      if (r.ok()) p->answers[i] = r.value();
      if (--p->outstanding == 0) finish();
    });
  }
  if (p->outstanding == 0) finish();
}

// ---- graceful stop -------------------------------------------------------------------

void SupervisorProcess::graceful_stop(std::function<void()> done) {
  if (done) stop_waiters_.push_back(std::move(done));
  if (stopping_) return;
  stopping_ = true;
  HC_LOG(info) << options_.name << ": graceful shutdown";
  turn([&] { execute(state_->handle_call(Term(atom("horde_shutting_down")), Term())); });
  // The children's releases come back as relinquish casts, queued behind
  // this; the stop message is sent after the grace period, behind them.
  if (auto* ps = processes_supervisor()) ps->shutdown_children(true);
  auto grace = options_.shutdown_grace;
  if (grace.count() == 0) grace = std::max(std::chrono::milliseconds(300), options_.sync_interval * 3);
  send_after(grace, Term(atom(kStopNow)));
}

Term SupervisorProcess::stats_term() const {
  TermPairs s;
  auto u = [](std::uint64_t v) { return Term(v); };
  std::uint64_t alive = 0;
  for (const auto& m : state_->members())
    if (m.is_alive()) ++alive;
  s.emplace_back(atom("members"), u(state_->member_names().size()));
  s.emplace_back(atom("alive_members"), u(alive));
  s.emplace_back(atom("global_children"), u(state_->processes().size()));
  s.emplace_back(atom("local_children"), Term(state_->local_process_count()));
  if (auto* ps = processes_supervisor()) s.emplace_back(atom("running_children"), u(ps->child_count()));
  s.emplace_back(atom("calls"), u(counters_.calls));
  s.emplace_back(atom("proxied_in"), u(counters_.proxied_in));
  s.emplace_back(atom("proxied_out"), u(counters_.proxied_out));
  s.emplace_back(atom("diffs_processed"), u(counters_.diffs));
  s.emplace_back(atom("member_downs"), u(counters_.member_downs));
  s.emplace_back(atom("shutting_down"), Term(atom(state_->shutting_down() ? "true" : "false")));
  // The placement configuration, so BEAM nodes can check that they agree
  // (elixir/lib/horde_cnode/mixed_distribution.ex logs a mismatch).
  s.emplace_back(atom("distribution"), Term(options_.strategy->elixir_module()));
  if (const auto* mixed = dynamic_cast<const MixedDistribution*>(options_.strategy.get())) {
    TermVector namespaces;
    for (const Atom& ns : mixed->config().cpp_namespaces) namespaces.emplace_back(ns);
    s.emplace_back(atom("cpp_namespaces"), Term::list(std::move(namespaces)));
  }
  s.emplace_back(atom("restarts"), u(carry_->restarts));
  s.emplace_back(atom("crdt_bytes"), u(crdt().memory_bytes()));
  s.emplace_back(atom("crdt"), crdt().stats_term());
  return Term::map(std::move(s));
}

}  // namespace hc::horde
