#include "horde/registry_state.hpp"

#include <algorithm>
#include <cstring>

#include "crdt/packed_term.hpp"

namespace hc::horde {

bool CrdtOp::removes(const Term* current) const {
  if (kind != Kind::Remove || current == nullptr) return false;
  if (!if_pid) return true;
  auto kv = KeyValue::from_term(*current);
  return !kv || kv->pid == *if_pid;
}

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

RegistryActions RegistryState::handle_bad_call(const Term& request, const Error& error, Term& reply) {
  reply = tuple(atom("error"), tuple(atom("bad_request"), request));
  RegistryActions out;
  out.emplace_back(ProblemAction{"bad call: " + error.what, request});
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
            if (!next.contains(m)) {
              drop.ops.push_back(remove_op(CrdtKey::member_key(m)));
              out.emplace_back(MembershipNoteAction{"set_members removes member " + to_string(m.to_term())});
            }
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
    out.emplace_back(ProblemAction{"CRDT diff with a foreign key: " + key.what(), diff.to_term()});
    return;
  }
  switch (key->kind) {
    case CrdtKey::Kind::Member:
      if (!diff.is_add()) {
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
      if (!diff.is_add()) {
        unregister_local(key->inner, out);
        return;
      }
      if (auto kv = KeyValue::from_term(diff.value)) {
        diff_add_key(key->inner, *kv, out);
      } else {
        out.emplace_back(ProblemAction{"CRDT " + kv.what(), diff.to_term()});
      }
      return;
    case CrdtKey::Kind::Meta:
      if (diff.is_add()) {
        meta_[key->inner] = diff.value;
      } else {
        meta_.erase(key->inner);
      }
      return;
  }
}

void RegistryState::diff_add_key(const Term& name, const KeyValue& kv, RegistryActions& out) {
  if (kv.pid.node == config_.node) out.emplace_back(LinkAction{kv.pid});
  if (auto current = find(name); current && !(current->pid == kv.pid)) {
    // A conflict: the CRDT picked another pid for this name. The local
    // view's holder loses and is told so (whichever node it lives on).
    unregister_local(name, current->pid, out);
    out.emplace_back(
        ExitAction{current->pid, NameConflict{name, current->value, config_.name, kv.pid}.to_term()});
  }
  put_key(name, kv.pid, kv.value, intern(kv.member));
  notify(ListenerEvent{ListenerEvent::Kind::Register, config_.name, name, kv.pid, kv.value}, out);
}

void RegistryState::diff_remove_member(const RegistryMember& member, RegistryActions& out) {
  members_table_.erase(member);
  refresh_in_table();
  std::vector<std::pair<Term, Pid>> removed;
  for (std::uint32_t i = 0; i < entries_.size(); ++i)
    if (const Entry& e = entries_[i]; e.live && interned_[e.member] == member)
      removed.emplace_back(name_of(e), expand(e.pid));
  out.emplace_back(MembershipNoteAction{"member " + to_string(member.to_term()) + " is gone; dropping its " +
                                        std::to_string(removed.size()) + " name(s) cluster-wide, as RegistryImpl does"});
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
  auto cp = compact_existing(pid);
  if (!cp) return out;
  const std::uint32_t rec = find_pid(*cp);
  if (rec == kNil) return out;
  std::vector<std::uint32_t> idxs;
  for (std::uint32_t i = pids_[rec].head; i != kNil; i = entries_[i].next) idxs.push_back(i);
  std::vector<Term> names;
  names.reserve(idxs.size());
  for (std::uint32_t i : idxs) names.push_back(name_of(entries_[i]));
  CrdtOpsAction drop;
  for (const auto& name : names) {
    drop.ops.push_back(remove_op(CrdtKey::name_key(name)));
    drop.ops.back().if_pid = pid;
  }
  out.emplace_back(std::move(drop));
  for (std::size_t k = 0; k < idxs.size(); ++k) {
    erase_entry(idxs[k]);
    notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, names[k], pid, Term()}, out);
  }
  return out;
}

// ---- local views ----------------------------------------------------------------

template <typename Eq>
std::uint32_t RegistryState::Index::find(std::uint32_t hash, Eq&& eq) const {
  if (slots_.empty()) return kNil;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t s = slots_[i];
    if (s == 0) return kNil;
    if (eq(s - 1)) return s - 1;
  }
}

