#include "interop/horde/registry_state.hpp"

#include <algorithm>

namespace hc::horde {
namespace {

const Atom& a_ok() { static const Atom a("ok"); return a; }

CrdtOp add_op(Term key, Term value) { return CrdtOp{CrdtOp::Kind::Add, std::move(key), std::move(value)}; }
CrdtOp remove_op(Term key) { return CrdtOp{CrdtOp::Kind::Remove, std::move(key), Term()}; }

}  // namespace

RegistryState::RegistryState(Config config)
    : config_(std::move(config)), self_member_{config_.name, config_.node} {
  self_member_index_ = intern(self_member_);
}

std::uint32_t RegistryState::intern(const RegistryMember& m) {
  // Few members ever exist; a linear scan beats a hash of two atoms.
  for (std::uint32_t i = 0; i < interned_.size(); ++i)
    if (interned_[i] == m) return i;
  interned_.push_back(m);
  interned_in_table_.push_back(members_table_.contains(m) ? 1 : 0);
  return static_cast<std::uint32_t>(interned_.size() - 1);
}

void RegistryState::refresh_in_table() {
  for (std::size_t i = 0; i < interned_.size(); ++i)
    interned_in_table_[i] = members_table_.contains(interned_[i]) ? 1 : 0;
}

void RegistryState::set_neighbours(RegistryActions& out) const {
  SetNeighboursAction a;
  for (const auto& m : members_)
    if (m != self_member_) a.neighbours.push_back(m.crdt_neighbour());
  out.emplace_back(std::move(a));
}

void RegistryState::notify(ListenerEvent event, RegistryActions& out) const {
  out.emplace_back(NotifyAction{std::move(event)});
}

bool RegistryState::is_indexed(const Pid& pid) const {
  return pid.node == config_.node || linked_remote_.contains(pid);
}

// ---- events ------------------------------------------------------------------

RegistryActions RegistryState::init(const std::vector<MemberSpec>& specs) {
  // Horde.Registry.init/1 puts the registry itself first when absent; then
  // RegistryImpl.set_initial_members/2 merges the members into the CRDT and
  // the members table, and tells the CRDT its neighbours. State.members
  // stays empty: it fills from the CRDT diffs the merge causes.
  std::set<RegistryMember> members{self_member_};
  for (const auto& spec : specs) members.insert(spec.qualify(config_.node));

  RegistryActions out;
  CrdtOpsAction merge;
  for (const auto& m : members) {
    merge.ops.push_back(add_op(CrdtKey::member_key(m), Term(1)));
    members_table_.insert(m);
  }
  refresh_in_table();
  out.emplace_back(std::move(merge));
  SetNeighboursAction n;
  for (const auto& m : members)
    if (m != self_member_) n.neighbours.push_back(m.crdt_neighbour());
  out.emplace_back(std::move(n));
  return out;
}

RegistryActions RegistryState::handle_bad_call(const ShapeError& error, Term& reply) {
  reply = tuple(atom("error"), tuple(atom("bad_request"), error.offending));
  RegistryActions out;
  out.emplace_back(ProblemAction{"bad call: " + error.what, error.offending});
  return out;
}

RegistryActions RegistryState::handle_call(const RegistryCall& call, Term& reply) {
  RegistryActions out;
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, MembersCall>) {
          TermVector list;
          for (const auto& m : members_) list.push_back(m.to_term());
          reply = Term::list(std::move(list));
        } else if constexpr (std::is_same_v<C, SetMembersCall>) {
          std::set<RegistryMember> next;
          for (const auto& spec : c.members) next.insert(spec.qualify(config_.node));
          CrdtOpsAction drop, merge;
          for (const auto& m : members_)
            if (!next.contains(m)) drop.ops.push_back(remove_op(CrdtKey::member_key(m)));
          for (const auto& m : next)
            if (!members_.contains(m)) merge.ops.push_back(add_op(CrdtKey::member_key(m), Term(1)));
          if (!drop.ops.empty()) out.emplace_back(std::move(drop));
          if (!merge.ops.empty()) out.emplace_back(std::move(merge));
          members_ = std::move(next);
          set_neighbours(out);
          reply = Term(a_ok());
        } else if constexpr (std::is_same_v<C, RegisterCall>) {
          out.emplace_back(LinkAction{c.pid});
          if (c.pid.node != config_.node) linked_remote_.insert(c.pid);
          out.emplace_back(CrdtOpsAction{{add_op(CrdtKey::name_key(c.key),
                                                 KeyValue{self_member_, c.pid, c.value}.to_term())}});
          reply = tuple(a_ok(), config_.self);
        } else if constexpr (std::is_same_v<C, UpdateValueCall>) {
          out.emplace_back(CrdtOpsAction{{add_op(CrdtKey::name_key(c.key),
                                                 KeyValue{self_member_, c.pid, c.value}.to_term())}});
          put_key(c.key, c.pid, c.value, self_member_index_);
          reply = Term(a_ok());
        } else if constexpr (std::is_same_v<C, UnregisterCall>) {
          // Like RegistryImpl: the CRDT key goes whoever owns it; the local
          // view only drops it when `pid` owns it.
          out.emplace_back(CrdtOpsAction{{remove_op(CrdtKey::name_key(c.key))}});
          unregister_local(c.key, c.pid, out);
          reply = Term(a_ok());
        } else if constexpr (std::is_same_v<C, PutMetaCall>) {
          out.emplace_back(CrdtOpsAction{{add_op(CrdtKey::meta_key(c.key), c.value)}});
          meta_[c.key] = c.value;
          reply = Term(a_ok());
        } else if constexpr (std::is_same_v<C, DeleteMetaCall>) {
          out.emplace_back(CrdtOpsAction{{remove_op(CrdtKey::meta_key(c.key))}});
          meta_.erase(c.key);
          reply = Term(a_ok());
        }
      },
      call);
  return out;
}

