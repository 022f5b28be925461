#include "horde/horde_messages.hpp"

#include <string>

#include "interop/error_condition.hpp"

namespace hc::horde {
namespace {

// The offending term is the caller's (it logs it or sends it back).
Error shape_error(std::string what, const Term&) { return Error(MessageErrc::bad_shape, std::move(what)); }

class MessageCategory final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.horde.message"; }
  std::string message(int ev) const override {
    if (static_cast<MessageErrc>(ev) == MessageErrc::bad_shape) return "malformed Horde message";
    return "unknown hc.horde.message error " + std::to_string(ev);
  }

 protected:
  ConditionGroups groups(int) const noexcept override { return {errc::protocol_violation}; }
};

const Atom& a_member() { static const Atom a("member"); return a; }
const Atom& a_key() { static const Atom a("key"); return a; }
const Atom& a_registry() { static const Atom a("registry"); return a; }
const Atom& a_register() { static const Atom a("register"); return a; }
const Atom& a_unregister() { static const Atom a("unregister"); return a; }

}  // namespace

const std::error_category& message_category() noexcept {
  static const MessageCategory category;
  return category;
}

std::error_code make_error_code(MessageErrc e) noexcept { return {static_cast<int>(e), message_category()}; }

Atom crdt_name(Atom name) {
  std::string text(name.text());
  text += ".Crdt";
  return Atom(text);
}

// ---- RegistryMember ----------------------------------------------------------

Term RegistryMember::to_term() const { return tuple(name, node); }

Term RegistryMember::crdt_neighbour() const { return tuple(crdt_name(name), node); }

Result<RegistryMember> RegistryMember::from_term(const Term& t) {
  if (!t.is_tuple(2)) return shape_error("member: expected {Name, Node}", t);
  const Atom* name = t.element(0)->as_atom();
  const Atom* node = t.element(1)->as_atom();
  if (name == nullptr) return shape_error("member: Name is not an atom", t);
  if (node == nullptr) return shape_error("member: Node is not an atom", t);
  return RegistryMember{*name, *node};
}

// ---- MemberSpec ----------------------------------------------------------------

Term MemberSpec::to_term() const {
  if (node) return tuple(name, *node);
  return Term(name);
}

Result<MemberSpec> MemberSpec::from_term(const Term& t) {
  if (const Atom* a = t.as_atom()) return MemberSpec{*a, std::nullopt};
  auto m = RegistryMember::from_term(t);
  if (!m) return shape_error("member spec: expected {Name, Node} or Name (atoms)", t);
  return MemberSpec{m->name, m->node};
}

// ---- KeyValue ----------------------------------------------------------------

Term KeyValue::to_term() const { return tuple(member.to_term(), pid, value); }

Result<KeyValue> KeyValue::from_term(const Term& t) {
  if (!t.is_tuple(3)) return shape_error("{key, _} value: expected {Member, Pid, Value}", t);
  auto m = RegistryMember::from_term(*t.element(0));
  if (!m) return shape_error("{key, _} value: " + m.what(), t);
  const Pid* pid = t.element(1)->as_pid();
  if (pid == nullptr) return shape_error("{key, _} value: second element is not a pid", t);
  return KeyValue{*m, *pid, *t.element(2)};
}

// ---- CrdtKey ---------------------------------------------------------------

Term CrdtKey::member_key(const RegistryMember& m) { return tuple(a_member(), m.to_term()); }
Term CrdtKey::name_key(const Term& name) { return tuple(a_key(), name); }
Term CrdtKey::meta_key(const Term& key) { return tuple(a_registry(), key); }

Term CrdtKey::to_term() const {
  switch (kind) {
    case Kind::Member: return tuple(a_member(), inner);
    case Kind::Name: return tuple(a_key(), inner);
    case Kind::Meta: return tuple(a_registry(), inner);
  }
  return Term();
}

Result<CrdtKey> CrdtKey::from_term(const Term& t) {
  if (!t.is_tuple(2) || !t.element(0)->is_atom())
    return shape_error("CRDT key: expected {member | key | registry, _}", t);
  const Atom& tag = *t.element(0)->as_atom();
  const Term& inner = *t.element(1);
  if (tag == a_key()) return CrdtKey{Kind::Name, inner, {}};
  if (tag == a_registry()) return CrdtKey{Kind::Meta, inner, {}};
  if (tag == a_member()) {
    auto m = RegistryMember::from_term(inner);
    if (!m) return shape_error("CRDT key {member, _}: " + m.what(), t);
    return CrdtKey{Kind::Member, inner, *m};
  }
  return shape_error("CRDT key: unknown tag", t);
}

// ---- CrdtDiff --------------------------------------------------------------

Result<CrdtDiff> parse_crdt_diff(const Term& t) {
  if (t.is_tuple(3) && t.element(0)->is_atom("add")) return CrdtDiff::added(*t.element(1), *t.element(2));
  if (t.is_tuple(2) && t.element(0)->is_atom("remove")) return CrdtDiff::removed(*t.element(1));
  return shape_error("CRDT diff: expected {add, Key, Value} or {remove, Key}", t);
}

// ---- calls -------------------------------------------------------------------

