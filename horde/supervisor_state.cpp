#include "horde/supervisor_state.hpp"

#include <algorithm>

namespace hc::horde::sup {

namespace {

Term key_member(const Term& m) { return tuple(atom("member"), m); }
Term key_member_info(const Term& m) { return tuple(atom("member_node_info"), m); }
Term key_process(const Term& id) { return tuple(atom("process"), id); }

bool is_membership_key(const Term& key) {
  return key.is_tuple(2) && (key.element(0)->is_atom("member") || key.element(0)->is_atom("member_node_info"));
}

// RAII: collect actions of one event.
class Collect {
 public:
  Collect(Actions*& slot, Actions& into) : slot_(slot), saved_(slot) { slot_ = &into; }
  ~Collect() { slot_ = saved_; }

 private:
  Actions*& slot_;
  Actions* saved_;
};

const Term* spec_id(const Term& spec) { return spec.is_map() ? spec.map_get("id") : nullptr; }

}  // namespace

Atom crdt_name_of(Atom name) { return Atom(std::string(name.text()) + ".Crdt"); }
Atom processes_supervisor_name_of(Atom name) { return Atom(std::string(name.text()) + ".ProcessesSupervisor"); }

Term finish_which_children(const std::vector<Term>& answers) {
  TermVector out;
  for (const Term& list : answers) {
    if (!list.is_proper_list()) continue;
    for (const Term& c : list.list_elements()) {
      if (!c.is_tuple(4)) continue;
      out.push_back(tuple(atom("undefined"), *c.element(1), *c.element(2), *c.element(3)));
    }
  }
  return Term::list(std::move(out));
}

Term finish_count_children(const std::vector<Term>& answers) {
  // Enum.reduce(fn {type, count}, acc -> Map.update(acc, type, count, &(&1 + count)))
  std::map<Term, std::int64_t> sums;
  for (const Term& kw : answers) {
    std::span<const Term> items;
    TermVector from_map;
    if (kw.is_proper_list()) {
      items = kw.list_elements();
    } else if (kw.is_map()) {
      for (const auto& [k, v] : kw.map_entries()) from_map.push_back(tuple(k, v));
      items = from_map;
    }
    for (const Term& kv : items) {
      if (!kv.is_tuple(2)) continue;
      auto n = kv.element(1)->as_int();
      if (n) sums[*kv.element(0)] += *n;
    }
  }
  TermPairs pairs;
  for (const auto& [k, v] : sums) pairs.emplace_back(k, Term(v));
  return Term::map(std::move(pairs));
}

SupervisorState::SupervisorState(Config config)
    : config_(std::move(config)),
      self_(tuple(config_.name, config_.node)),
      crdt_name_(crdt_name_of(config_.name)),
      processes_supervisor_name_(processes_supervisor_name_of(config_.name)) {
  if (!config_.strategy) config_.strategy = std::make_shared<UniformDistribution>();
}

// ---- helpers -----------------------------------------------------------------

void SupervisorState::crdt_put(Term key, Term value) {
  out_->push_back(CrdtOps{{CrdtOp{CrdtOp::Kind::add, std::move(key), std::move(value)}}});
}

void SupervisorState::crdt_delete(Term key) {
  out_->push_back(CrdtOps{{CrdtOp{CrdtOp::Kind::remove, std::move(key), Term()}}});
}

void SupervisorState::reply(const Term& from, Term value) { out_->push_back(Reply{from, std::move(value)}); }

Member SupervisorState::node_info() const {
  return Member{self_, shutting_down_ ? MemberStatus::shutting_down : MemberStatus::alive, config_.cpp_worker_kinds};
}

std::vector<Member> SupervisorState::members() const {
  std::vector<Member> out;
  for (const auto& [name, _] : members_) {
    auto it = members_info_.find(name);
    if (it != members_info_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<Term> SupervisorState::member_names() const {
  std::vector<Term> out;
  for (const auto& [name, _] : members_) out.push_back(name);
  return out;
}

const Member* SupervisorState::member_info(const Term& name) const {
  auto it = members_info_.find(name);
  return it == members_info_.end() ? nullptr : &it->second;
}

std::optional<Term> SupervisorState::child_id_of_pid(const Term& pid) const {
  auto it = process_pid_to_id_.find(pid);
  if (it == process_pid_to_id_.end()) return std::nullopt;
  return it->second;
}

ChooseResult SupervisorState::choose_node(const Term& spec, std::vector<Member>& storage) const {
  storage = members();
  return config_.strategy->choose_node(spec, storage);
}

// ---- init / membership -------------------------------------------------------------

Actions SupervisorState::init(const std::optional<std::vector<Term>>& members) {
  Actions actions;
  Collect c(out_, actions);
  set_own_node_status();
  if (members) {
    auto more = set_members(*members);
    actions.insert(actions.end(), more.begin(), more.end());
  }
  return actions;
}

void SupervisorState::set_own_node_status(bool force) {
  const Member info = node_info();
  if (!force) {
    auto it = members_info_.find(self_);
    if (it != members_info_.end() && it->second == info) return;
  }
  crdt_put(key_member_info(self_), info.to_term());
  members_info_[self_] = info;
}

void SupervisorState::mark_dead(const Term& member) {
  crdt_put(key_member_info(member), Member{member, MemberStatus::dead, std::nullopt}.to_term());
}

Actions SupervisorState::set_members(const std::vector<Term>& requested) {
  Actions actions;
  Collect c(out_, actions);
  // fully_qualified_name/1 for each element.
  std::set<Term> names;
  for (const Term& m : requested) {
    if (m.is_atom()) names.insert(tuple(m, config_.node));
    else if (m.is_tuple(2) && m.element(0)->is_atom() && m.element(1)->is_atom()) names.insert(m);
  }
  std::map<Term, Member> new_info;
  for (const Term& n : names) {
    auto it = members_info_.find(n);
    new_info[n] = it != members_info_.end() ? it->second : Member{n, MemberStatus::uninitialized, std::nullopt};
  }
  CrdtOps drop;
  for (const auto& [existing, _] : members_)
    if (!names.count(existing)) {
      drop.ops.push_back(CrdtOp{CrdtOp::Kind::remove, key_member(existing), Term()});
      drop.ops.push_back(CrdtOp{CrdtOp::Kind::remove, key_member_info(existing), Term()});
    }
  CrdtOps merge;
  for (const Term& n : names)
    if (!members_.count(n)) merge.ops.push_back(CrdtOp{CrdtOp::Kind::add, key_member(n), Term(1)});
  // DeltaCrdt.drop / DeltaCrdt.merge are called even when empty; we skip no-ops.
  if (!drop.ops.empty()) out_->push_back(std::move(drop));
  if (!merge.ops.empty()) out_->push_back(std::move(merge));

  members_.clear();
  for (const Term& n : names) members_[n] = 1;
  members_info_ = std::move(new_info);
  monitor_supervisors();
  handle_quorum_change();
  set_crdt_neighbours();
  return actions;
}

void SupervisorState::monitor_supervisors() {
  for (const auto& [name, _] : members_) {
    auto it = members_info_.find(name);
    if (it == members_info_.end() || !it->second.is_alive()) continue;
    if (name == self_ || monitored_.count(name)) continue;
    monitored_.insert(name);
    out_->push_back(MonitorMember{name});
  }
}

void SupervisorState::handle_quorum_change() {
  const auto ms = members();
  if (config_.strategy->has_quorum(ms)) {
    for (const Term& from : waiting_for_quorum_) reply(from, Term(atom("ok")));
    waiting_for_quorum_.clear();
    return;
  }
  // shut_down_all_processes: only when something runs here.
  for (const auto& [_, e] : processes_by_id_)
    if (e.owner == self_) {
      out_->push_back(StopChildren{});
      return;
    }
}

void SupervisorState::set_crdt_neighbours() {
  SetNeighbours n;
  for (const auto& [name, _] : members_) {
    if (name == self_) continue;
    n.neighbours.push_back(tuple(crdt_name_, *name.element(1)));
  }
  out_->push_back(std::move(n));
}

Actions SupervisorState::on_member_down(const Term& member) {
  Actions actions;
  Collect c(out_, actions);
  if (!monitored_.erase(member)) return actions;
  mark_dead(member);
  set_own_node_status();
  return actions;
}

// ---- CRDT updates --------------------------------------------------------------

Actions SupervisorState::on_crdt_update(const std::vector<CrdtDiff>& diffs) {
  Actions actions;
  Collect c(out_, actions);
  bool membership_changed = false;
  for (const CrdtDiff& d : diffs) {
    update_member(d);
    if (is_membership_key(d.key)) membership_changed = true;
  }
  for (const CrdtDiff& d : diffs) update_process(d);
  if (membership_changed) {
    monitor_supervisors();
    set_own_node_status();
    handle_quorum_change();
    set_crdt_neighbours();
    handoff_processes();
  }
  return actions;
}

void SupervisorState::update_member(const CrdtDiff& diff) {
  const Term* key = &diff.key;
  if (!key->is_tuple(2)) return;
  const Term& member = *key->element(1);
  const bool add = diff.is_add();
  if (key->element(0)->is_atom("member")) {
    if (add) {
      if (!(diff.value == Term(1))) return;
      members_.try_emplace(member, 1);
      members_info_.try_emplace(member, Member{member, MemberStatus::uninitialized, std::nullopt});
    } else {
      members_.erase(member);
    }
  } else if (key->element(0)->is_atom("member_node_info")) {
    if (add) {
      if (auto info = Member::from_term(diff.value)) members_info_[member] = *info;
    } else {
      members_info_.erase(member);
    }
  }
}

void SupervisorState::update_process(const CrdtDiff& diff) {
  const Term* key = &diff.key;
  if (!key->is_tuple(2) || !key->element(0)->is_atom("process")) return;
  const Term& id = *key->element(1);
  if (diff.is_add()) {
    const Term& value = diff.value;
    if (value.is_tuple(2) && value.element(0)->is_atom("nil")) {
      // Released by its owner ({nil, Spec}): take it when it belongs here.
      std::vector<Member> storage;
      auto choice = choose_node(*value.element(1), storage);
      if (choice.ok() && choice.member->name == self_) add_child(*value.element(1));
      return;
    }
    if (!value.is_tuple(3)) return;
    if (auto it = processes_by_id_.find(id); it != processes_by_id_.end()) process_pid_to_id_.erase(it->second.pid);
    process_pid_to_id_[*value.element(2)] = id;
    processes_by_id_[id] = ChildEntry{*value.element(0), *value.element(1), *value.element(2)};
  } else {
    auto it = processes_by_id_.find(id);
    if (it == processes_by_id_.end()) return;
    process_pid_to_id_.erase(it->second.pid);
    processes_by_id_.erase(it);
  }
}

void SupervisorState::handoff_processes() {
  // Snapshot: add_child/handoff modify the table while we walk it.
  std::vector<std::pair<Term, ChildEntry>> all(processes_by_id_.begin(), processes_by_id_.end());
  for (const auto& [id, entry] : all) {
    std::vector<Member> storage;
    auto choice = choose_node(entry.spec, storage);
    if (!choice.ok()) continue;
    const Term& chosen = choice.member->name;
    if (entry.owner == chosen) continue;
    if (entry.owner == self_) {
      if (config_.active_redistribution) handoff_child(id);
      continue;
    }
    if (chosen == self_) {
      const Member* current = member_info(entry.owner);
      if (current != nullptr && current->status == MemberStatus::dead) {
        crdt_delete(key_process(id));
        // Horde sees the {remove, {process, Id}} diff before its next message
        // (DeltaCrdt sends it during the delete call); apply it now so a
        // second membership change cannot restart the child twice.
        process_pid_to_id_.erase(entry.pid);
        processes_by_id_.erase(id);
        add_child(randomize_child_id(entry.spec, config_.random));
      }
    }
  }
}

void SupervisorState::handoff_child(const Term& id) {
  auto it = processes_by_id_.find(id);
  if (it == processes_by_id_.end()) return;
  out_->push_back(SignalChild{it->second.pid, tuple(atom("shutdown"), atom("process_redistribution"))});
  --local_process_count_;
}

// ---- children ----------------------------------------------------------------------

void SupervisorState::add_child(const Term& spec, const Term& from) { out_->push_back(StartChild{spec, from}); }

Actions SupervisorState::on_child_started(const Term& spec, const Term& result, const Term& from) {
  Actions actions;
  Collect c(out_, actions);
  if ((result.is_tuple(2) || result.is_tuple(3)) && result.element(0)->is_atom("ok"))
    update_state_with_child(spec, *result.element(1));
  if (!from.is_nil()) reply(from, result);
  return actions;
}

Actions SupervisorState::adopt_local_child(const Term& spec, const Term& pid) {
  Actions actions;
  Collect c(out_, actions);
  const Term* id = spec_id(spec);
  if (id != nullptr && processes_by_id_.count(*id) == 0) update_state_with_child(spec, pid);
  return actions;
}

void SupervisorState::update_state_with_child(const Term& spec, const Term& pid) {
  const Term* id = spec_id(spec);
  if (id == nullptr) return;
  crdt_put(key_process(*id), tuple(self_, spec, pid));
  processes_by_id_[*id] = ChildEntry{self_, spec, pid};
  process_pid_to_id_[pid] = *id;
  ++local_process_count_;
}

void SupervisorState::set_child_pid(const Term& id, const Term& pid) {
  auto it = processes_by_id_.find(id);
  if (it == processes_by_id_.end()) return;
  const Term* sid = spec_id(it->second.spec);
  crdt_put(key_process(sid ? *sid : id), tuple(self_, it->second.spec, pid));
  process_pid_to_id_.erase(it->second.pid);
  process_pid_to_id_[pid] = id;
  it->second.pid = pid;
}

void SupervisorState::terminate_local_child(const ChildEntry& entry, const Term& id, const Term& from) {
  const Term* sid = spec_id(entry.spec);
  const Term child_id = sid ? *sid : id;
  processes_by_id_.erase(child_id);
  --local_process_count_;
  crdt_delete(key_process(child_id));
  // Stopped after the delete: the result is the reply (Horde replies after
  // the delete too; the stop itself touches no state here).
  out_->push_back(TerminateChild{child_id, from});
}

// ---- calls -------------------------------------------------------------------------

Actions SupervisorState::handle_call(const Term& request, const Term& from) {
  return dispatch_call(request, from, CallContext{false, config_.proxy_message_ttl});
}

Actions SupervisorState::handle_proxy_operation(const Term& request, const Term& from, std::optional<std::int64_t> ttl) {
  // decrement_ttl/1
  if (ttl) ttl = *ttl - 1;
  return dispatch_call(request, from, CallContext{true, ttl});
}

Actions SupervisorState::dispatch_call(const Term& request, const Term& from, CallContext ctx) {
  Actions actions;
  Collect c(out_, actions);
  if (request.is_atom("horde_shutting_down")) {
    shutting_down_ = true;
    set_own_node_status();
    reply(from, Term(atom("ok")));
  } else if (request.is_atom("get_telemetry")) {
    reply(from, Term::map({{Term(atom("global_supervised_process_count")), Term(static_cast<std::int64_t>(processes_by_id_.size()))},
                           {Term(atom("local_supervised_process_count")), Term(local_process_count_)}}));
  } else if (request.is_atom("wait_for_quorum")) {
    if (config_.strategy->has_quorum(members())) reply(from, Term(atom("ok")));
    else waiting_for_quorum_.push_back(from);
  } else if (request.is_tuple(2) && request.element(0)->is_atom("set_members") && request.element(1)->is_proper_list()) {
    const auto l = request.element(1)->list_elements();
    auto more = set_members(std::vector<Term>(l.begin(), l.end()));
    actions.insert(actions.end(), more.begin(), more.end());
    reply(from, Term(atom("ok")));
  } else if (request.is_atom("members")) {
    reply(from, Term::list(member_names()));
  } else if (request.is_tuple(2) && request.element(0)->is_atom("terminate_child")) {
    call_terminate_child(request, *request.element(1), from, ctx);
  } else if (request.is_tuple(2) && request.element(0)->is_atom("start_child")) {
    call_start_child(request, *request.element(1), from, ctx);
  } else if (request.is_atom("which_children") || request.is_atom("count_children")) {
    CollectChildren cc{request.is_atom("which_children") ? CollectChildren::Kind::which : CollectChildren::Kind::count,
                       from, {}};
    for (const Member& m : members()) cc.supervisors.push_back(tuple(processes_supervisor_name_, *m.name.element(1)));
    out_->push_back(std::move(cc));
  } else {
    reply(from, tuple(atom("error"), tuple(atom("bad_request"), request)));
  }
  return actions;
}

void SupervisorState::call_start_child(const Term& request, const Term& spec, const Term& from, CallContext ctx) {
  if (shutting_down_) {
    reply(from, tuple(atom("error"), tuple(atom("shutting_down"), binary("this node is shutting down."))));
    return;
  }
  if (!spec.is_map()) {
    reply(from, tuple(atom("error"), tuple(atom("invalid_child_spec"), spec)));
    return;
  }
  const bool ttl_expired = ctx.ttl && *ctx.ttl == 0;
  const Term child_spec = randomize_child_id(spec, config_.random);
  std::vector<Member> storage;
  auto choice = choose_node(child_spec, storage);
  if (!choice.ok()) {
    reply(from, tuple(atom("error"), choice.error));
    return;
  }
  if (choice.member->name == self_ || ttl_expired) {
    add_child(child_spec, from);
    return;
  }
  proxy_to_node(choice.member->name, request, from, ctx);
}

void SupervisorState::call_terminate_child(const Term& request, const Term& pid, const Term& from, CallContext ctx) {
  auto id = child_id_of_pid(pid);
  if (!id) {
    reply(from, tuple(atom("error"), atom("not_found")));
    return;
  }
  auto it = processes_by_id_.find(*id);
  if (it == processes_by_id_.end()) {
    reply(from, tuple(atom("error"), atom("not_found")));
    return;
  }
  if (it->second.owner == self_) {
    const ChildEntry entry = it->second;
    terminate_local_child(entry, *id, from);
    return;
  }
  proxy_to_node(it->second.owner, request, from, ctx);
}

void SupervisorState::proxy_to_node(const Term& owner, const Term& request, const Term& from, CallContext ctx) {
  if (ctx.proxied && ctx.ttl && *ctx.ttl == 0) {
    const std::string type(request.element(0) && request.element(0)->is_atom() ? request.element(0)->as_atom()->text() : "");
    reply(from, tuple(atom("error"), atom("proxy_operation_ttl_expired"),
                      binary("a proxied " + type + " message was discard because its TTL expired")));
    return;
  }
  const Member* m = members_.count(owner) ? member_info(owner) : nullptr;
  if (m == nullptr || !m->is_alive()) {
    reply(from, tuple(atom("error"),
                      tuple(atom("node_dead_or_shutting_down"),
                            binary("the node responsible for this process is shutting down or dead, try again soon"))));
    return;
  }
  Term message = ctx.ttl ? tuple(atom("proxy_operation"), request, from, Term(*ctx.ttl))
                         : tuple(atom("proxy_operation"), request, from);
  out_->push_back(Send{owner, std::move(message)});
}

// ---- info and casts ----------------------------------------------------------------

Actions SupervisorState::handle_info(const Term& message) {
  if (message.is_tuple(3) && message.element(0)->is_atom("proxy_operation"))
    return handle_proxy_operation(*message.element(1), *message.element(2), std::nullopt);
  if (message.is_tuple(4) && message.element(0)->is_atom("proxy_operation")) {
    const Term& ttl = *message.element(3);
    std::optional<std::int64_t> t;
    if (auto n = ttl.as_int()) t = *n;
    return handle_proxy_operation(*message.element(1), *message.element(2), t);
  }
  if (message.is_tuple(2) && message.element(0)->is_atom("set_members") && message.element(1)->is_proper_list()) {
    const auto l = message.element(1)->list_elements();
    return set_members(std::vector<Term>(l.begin(), l.end()));
  }
  if (message.is_tuple(2) && message.element(0)->is_atom("crdt_update") && message.element(1)->is_proper_list()) {
    // The BEAM-shaped notification (e.g. from a test); entries of another
    // shape are skipped, as the registry does.
    std::vector<CrdtDiff> diffs;
    for (const Term& d : message.element(1)->list_elements())
      if (auto parsed = parse_crdt_diff(d)) diffs.push_back(std::move(*parsed));
    return on_crdt_update(diffs);
  }
  return {};
}

Actions SupervisorState::handle_cast(const Term& request) {
  Actions actions;
  Collect c(out_, actions);
  if (request.is_tuple(3) && request.element(0)->is_atom("update_child_pid")) {
    set_child_pid(*request.element(1), *request.element(2));
  } else if (request.is_tuple(2) && request.element(0)->is_atom("relinquish_child_process")) {
    auto it = processes_by_id_.find(*request.element(1));
    if (it != processes_by_id_.end()) {
      const Term* sid = spec_id(it->second.spec);
      crdt_put(key_process(sid ? *sid : it->first), tuple(atom("nil"), it->second.spec));
    }
  } else if (request.is_tuple(2) && request.element(0)->is_atom("disown_child_process")) {
    auto it = processes_by_id_.find(*request.element(1));
    if (it != processes_by_id_.end()) {
      crdt_delete(key_process(it->first));
      process_pid_to_id_.erase(it->second.pid);
      processes_by_id_.erase(it);
      --local_process_count_;
    }
  }
  return actions;
}

}  // namespace hc::horde::sup