RegistryActions RegistryState::on_crdt_diffs(std::span<const CrdtDiff> diffs) {
  RegistryActions out;
  for (const auto& d : diffs) process_diff(d, out);
  return out;
}

void RegistryState::process_diff(const CrdtDiff& diff, RegistryActions& out) {
  auto key = CrdtKey::from_term(diff.key);
  if (!key) {
    out.emplace_back(ProblemAction{"CRDT diff with a foreign key: " + key.error().what, diff.to_term()});
    return;
  }
  switch (key->kind) {
    case CrdtKey::Kind::Member:
      if (!diff.add) {
        diff_remove_member(key->member, out);
      } else if (diff.value == Term(1)) {
        members_.insert(key->member);
        members_table_.insert(key->member);
        refresh_in_table();
        set_neighbours(out);
      } else {
        out.emplace_back(ProblemAction{"CRDT {member, _} value is not 1", diff.to_term()});
      }
      return;
    case CrdtKey::Kind::Name:
      if (!diff.add) {
        unregister_local(key->inner, out);
        return;
      }
      if (auto kv = KeyValue::from_term(diff.value)) {
        diff_add_key(key->inner, *kv, out);
      } else {
        out.emplace_back(ProblemAction{"CRDT " + kv.error().what, diff.to_term()});
      }
      return;
    case CrdtKey::Kind::Meta:
      if (diff.add) {
        meta_[key->inner] = diff.value;
      } else {
        meta_.erase(key->inner);
      }
      return;
  }
}

void RegistryState::diff_add_key(const Term& name, const KeyValue& kv, RegistryActions& out) {
  if (kv.pid.node == config_.node) out.emplace_back(LinkAction{kv.pid});
  auto it = keys_.find(name);
  if (it != keys_.end() && !(it->second.pid == kv.pid)) {
    // A conflict: the CRDT picked another pid for this name. The local
    // view's holder loses and is told so (whichever node it lives on).
    const Pid loser = it->second.pid;
    const Term loser_value = it->second.value;
    unregister_local(name, loser, out);
    out.emplace_back(ExitAction{loser, NameConflict{name, loser_value, config_.name, kv.pid}.to_term()});
  }
  put_key(name, kv.pid, kv.value, intern(kv.member));
  notify(ListenerEvent{ListenerEvent::Kind::Register, config_.name, name, kv.pid, kv.value}, out);
}

void RegistryState::diff_remove_member(const RegistryMember& member, RegistryActions& out) {
  members_table_.erase(member);
  refresh_in_table();
  std::vector<std::pair<Term, Pid>> removed;
  for (const auto& [name, slot] : keys_)
    if (interned_[slot.member] == member) removed.emplace_back(name, slot.pid);
  if (!removed.empty()) {
    CrdtOpsAction drop;
    for (const auto& r : removed) drop.ops.push_back(remove_op(CrdtKey::name_key(r.first)));
    out.emplace_back(std::move(drop));
  }
  for (const auto& [name, pid] : removed) unregister_local(name, pid, out);
  members_.erase(member);
  // RegistryImpl leaves the neighbours alone here; we follow membership both
  // ways so that a removed member's CRDT is no longer synced with.
  set_neighbours(out);
}