Term to_term(const RegistryCall& call) {
  struct V {
    Term operator()(const MembersCall&) const { return Term(atom("members")); }
    Term operator()(const SetMembersCall& c) const {
      TermVector members;
      members.reserve(c.members.size());
      for (const auto& m : c.members) members.push_back(m.to_term());
      return tuple(atom("set_members"), Term::list(std::move(members)));
    }
    Term operator()(const RegisterCall& c) const { return tuple(a_register(), c.key, c.value, c.pid); }
    Term operator()(const UnregisterCall& c) const { return tuple(a_unregister(), c.key, c.pid); }
    Term operator()(const UpdateValueCall& c) const {
      return tuple(atom("update_value"), c.key, c.pid, c.value);
    }
    Term operator()(const PutMetaCall& c) const { return tuple(atom("put_meta"), c.key, c.value); }
    Term operator()(const DeleteMetaCall& c) const { return tuple(atom("delete_meta"), c.key); }
  };
  return std::visit(V{}, call);
}

Result<RegistryCall> parse_registry_call(const Term& t) {
  if (t.is_atom("members")) return RegistryCall{MembersCall{}};
  if (!t.is_tuple() || t.tuple_elements().empty() || !t.element(0)->is_atom())
    return shape_error("registry call: unknown request", t);
  const std::string_view tag = t.element(0)->as_atom()->text();
  const std::size_t arity = t.tuple_elements().size();
  auto pid_at = [&](std::size_t i) { return t.element(i)->as_pid(); };

  if (tag == "set_members" && arity == 2) {
    const Term& list = *t.element(1);
    if (!list.is_proper_list()) return shape_error("set_members: members is not a proper list", t);
    SetMembersCall call;
    std::size_t i = 0;
    for (const Term& m : list.list_elements()) {
      ++i;
      auto spec = MemberSpec::from_term(m);
      if (!spec)
        return shape_error("set_members: element " + std::to_string(i) +
                               " is not {Name, Node} or Name (atoms)",
                           t);
      call.members.push_back(*spec);
    }
    return RegistryCall{std::move(call)};
  }
  if (tag == "register" && arity == 4) {
    if (const Pid* p = pid_at(3)) return RegistryCall{RegisterCall{*t.element(1), *t.element(2), *p}};
    return shape_error("register: Pid is not a pid", t);
  }
  if (tag == "unregister" && arity == 3) {
    if (const Pid* p = pid_at(2)) return RegistryCall{UnregisterCall{*t.element(1), *p}};
    return shape_error("unregister: Pid is not a pid", t);
  }
  if (tag == "update_value" && arity == 4) {
    if (const Pid* p = pid_at(2))
      return RegistryCall{UpdateValueCall{*t.element(1), *p, *t.element(3)}};
    return shape_error("update_value: Pid is not a pid", t);
  }
  if (tag == "put_meta" && arity == 3) return RegistryCall{PutMetaCall{*t.element(1), *t.element(2)}};
  if (tag == "delete_meta" && arity == 2) return RegistryCall{DeleteMetaCall{*t.element(1)}};
  return shape_error("registry call: unknown request", t);
}

// ---- listener events / exit reasons ------------------------------------------

Term ListenerEvent::to_term() const {
  if (kind == Kind::Register) return tuple(a_register(), registry, key, pid, value);
  return tuple(a_unregister(), registry, key, pid);
}

Result<ListenerEvent> ListenerEvent::from_term(const Term& t) {
  const bool reg = t.is_tuple(5) && t.element(0)->is_atom("register");
  const bool unreg = t.is_tuple(4) && t.element(0)->is_atom("unregister");
  if (!reg && !unreg)
    return shape_error("listener event: expected {register, N, Key, Pid, Value} or {unregister, N, Key, Pid}", t);
  const Atom* name = t.element(1)->as_atom();
  const Pid* pid = t.element(3)->as_pid();
  if (name == nullptr) return shape_error("listener event: N is not an atom", t);
  if (pid == nullptr) return shape_error("listener event: Pid is not a pid", t);
  ListenerEvent e{reg ? Kind::Register : Kind::Unregister, *name, *t.element(2), *pid, Term()};
  if (reg) e.value = *t.element(4);
  return e;
}

Term NameConflict::to_term() const {
  return tuple(atom("name_conflict"), tuple(name, value), registry, winner);
}

Result<NameConflict> NameConflict::from_term(const Term& t) {
  if (!t.is_tuple(4) || !t.element(0)->is_atom("name_conflict"))
    return shape_error("name_conflict: expected {name_conflict, {Name, Value}, N, Winner}", t);
  const Term& nv = *t.element(1);
  const Atom* reg = t.element(2)->as_atom();
  const Pid* winner = t.element(3)->as_pid();
  if (!nv.is_tuple(2)) return shape_error("name_conflict: second element is not {Name, Value}", t);
  if (reg == nullptr) return shape_error("name_conflict: N is not an atom", t);
  if (winner == nullptr) return shape_error("name_conflict: winner is not a pid", t);
  return NameConflict{*nv.element(0), *nv.element(1), *reg, *winner};
}

}  // namespace hc::horde