template <typename HashOf>
void RegistryState::Index::insert(std::uint32_t hash, std::uint32_t idx, std::size_t size_after,
                                  HashOf&& hash_of) {
  if (size_after * 4 > slots_.size() * 3) {
    // Grow to keep the load at most 3/4 (linear probing stays short).
    std::size_t cap = slots_.empty() ? 16 : slots_.size() * 2;
    while (size_after * 4 > cap * 3) cap *= 2;
    std::vector<std::uint32_t> old = std::move(slots_);
    slots_.assign(cap, 0);
    for (std::uint32_t s : old)
      if (s != 0) {
        std::size_t i = hash_of(s - 1) & (cap - 1);
        while (slots_[i] != 0) i = (i + 1) & (cap - 1);
        slots_[i] = s;
      }
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = idx + 1;
}

template <typename HashOf>
void RegistryState::Index::erase(std::uint32_t hash, std::uint32_t idx, HashOf&& hash_of) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t pos = hash & mask;
  while (slots_[pos] != idx + 1) pos = (pos + 1) & mask;
  // Backward-shift deletion: move later members of the probe run into the
  // hole when their home slot allows it.
  std::size_t j = pos;
  for (;;) {
    j = (j + 1) & mask;
    if (slots_[j] == 0) break;
    const std::size_t home = hash_of(slots_[j] - 1) & mask;
    const bool movable = (j > pos) ? (home <= pos || home > j) : (home <= pos && home > j);
    if (movable) {
      slots_[pos] = slots_[j];
      pos = j;
    }
  }
  slots_[pos] = 0;
}

std::uint32_t RegistryState::pid_hash(const CompactPid& p) noexcept {
  std::uint64_t h = (std::uint64_t{p.node} << 32 | p.id) * 0x9E3779B97F4A7C15ULL;
  h ^= (std::uint64_t{p.serial} << 32 | p.creation) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::optional<RegistryState::CompactPid> RegistryState::compact_existing(const Pid& pid) const {
  for (std::uint32_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] == pid.node) return CompactPid{i, pid.id, pid.serial, pid.creation};
  return std::nullopt;
}

RegistryState::CompactPid RegistryState::compact(const Pid& pid, bool add) {
  if (auto c = compact_existing(pid)) return *c;
  if (!add) return CompactPid{};
  nodes_.push_back(pid.node);
  return CompactPid{static_cast<std::uint32_t>(nodes_.size() - 1), pid.id, pid.serial, pid.creation};
}

Term RegistryState::name_of(const Entry& e) const { return crdt::unpack_term_all(e.name()); }
Term RegistryState::value_of(const Entry& e) const { return crdt::unpack_term_all(e.value()); }

void RegistryState::set_bytes(Entry& e, std::string_view name, std::string_view value) {
  const auto size = static_cast<std::uint32_t>(name.size() + value.size());
  if (size == e.size && e.name_size == name.size() && e.name() == name) {
    // Same name, same value size (an update of the value): rewrite in place.
    std::memcpy(e.data() + name.size(), value.data(), value.size());
    return;
  }
  clear_bytes(e);
  char* p = e.bytes.inline_bytes;
  if (size > kInline) p = e.bytes.spilled = static_cast<char*>(spill_.allocate(size));
  std::memcpy(p, name.data(), name.size());
  std::memcpy(p + name.size(), value.data(), value.size());
  e.size = size;
  e.name_size = static_cast<std::uint32_t>(name.size());
}

void RegistryState::clear_bytes(Entry& e) noexcept {
  if (e.size > kInline) spill_.deallocate(e.bytes.spilled, e.size);
  e.size = e.name_size = 0;
}

std::uint32_t RegistryState::find_entry(const Term& name, std::string& scratch, std::uint32_t& hash) const {
  scratch.clear();
  crdt::pack_term(name, scratch);
  hash = static_cast<std::uint32_t>(crdt::packed_hash(scratch));
  return key_index_.find(hash, [&](std::uint32_t i) {
    const Entry& e = entries_[i];
    return e.hash == hash && e.name() == scratch;
  });
}

std::uint32_t RegistryState::find_pid(const CompactPid& p) const {
  return pid_index_.find(pid_hash(p), [&](std::uint32_t i) { return pids_[i].pid == p; });
}

void RegistryState::unregister_local(const Term& name, RegistryActions& out) {
  std::string scratch;
  std::uint32_t hash = 0;
  const std::uint32_t idx = find_entry(name, scratch, hash);
  if (idx == kNil) return;
  const Pid pid = expand(entries_[idx].pid);
  erase_entry(idx);
  notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, name, pid, Term()}, out);
}

void RegistryState::unregister_local(const Term& name, const Pid& pid, RegistryActions& out) {
  // RegistryImpl notifies the listeners even when `pid` did not hold `name`.
  std::string scratch;
  std::uint32_t hash = 0;
  const std::uint32_t idx = find_entry(name, scratch, hash);
  if (idx != kNil && expand(entries_[idx].pid) == pid) erase_entry(idx);
  notify(ListenerEvent{ListenerEvent::Kind::Unregister, config_.name, name, pid, Term()}, out);
}

