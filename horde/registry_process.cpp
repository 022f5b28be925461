#include "horde/registry_process.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/crdt_process.hpp"

namespace hc::horde {
namespace {

constexpr std::string_view kDrainMessage = "$hc_registry_drain";

// Registries running per node (several nodes may live in one OS process, on
// different io threads, hence the mutex).
std::mutex g_running_mutex;
std::unordered_map<const cnode::Node*, std::set<Atom>>& running_map() {
  static std::unordered_map<const cnode::Node*, std::set<Atom>> m;
  return m;
}

}  // namespace

RegistryProcess::RegistryProcess(RegistryOptions options)
    : options_(std::move(options)), self_ref_(std::make_shared<RegistryProcess*>(this)) {}

RegistryProcess::~RegistryProcess() { *self_ref_ = nullptr; }

std::optional<Pid> RegistryProcess::start(cnode::Node& node, RegistryOptions options) {
  if (node.whereis(options.name)) return std::nullopt;
  Atom name = options.name;
  cnode::SpawnOptions spawn;
  spawn.register_as = name;
  spawn.trap_exit = true;
  Pid pid = node.spawn(std::make_unique<RegistryProcess>(std::move(options)), spawn);
  if (!node.is_alive(pid)) return std::nullopt;
  return pid;
}

RegistryProcess* RegistryProcess::find(cnode::Node& node, Atom name) {
  auto pid = node.whereis(name);
  if (!pid) return nullptr;
  return dynamic_cast<RegistryProcess*>(node.find(*pid));
}

std::vector<Atom> RegistryProcess::running(cnode::Node& node) {
  std::lock_guard lock(g_running_mutex);
  auto it = running_map().find(&node);
  if (it == running_map().end()) return {};
  return {it->second.begin(), it->second.end()};
}

void RegistryProcess::init() {
  set_trap_exit(true);
  state_ = std::make_unique<RegistryState>(RegistryState::Config{options_.name, node().name(), self()});

  // 'N.Crdt', linked like a one_for_all sibling. Its diffs come back through
  // the callback; `ref` is cleared when we are gone.
  std::weak_ptr<RegistryProcess*> ref = self_ref_;
  CrdtProcessOptions crdt;
  crdt.name = crdt_name(options_.name);
  crdt.sync_interval = options_.sync_interval;
  crdt.on_diffs = [ref](const std::vector<crdt::KeyChange>& changes) {
    auto strong = ref.lock();
    if (!strong || *strong == nullptr) return;
    std::vector<CrdtDiff> diffs;
    diffs.reserve(changes.size());
    for (const auto& c : changes) {
      diffs.push_back(c.kind == crdt::KeyChange::Kind::add ? CrdtDiff::added(c.key, c.value)
                                                          : CrdtDiff::removed(c.key));
    }
    (*strong)->on_diffs(std::move(diffs));
  };
  cnode::SpawnOptions spawn;
  spawn.link = true;
  spawn.register_as = crdt.name;
  crdt_pid_ = cnode::Process::spawn(std::make_unique<CrdtProcess>(std::move(crdt)), spawn);

  {
    std::lock_guard lock(g_running_mutex);
    running_map()[&node()].insert(options_.name);
  }
  HC_LOG(info) << "Starting Horde.RegistryImpl with name " << options_.name;
  if (options_.members_auto) {
    // Horde.NodeListener: on every nodeup/nodedown, set_members to
    // [node() | nodes()]. `ref` guards against a callback after our exit.
    for (const Atom& n : node().connected_nodes()) options_.members.push_back(MemberSpec{options_.name, n});
    node_monitor_ = node().monitor_nodes([ref](Atom, bool) {
      auto strong = ref.lock();
      if (strong && *strong != nullptr) (*strong)->set_auto_members();
    });
  }
  run_event([&] {
    execute(state_->init(options_.members));
    for (const auto& [k, v] : options_.meta) local_call(PutMetaCall{k, v});
  });
}

void RegistryProcess::set_auto_members() {
  SetMembersCall call;
  call.members.push_back(MemberSpec{options_.name, node().name()});
  for (const Atom& n : node().connected_nodes()) call.members.push_back(MemberSpec{options_.name, n});
  local_call(call);
}

void RegistryProcess::terminate(const Term& reason) {
  *self_ref_ = nullptr;
  if (node_monitor_ != 0) node().remove_node_monitor(node_monitor_);
  // one_for_all: the CRDT goes with us, also when we stop with `normal`
  // (which a link does not propagate).
  if (auto* crdt = node().find(crdt_pid_)) crdt->exit(reason);
  std::lock_guard lock(g_running_mutex);
  auto it = running_map().find(&node());
  if (it != running_map().end()) {
    it->second.erase(options_.name);
    if (it->second.empty()) running_map().erase(it);
  }
}

template <typename F>
void RegistryProcess::run_event(F&& f) {
  if (busy_) {  // nested (e.g. a listener calling the API): the outer event drains
    f();
    return;
  }
  busy_ = true;
  f();
  while (!pending_.empty()) {
    std::vector<CrdtDiff> batch = std::move(pending_.front());
    pending_.pop_front();
    counters_.diffs += batch.size();
    execute(state_->on_crdt_diffs(batch));
  }
  busy_ = false;
}

Term RegistryProcess::local_call(const RegistryCall& call) {
  ++counters_.calls;
  Term reply;
  run_event([&] { execute(state_->handle_call(call, reply)); });
  return reply;
}

std::optional<Term> RegistryProcess::handle_call(const Term& request, const Term& from) {
  (void)from;
  auto call = parse_registry_call(request);
  if (!call) {
    ++counters_.bad_calls;
    Term reply;
    run_event([&] { execute(state_->handle_bad_call(call.error(), reply)); });
    return reply;
  }
  return local_call(*call);
}

void RegistryProcess::handle_info(const Term& message) {
  if (message.is_tuple(3) && message.element(0)->is_atom("EXIT")) {
    const Pid* pid = message.element(1)->as_pid();
    if (pid == nullptr) return;
    if (*pid == crdt_pid_) {
      // one_for_all: without its CRDT the registry cannot work.
      HC_LOG(warn) << options_.name << ": CRDT process exited: " << *message.element(2);
      exit(*message.element(2));
      return;
    }
    ++counters_.exits;
    run_event([&] { execute(state_->on_exit(*pid)); });
    return;
  }
  if (message.is_atom(kDrainMessage)) {
    drain_scheduled_ = false;
    run_event([] {});
    return;
  }
  if (message.is_tuple(2) && message.element(0)->is_atom("crdt_update")) {
    // The BEAM-shaped notification (e.g. from a test); our CRDT uses the callback.
    std::vector<CrdtDiff> diffs;
    const Term& list = *message.element(1);
    if (!list.is_proper_list()) {
      HC_LOG(warn) << options_.name << ": dropped malformed crdt_update " << message;
      return;
    }
    for (const Term& d : list.list_elements()) {
      auto parsed = CrdtDiff::from_term(d);
      if (!parsed) {
        ++counters_.problems;
        HC_LOG(warn) << options_.name << ": dropped " << parsed.error().what << ": " << d;
        continue;
      }
      diffs.push_back(*parsed);
    }
    on_diffs(std::move(diffs));
    return;
  }
  HC_LOG(warn) << options_.name << ": unexpected message dropped: " << message;
}

void RegistryProcess::on_diffs(std::vector<CrdtDiff> diffs) {
  if (diffs.empty()) return;
  pending_.push_back(std::move(diffs));
  // Inside one of our own events the diffs are processed before it ends.
  // Otherwise the CRDT is in the middle of its own message: like Horde's
  // {crdt_update, _}, they wait for our next turn.
  if (!busy_ && !drain_scheduled_) {
    drain_scheduled_ = true;
    send(self(), Term(atom(kDrainMessage)));
  }
}

void RegistryProcess::execute(const RegistryActions& actions) {
  for (const auto& a : actions) execute_one(a);
}

void RegistryProcess::execute_one(const RegistryAction& action) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, CrdtOpsAction>) {
          auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_));
          if (crdt == nullptr) return;
          // A bulk_operation: each op is applied in order; every change comes
          // back through on_diffs, queued until the current event ends.
          for (const auto& op : a.ops) {
            if (op.kind == CrdtOp::Kind::Add) {
              crdt->put(op.key, op.value);
              continue;
            }
            if (op.if_pid) {
              auto current = crdt->get(op.key);
              if (!op.removes(current ? &*current : nullptr)) continue;
            }
            crdt->remove(op.key);
          }
        } else if constexpr (std::is_same_v<A, SetNeighboursAction>) {
          if (auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_))) crdt->set_neighbours(a.neighbours);
        } else if constexpr (std::is_same_v<A, LinkAction>) {
          link(a.pid);
        } else if constexpr (std::is_same_v<A, ExitAction>) {
          ++counters_.conflicts;
          HC_LOG(info) << options_.name << ": name conflict, exiting " << Term(a.pid) << " with " << a.reason;
          exit(a.pid, a.reason);
        } else if constexpr (std::is_same_v<A, NotifyAction>) {
          if (!options_.listeners.empty()) {
            Term msg = a.event.to_term();
            for (const Atom& l : options_.listeners) send(l, msg);
          }
          // Copy: a listener may add or remove listeners.
          if (!listeners_.empty()) {
            auto copy = listeners_;
            for (auto& [id, fn] : copy) fn(a.event);
          }
        } else if constexpr (std::is_same_v<A, ProblemAction>) {
          ++counters_.problems;
          HC_LOG(warn) << options_.name << ": dropped " << a.what << ": " << a.offending;
        }
      },
      action);
}

