#include "horde/registry_process.hpp"

#include <algorithm>

#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::horde {

namespace {
CrdtPartOptions crdt_options(const RegistryOptions& o) {
  CrdtPartOptions c;
  c.name = crdt_name(o.name);
  c.sync_interval = o.sync_interval;
  return c;
}
}  // namespace

RegistryProcess::RegistryProcess(RegistryOptions options, std::shared_ptr<Carry> carry)
    : RoleHost(options.name, kKind, crdt_options(options), carry), options_(std::move(options)), carry_(std::move(carry)) {}

RegistryProcess::~RegistryProcess() = default;

std::optional<Pid> RegistryProcess::start(cnode::Node& node, RegistryOptions options) {
  if (node.whereis(options.name) || node.whereis(crdt_name(options.name))) return std::nullopt;
  auto carry = std::make_shared<Carry>();
  RoleSupervisorOptions sup;
  sup.name = options.name;
  sup.kind = kKind;
  sup.carry = carry;
  sup.max_restarts = options.max_restarts;
  sup.max_seconds = options.max_seconds;
  sup.clock = options.clock;
  RolePart part;
  part.label = "registry and CRDT";
  part.spawn.register_as = options.name;
  part.spawn.trap_exit = true;
  part.make = [options, carry]() -> std::unique_ptr<cnode::Process> {
    return std::make_unique<RegistryProcess>(options, carry);
  };
  sup.parts.push_back(std::move(part));
  return RoleSupervisor::start(node, std::move(sup));
}

RegistryProcess* RegistryProcess::find(cnode::Node& node, Atom name) {
  RoleRecord* r = RoleDirectory::of(node).find(name);
  if (r == nullptr || r->host == nullptr || r->kind != kKind) return nullptr;
  return static_cast<RegistryProcess*>(r->host);  // kind checked: only registries enter as kKind
}

std::vector<Atom> RegistryProcess::running(cnode::Node& node) { return RoleDirectory::of(node).running(kKind); }

void RegistryProcess::on_start() {
  state_ = std::make_unique<RegistryState>(RegistryState::Config{options_.name, node().name(), self()});
  HC_LOG(info) << "Starting Horde.RegistryImpl with name " << options_.name
               << (carry_->restarts ? " (restart " + std::to_string(carry_->restarts) + ")" : std::string());
  std::vector<MemberSpec> members = options_.members;
  if (options_.members_auto) {
    // Horde.NodeListener: [node() | Node.list()], visible nodes only.
    for (const Atom& n : node().visible_nodes()) members.push_back(MemberSpec{options_.name, n});
    follow_visible_nodes();
  }
  execute(state_->init(members));
  for (const auto& [k, v] : options_.meta) call_now(PutMetaCall{k, v});
  // Names of live processes from before a restart: registered again (and
  // linked again) under the same keys and values.
  auto carried = std::exchange(carry_->registrations, {});
  std::size_t again = 0;
  for (const auto& r : carried) {
    if (!pid_alive(r.pid)) continue;
    call_now(RegisterCall{r.key, r.value, r.pid});
    ++again;
  }
  if (!carried.empty()) {
    HC_LOG(info) << options_.name << ": registered " << again << " name(s) of live processes again after the restart";
  }
}

void RegistryProcess::on_stop(const Term& reason) {
  (void)reason;
  if (!state_) return;
  // Keep the registered processes out of the crash: unlink them (so the
  // exit signal does not reach them) and hand their names to the successor,
  // which registers and links them again. A remote one that died meanwhile
  // answers that link with noproc, which drops its names then.
  state_->for_each([&](const Term& name, const RegistryEntry& e) {
    if (!(e.member == state_->self_member()) || !pid_alive(e.pid)) return;
    carry_->registrations.push_back(Carry::Registration{name, e.pid, e.value});
  });
  for (const Pid& p : linked_) unlink(p);
}

void RegistryProcess::set_auto_members() {
  SetMembersCall call;
  call.members.push_back(MemberSpec{options_.name, node().name()});
  for (const Atom& n : node().visible_nodes()) call.members.push_back(MemberSpec{options_.name, n});
  call_now(call);
}

void RegistryProcess::on_nodes_changed() { set_auto_members(); }

Term RegistryProcess::call_now(const RegistryCall& call) {
  ++counters_.calls;
  Term reply;
  execute(state_->handle_call(call, reply));
  return reply;
}

Term RegistryProcess::local_call(const RegistryCall& call) {
  Term reply = tuple(atom("error"), tuple(atom("no_registry"), options_.name));
  turn([&] { reply = call_now(call); });
  return reply;
}