void RegistryState::put_key(const Term& name, const Pid& pid, const Term& value, std::uint32_t member) {
  thread_local std::string packed, packed_value;
  std::uint32_t hash = 0;
  std::uint32_t idx = find_entry(name, packed, hash);
  const CompactPid cp = compact(pid, true);
  packed_value.clear();
  crdt::pack_term(value, packed_value);
  if (idx == kNil) {
    if (!free_entries_.empty()) {
      idx = free_entries_.back();
      free_entries_.pop_back();
    } else {
      idx = entries_.emplace_back();
    }
    Entry& e = entries_[idx];
    e.hash = hash;
    e.live = 1;
    e.pid = cp;
    ++live_;
    key_index_.insert(hash, idx, live_, [this](std::uint32_t i) { return entries_[i].hash; });
  } else if (!(entries_[idx].pid == cp)) {
    if (entries_[idx].indexed) index_unlink(idx);
    entries_[idx].pid = cp;
  }
  Entry& e = entries_[idx];
  set_bytes(e, packed, packed_value);
  e.member = member;
  if (!e.indexed && is_indexed(pid)) index_link(idx);
}

void RegistryState::erase_entry(std::uint32_t idx) {
  Entry& e = entries_[idx];
  if (e.indexed) index_unlink(idx);
  key_index_.erase(e.hash, idx, [this](std::uint32_t i) { return entries_[i].hash; });
  clear_bytes(e);
  e.live = 0;
  --live_;
  free_entries_.push_back(idx);
}

void RegistryState::index_link(std::uint32_t idx) {
  Entry& e = entries_[idx];
  std::uint32_t rec = find_pid(e.pid);
  if (rec == kNil) {
    if (!free_pids_.empty()) {
      rec = free_pids_.back();
      free_pids_.pop_back();
    } else {
      rec = pids_.emplace_back();
    }
    PidRecord& r = pids_[rec];
    r.pid = e.pid;
    r.hash = pid_hash(e.pid);
    r.head = kNil;
    r.live = true;
    ++live_pids_;
    pid_index_.insert(r.hash, rec, live_pids_, [this](std::uint32_t i) { return pids_[i].hash; });
  }
  PidRecord& r = pids_[rec];
  e.prev = kNil;
  e.next = r.head;
  if (r.head != kNil) entries_[r.head].prev = idx;
  r.head = idx;
  e.indexed = 1;
}

void RegistryState::index_unlink(std::uint32_t idx) {
  Entry& e = entries_[idx];
  if (e.prev != kNil) {
    entries_[e.prev].next = e.next;
  } else {
    const std::uint32_t rec = find_pid(e.pid);
    if (rec != kNil) {
      PidRecord& r = pids_[rec];
      r.head = e.next;
      if (r.head == kNil) {
        // Last key of the pid: its pids-table row goes (as in Horde).
        pid_index_.erase(r.hash, rec, [this](std::uint32_t i) { return pids_[i].hash; });
        r.live = false;
        --live_pids_;
        free_pids_.push_back(rec);
      }
    }
  }
  if (e.next != kNil) entries_[e.next].prev = e.prev;
  e.prev = e.next = kNil;
  e.indexed = 0;
}

// ---- queries -------------------------------------------------------------------

std::optional<RegistryEntry> RegistryState::find(const Term& name) const {
  thread_local std::string scratch;
  std::uint32_t hash = 0;
  const std::uint32_t idx = find_entry(name, scratch, hash);
  if (idx == kNil) return std::nullopt;
  return entry_of(entries_[idx]);
}

std::optional<Term> RegistryState::meta(const Term& key) const {
  auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

std::vector<Term> RegistryState::keys_of(const Pid& pid) const {
  std::vector<Term> out;
  auto cp = compact_existing(pid);
  if (!cp) return out;
  if (is_indexed(pid)) {
    const std::uint32_t rec = find_pid(*cp);
    if (rec == kNil) return out;
    for (std::uint32_t i = pids_[rec].head; i != kNil; i = entries_[i].next) out.push_back(name_of(entries_[i]));
    return out;
  }
  for (std::uint32_t i = 0; i < entries_.size(); ++i)
    if (const Entry& e = entries_[i]; e.live && e.pid == *cp) out.push_back(name_of(e));
  return out;
}

std::vector<RegistryMember> RegistryState::members() const { return {members_.begin(), members_.end()}; }

bool RegistryState::member_in_cluster(const RegistryMember& member) const {
  return members_table_.contains(member);
}

std::size_t RegistryState::memory_bytes() const noexcept {
  std::size_t bytes = entries_.bytes() + key_index_.bytes() + spill_.bytes_reserved();
  bytes += free_entries_.capacity() * sizeof(std::uint32_t);
  bytes += pids_.bytes() + pid_index_.bytes() + free_pids_.capacity() * sizeof(std::uint32_t);
  bytes += meta_.size() * (2 * sizeof(Term) + 2 * sizeof(void*) + 16);
  return bytes;
}

}  // namespace hc::horde