bool RegistryProcess::pid_alive(const Pid& pid) const {
  if (pid.node == node().name()) return node().is_alive(pid);
  return node().is_connected(pid.node);
}

RegistryProcess::ListenerId RegistryProcess::add_listener(Listener listener) {
  const ListenerId id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void RegistryProcess::remove_listener(ListenerId id) { listeners_.erase(id); }

Term RegistryProcess::stats_term() const {
  TermPairs s;
  auto u = [](std::uint64_t v) { return Term(v); };
  s.emplace_back(atom("keys"), u(state_->count()));
  s.emplace_back(atom("members"), u(state_->members().size()));
  s.emplace_back(atom("meta"), u(state_->meta_count()));
  s.emplace_back(atom("view_bytes"), u(state_->memory_bytes()));
  s.emplace_back(atom("calls"), u(counters_.calls));
  s.emplace_back(atom("bad_calls"), u(counters_.bad_calls));
  s.emplace_back(atom("diffs_processed"), u(counters_.diffs));
  s.emplace_back(atom("problems"), u(counters_.problems));
  s.emplace_back(atom("conflicts"), u(counters_.conflicts));
  s.emplace_back(atom("exits"), u(counters_.exits));
  if (auto* crdt = dynamic_cast<CrdtProcess*>(node().find(crdt_pid_))) {
    s.emplace_back(atom("crdt_bytes"), u(crdt->memory_bytes()));
    s.emplace_back(atom("crdt"), crdt->stats_term());
  }
  return Term::map(std::move(s));
}

}  // namespace hc::horde