std::optional<Term> RegistryProcess::on_call(const Term& request, const Term& from) {
  (void)from;
  auto call = parse_registry_call(request);
  if (!call) {
    ++counters_.bad_calls;
    Term reply;
    execute(state_->handle_bad_call(request, call.failure(), reply));
    return reply;
  }
  return call_now(*call);
}

bool RegistryProcess::on_exit(const cnode::ExitMessage& ex) {
  if (!linked_.erase(ex.from)) {
    // {'EXIT', Pid, noproc} for a local process that is gone: the answer to
    // a link of ours to a process that was already dead (RegistryImpl drops
    // its names the same way), not a foreign exit to restart the role on.
    if (!(ex.reason.is_atom("noproc") && ex.from.node == node().name() && !node().is_alive(ex.from))) return false;
  }
  ++counters_.exits;
  execute(state_->on_exit(ex.from));
  return true;
}

void RegistryProcess::on_info(const Term& message) {
  if (message.is_tuple(2) && message.element(0)->is_atom("crdt_update")) {
    // The BEAM-shaped notification (e.g. from a test); our own CRDT's
    // changes come straight from the host.
    const Term& list = *message.element(1);
    if (!list.is_proper_list()) {
      HC_LOG(warn) << options_.name << ": dropped malformed crdt_update " << message;
      return;
    }
    std::vector<CrdtDiff> diffs;
    for (const Term& d : list.list_elements()) {
      auto parsed = parse_crdt_diff(d);
      if (!parsed) {
        ++counters_.problems;
        HC_LOG(warn) << options_.name << ": dropped " << parsed.what() << ": " << d;
        continue;
      }
      diffs.push_back(*parsed);
    }
    counters_.diffs += diffs.size();
    execute(state_->on_crdt_diffs(diffs));
    return;
  }
  HC_LOG(warn) << options_.name << ": unexpected message dropped: " << message;
}

void RegistryProcess::on_crdt_changes(std::vector<CrdtDiff> changes) {
  counters_.diffs += changes.size();
  execute(state_->on_crdt_diffs(changes));
}

void RegistryProcess::execute(const RegistryActions& actions) {
  for (const auto& a : actions) execute_one(a);
}

void RegistryProcess::execute_one(const RegistryAction& action) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, CrdtOpsAction>) {
          // A bulk_operation: each op is applied in order; the changes reach
          // the state machine before this turn ends.
          for (const auto& op : a.ops) {
            if (op.kind == CrdtOp::Kind::Add) {
              crdt_put(op.key, op.value);
              continue;
            }
            if (op.if_pid) {
              // Leave a name that the CRDT already gave to another process.
              auto current = crdt_get(op.key);
              if (!op.removes(current ? &*current : nullptr)) continue;
            }
            crdt_remove(op.key);
          }
        } else if constexpr (std::is_same_v<A, SetNeighboursAction>) {
          crdt_set_neighbours(a.neighbours);
        } else if constexpr (std::is_same_v<A, LinkAction>) {
          // Once per pid: a link to a process that is already dead answers
          // each attempt with {'EXIT', Pid, noproc}, and a second one would
          // find the pid no longer linked (see on_exit).
          if (linked_.insert(a.pid)) link(a.pid);
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
          if (!carry_->listeners.empty()) {
            auto copy = carry_->listeners;
            for (auto& [id, fn] : copy) fn(a.event);
          }
        } else if constexpr (std::is_same_v<A, ProblemAction>) {
          ++counters_.problems;
          HC_LOG(warn) << options_.name << ": dropped " << a.what << ": " << a.offending;
        } else if constexpr (std::is_same_v<A, MembershipNoteAction>) {
          HC_LOG(info) << options_.name << ": " << a.what;
        }
      },
      action);
}

bool RegistryProcess::pid_alive(const Pid& pid) const {
  if (pid.node == node().name()) return node().is_alive(pid);
  return node().is_connected(pid.node);
}

RegistryProcess::ListenerId RegistryProcess::add_listener(Listener listener) {
  const ListenerId id = carry_->next_listener++;
  carry_->listeners.emplace(id, std::move(listener));
  return id;
}

void RegistryProcess::remove_listener(ListenerId id) { carry_->listeners.erase(id); }

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
  s.emplace_back(atom("restarts"), u(carry_->restarts));
  s.emplace_back(atom("crdt_bytes"), u(crdt().memory_bytes()));
  s.emplace_back(atom("crdt"), crdt().stats_term());
  return Term::map(std::move(s));
}

}  // namespace hc::horde