RegistryActions RegistryState::on_exit(const Pid& pid) {
  RegistryActions out;
  linked_remote_.erase(pid);
  auto head = pid_heads_.find(pid);
  if (head == pid_heads_.end()) return out;
  std::vector<Term> names;
  for (Node* n = head->second; n != nullptr; n = n->second.next) names.push_back(n->first);
  CrdtOpsAction drop;
  for (const auto& name : names) drop.ops.push_back(remove_op(CrdtKey::name_key(name)));
  out.emplace_back(std::move(drop));
  for (const auto& name : names) {
    auto it = keys_.find(name);
    if (it != keys_.end()) erase_key(it);
    notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, name, pid, Term()}, out);
  }
  pid_heads_.erase(pid);
  return out;
}

// ---- local views ----------------------------------------------------------------

void RegistryState::unregister_local(const Term& name, RegistryActions& out) {
  auto it = keys_.find(name);
  if (it == keys_.end()) return;
  const Pid pid = it->second.pid;
  erase_key(it);
  notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, name, pid, Term()}, out);
}

void RegistryState::unregister_local(const Term& name, const Pid& pid, RegistryActions& out) {
  // RegistryImpl notifies the listeners even when `pid` did not hold `name`.
  auto it = keys_.find(name);
  if (it != keys_.end() && it->second.pid == pid) erase_key(it);
  notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, name, pid, Term()}, out);
}

void RegistryState::put_key(const Term& name, const Pid& pid, const Term& value, std::uint32_t member) {
  auto [it, inserted] = keys_.try_emplace(name);
  Slot& s = it->second;
  if (!inserted && !(s.pid == pid) && s.indexed) index_unlink(*it);
  const bool relink = inserted || !(s.pid == pid);
  s.pid = pid;
  s.value = value;
  s.member = member;
  if (relink && is_indexed(pid)) index_link(*it);
}

void RegistryState::erase_key(KeyMap::iterator it) {
  if (it->second.indexed) index_unlink(*it);
  keys_.erase(it);
}

void RegistryState::index_link(Node& node) {
  Slot& s = node.second;
  Node*& head = pid_heads_[s.pid];
  s.prev = nullptr;
  s.next = head;
  if (head != nullptr) head->second.prev = &node;
  head = &node;
  s.indexed = true;
}

void RegistryState::index_unlink(Node& node) {
  Slot& s = node.second;
  if (s.prev != nullptr) {
    s.prev->second.next = s.next;
  } else {
    auto h = pid_heads_.find(s.pid);
    if (h != pid_heads_.end()) {
      if (s.next != nullptr) {
        h->second = s.next;
      } else {
        pid_heads_.erase(h);
      }
    }
  }
  if (s.next != nullptr) s.next->second.prev = s.prev;
  s.prev = s.next = nullptr;
  s.indexed = false;
}

// ---- queries -------------------------------------------------------------------

std::optional<RegistryEntry> RegistryState::find(const Term& name) const {
  auto it = keys_.find(name);
  if (it == keys_.end()) return std::nullopt;
  return entry_of(it->second);
}

std::optional<Term> RegistryState::meta(const Term& key) const {
  auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

std::vector<Term> RegistryState::keys_of(const Pid& pid) const {
  std::vector<Term> out;
  if (is_indexed(pid)) {
    auto h = pid_heads_.find(pid);
    if (h == pid_heads_.end()) return out;
    for (const Node* n = h->second; n != nullptr; n = n->second.next) out.push_back(n->first);
    return out;
  }
  for (const auto& [name, slot] : keys_)
    if (slot.pid == pid) out.push_back(name);
  return out;
}

std::vector<RegistryMember> RegistryState::members() const { return {members_.begin(), members_.end()}; }

bool RegistryState::member_in_cluster(const RegistryMember& member) const {
  return members_table_.contains(member);
}

std::size_t RegistryState::memory_bytes() const noexcept {
  // Node: cached hash + next pointer + pair + allocator header.
  constexpr std::size_t node = sizeof(Node) + 2 * sizeof(void*) + 16;
  std::size_t bytes = keys_.size() * node + keys_.bucket_count() * sizeof(void*);
  bytes += pid_heads_.size() * (sizeof(std::pair<const Pid, Node*>) + 2 * sizeof(void*) + 16) +
           pid_heads_.bucket_count() * sizeof(void*);
  bytes += meta_.size() * (2 * sizeof(Term) + 2 * sizeof(void*) + 16);
  return bytes;
}

}  // namespace hc::horde
