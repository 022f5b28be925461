#include "horde/supervisor_process.hpp"

#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/crdt_process.hpp"
#include "horde/mixed_distribution.hpp"

namespace hc::horde {
namespace {

constexpr std::string_view kDrain = "$hc_sup_drain";
constexpr std::string_view kNodesChanged = "$hc_sup_nodes";
constexpr std::string_view kStopNow = "$hc_sup_stop";

std::mutex g_running_mutex;
std::unordered_map<const cnode::Node*, std::set<Atom>>& running_map() {
  static std::unordered_map<const cnode::Node*, std::set<Atom>> m;
  return m;
}

sup::Config::RandomBitsFn default_random() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}() ^
                                               static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return [rng] { return (*rng)(); };
}

}  // namespace

SupervisorProcess::SupervisorProcess(SupervisorOptions options)
    : options_(std::move(options)), self_ref_(std::make_shared<SupervisorProcess*>(this)) {
  if (!options_.random) options_.random = default_random();
  if (!options_.clock) options_.clock = [] { return RestartIntensity::Clock::now(); };
  if (!options_.strategy) options_.strategy = std::make_shared<UniformDistribution>();
  if (!options_.kinds) options_.kinds = std::make_shared<WorkerKinds>(WorkerKinds::builtin());
}

SupervisorProcess::~SupervisorProcess() { *self_ref_ = nullptr; }

std::optional<Pid> SupervisorProcess::start(cnode::Node& node, SupervisorOptions options) {
  const Atom name = options.name;
  if (node.whereis(name) || node.whereis(sup::crdt_name_of(name)) || node.whereis(sup::processes_supervisor_name_of(name)))
    return std::nullopt;
  cnode::SpawnOptions spawn;
  spawn.register_as = name;
  spawn.trap_exit = true;
  Pid pid = node.spawn(std::make_unique<SupervisorProcess>(std::move(options)), spawn);
  if (!node.is_alive(pid)) return std::nullopt;
  return pid;
}

SupervisorProcess* SupervisorProcess::find(cnode::Node& node, Atom name) {
  auto pid = node.whereis(name);
  if (!pid) return nullptr;
  return dynamic_cast<SupervisorProcess*>(node.find(*pid));
}

std::vector<Atom> SupervisorProcess::running(cnode::Node& node) {
  std::lock_guard lock(g_running_mutex);
  auto it = running_map().find(&node);
  if (it == running_map().end()) return {};
  return {it->second.begin(), it->second.end()};
}

ProcessesSupervisor* SupervisorProcess::processes_supervisor() const {
  return dynamic_cast<ProcessesSupervisor*>(node().find(ps_pid_));
}

void SupervisorProcess::init() {
  set_trap_exit(true);
  sup::Config config;
  config.name = options_.name;
  config.node = node().name();
  config.strategy = options_.strategy;
  config.proxy_message_ttl = options_.proxy_message_ttl;
  config.active_redistribution = options_.active_redistribution;
  if (options_.advertise_kinds) config.cpp_worker_kinds = options_.kinds->modules();
  config.random = options_.random;
  state_ = std::make_unique<sup::SupervisorState>(std::move(config), static_cast<sup::LocalChildren&>(*this));

  // 'N.Crdt': its diffs come back through the callback, queued (never
  // re-entrant), like Horde's {crdt_update, Diffs} messages.
  std::weak_ptr<SupervisorProcess*> ref = self_ref_;
  CrdtProcessOptions crdt;
  crdt.name = sup::crdt_name_of(options_.name);
  crdt.sync_interval = options_.sync_interval;
  crdt.on_diffs = [ref](const std::vector<crdt::KeyChange>& changes) {
    auto strong = ref.lock();
    if (!strong || *strong == nullptr) return;
    std::vector<Term> diffs;
    diffs.reserve(changes.size());
    for (const auto& c : changes)
      diffs.push_back(c.kind == crdt::KeyChange::Kind::add ? tuple(atom("add"), c.key, c.value)
                                                          : tuple(atom("remove"), c.key));
    (*strong)->on_diffs(std::move(diffs));
  };
  cnode::SpawnOptions crdt_spawn;
  crdt_spawn.link = true;
  crdt_spawn.register_as = crdt.name;
  crdt_pid_ = spawn(std::make_unique<CrdtProcess>(std::move(crdt)), crdt_spawn);

  ProcessesSupervisorOptions ps;
  ps.root_name = options_.name;
  ps.max_restarts = options_.max_restarts;
  ps.max_seconds = options_.max_seconds;
  ps.max_children = options_.max_children;
  ps.extra_arguments = options_.extra_arguments;
  ps.kinds = options_.kinds;
  ps.clock = options_.clock;
  cnode::SpawnOptions ps_spawn;
  ps_spawn.link = true;
  ps_spawn.trap_exit = true;
  ps_spawn.register_as = sup::processes_supervisor_name_of(options_.name);
  ps_pid_ = spawn(std::make_unique<ProcessesSupervisor>(std::move(ps)), ps_spawn);

  {
    std::lock_guard lock(g_running_mutex);
    running_map()[&node()].insert(options_.name);
  }
  HC_LOG(info) << "Starting Horde.DynamicSupervisorImpl with name " << options_.name;

  std::optional<std::vector<Term>> members;
  if (options_.members_auto) {
    members = auto_members();
    std::weak_ptr<SupervisorProcess*> weak = self_ref_;
    const Pid me = self();
    cnode::Node* n = &node();
    node_monitor_ = node().monitor_nodes([weak, me, n](Atom, bool) {
      auto strong = weak.lock();
      if (!strong || *strong == nullptr) return;
      n->send(me, me, Term(atom(kNodesChanged)));
    });
  } else {
    // Horde.DynamicSupervisor always makes itself a member ([name | members]).
    members = options_.members;
    members->push_back(tuple(options_.name, node().name()));
  }
  run_event([&] { execute(state_->init(members)); });
}

std::vector<Term> SupervisorProcess::auto_members() const {
  std::vector<Term> out{tuple(options_.name, node().name())};
  for (const Atom& n : node().connected_nodes()) out.push_back(tuple(options_.name, n));
  return out;
}

void SupervisorProcess::terminate(const Term& reason) {
  (void)reason;
  *self_ref_ = nullptr;
  if (node_monitor_ != 0) node().remove_node_monitor(node_monitor_);
  {
    std::lock_guard lock(g_running_mutex);
    auto it = running_map().find(&node());
    if (it != running_map().end()) {
      it->second.erase(options_.name);
      if (it->second.empty()) running_map().erase(it);
    }
  }
  auto waiters = std::move(stop_waiters_);
  for (auto& w : waiters)
    if (w) w();
}

template <typename F>
void SupervisorProcess::run_event(F&& f) {
  if (busy_) {
    f();
    return;
  }
  busy_ = true;
  f();
  while (!pending_.empty()) {
    std::vector<Term> batch = std::move(pending_.front());
    pending_.pop_front();
    counters_.diffs += batch.size();
    execute(state_->on_crdt_update(batch));
  }
  busy_ = false;
}

void SupervisorProcess::on_diffs(std::vector<Term> diffs) {
  if (diffs.empty()) return;
  pending_.push_back(std::move(diffs));
  if (!busy_ && !drain_scheduled_) {
    drain_scheduled_ = true;
    send(self(), Term(atom(kDrain)));
  }
}

// ---- LocalChildren: the ProcessesSupervisor, called synchronously -------------------

Term SupervisorProcess::start_child(const Term& spec) {
  auto* ps = processes_supervisor();
  if (ps == nullptr) return tuple(atom("error"), atom("noproc"));
  return ps->start_child(spec);
}

Term SupervisorProcess::terminate_child_by_id(const Term& id) {
  auto* ps = processes_supervisor();
  if (ps == nullptr) return tuple(atom("error"), atom("not_found"));
  return ps->terminate_child_by_id(id);
}

void SupervisorProcess::send_exit_signal(const Term& pid, const Term& reason) {
  if (auto* ps = processes_supervisor()) ps->send_exit_signal(pid, reason);
}

void SupervisorProcess::stop_all() {
  // Horde stops the ProcessesSupervisor, which (max_restarts 0) takes the
  // whole Horde tree down; the same here through the links.
  HC_LOG(warn) << options_.name << ": quorum lost, stopping";
  exit(Term(atom("shutdown")));
}

// ---- messages ---------------------------------------------------------------------

std::optional<Term> SupervisorProcess::handle_call(const Term& request, const Term& from) {
  ++counters_.calls;
  run_event([&] { execute(state_->handle_call(request, from)); });
  return std::nullopt;
}

void SupervisorProcess::handle_cast(const Term& request) {
  run_event([&] { execute(state_->handle_cast(request)); });
}

void SupervisorProcess::handle_info(const Term& message) {
  if (message.is_atom(kDrain)) {
    drain_scheduled_ = false;
    run_event([] {});
    return;
  }
  if (message.is_tuple(5) && message.element(0)->is_atom("DOWN")) {
    auto it = member_monitors_.find(*message.element(1));
    if (it == member_monitors_.end()) return;
    const Term member = it->second;
    member_monitors_.erase(it);
    ++counters_.member_downs;
    HC_LOG(info) << options_.name << ": member " << member << " down: " << *message.element(4);
    run_event([&] { execute(state_->on_member_down(member)); });
    return;
  }
  if (message.is_tuple(3) && message.element(0)->is_atom("EXIT")) {
    const Pid* pid = message.element(1)->as_pid();
    if (pid != nullptr && (*pid == crdt_pid_ || *pid == ps_pid_)) {
      // one_for_all: the role cannot work without either.
      HC_LOG(warn) << options_.name << ": " << (*pid == crdt_pid_ ? "CRDT" : "ProcessesSupervisor")
                   << " exited: " << *message.element(2);
      exit(message.element(2)->is_atom("normal") ? Term(atom("shutdown")) : *message.element(2));
    }
    return;
  }
  if (message.is_atom(kNodesChanged)) {
    run_event([&] { execute(state_->set_members(auto_members())); });
    return;
  }
  if (message.is_atom(kStopNow)) {
    exit(Term(atom("shutdown")));
    return;
  }
  if (message.is_tuple() && message.element(0) && message.element(0)->is_atom("proxy_operation")) ++counters_.proxied_in;
  run_event([&] { execute(state_->handle_info(message)); });
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
          auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_));
          if (crdt == nullptr) return;
          for (const auto& op : a.ops) {
            if (op.kind == sup::CrdtOp::Kind::add) crdt->put(op.key, op.value);
            else crdt->remove(op.key);
          }
        } else if constexpr (std::is_same_v<A, sup::SetNeighbours>) {
          if (auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_))) crdt->set_neighbours(a.neighbours);
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
  run_event([&] { execute(state_->handle_call(Term(atom("horde_shutting_down")), Term())); });
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
  if (auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_))) {
    s.emplace_back(atom("crdt_bytes"), u(crdt->memory_bytes()));
    s.emplace_back(atom("crdt"), crdt->stats_term());
  }
  return Term::map(std::move(s));
}

}  // namespace hc::horde
