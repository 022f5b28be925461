// Typed Horde.Registry messages and CRDT values, with to_term/from_term.
//
// Every from_term validates the exact shape RegistryImpl (horde 0.10.0)
// pattern-matches and, when the shape is wrong, says precisely what was
// wrong (MessageErrc::bad_shape with the detail in Result::what()) instead
// of throwing. The shapes are those of
// horde-wire.md §5 and of lib/horde/registry_impl.ex:
//
//   member               {N, Node}                               (atoms)
//   CRDT keys            {member, Member} | {key, Name} | {registry, MetaKey}
//   {key, _} value       {Member, Pid, Value}
//   {member, _} value    1
//   CRDT diff            {add, Key, Value} | {remove, Key}
//   calls on N           members | {set_members, [Member | N]} |
//                        {register, Key, Value, Pid} | {unregister, Key, Pid} |
//                        {update_value, Key, Pid, Value} |
//                        {put_meta, Key, Value} | {delete_meta, Key}
//   listener messages    {register, N, Key, Pid, Value} | {unregister, N, Key, Pid}
//   loser's exit reason  {name_conflict, {Name, Value}, N, WinnerPid}
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "crdt/aw_lww_map.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::horde {

// A term that should have had a Horde shape and has not. The code is
// hc::errc::protocol_violation (it comes from a peer or a caller's message);
// the Result's what() says what was wrong, e.g.
// "set_members: element 2 is not {Name, Node} or Name (atoms)".
enum class MessageErrc {
  bad_shape = 1,
};
// Thread-safe (a static category).
const std::error_category& message_category() noexcept;
std::error_code make_error_code(MessageErrc e) noexcept;

// The name of the CRDT process of registry `name`: 'N.Crdt'.
Atom crdt_name(Atom name);

// {N, Node}: one registry member.
struct RegistryMember {
  Atom name;
  Atom node;
  Term to_term() const;
  static Result<RegistryMember> from_term(const Term& t);
  // {'N.Crdt', Node}: the member's CRDT as a neighbour name.
  Term crdt_neighbour() const;
  bool operator==(const RegistryMember&) const = default;
  auto operator<=>(const RegistryMember& o) const {
    // Same order as the member tuples in term order.
    if (auto c = name <=> o.name; c != 0) return c;
    return node <=> o.node;
  }
};

// An element of a set_members list: {Name, Node} or a bare Name (meaning
// {Name, node()} on the receiving node).
struct MemberSpec {
  Atom name;
  std::optional<Atom> node;
  RegistryMember qualify(Atom self_node) const { return {name, node.value_or(self_node)}; }
  Term to_term() const;
  static Result<MemberSpec> from_term(const Term& t);
  bool operator==(const MemberSpec&) const = default;
};

// The value stored under {key, Name}: {Member, Pid, Value}.
struct KeyValue {
  RegistryMember member;
  Pid pid;
  Term value;
  Term to_term() const;
  static Result<KeyValue> from_term(const Term& t);
  bool operator==(const KeyValue&) const = default;
};

// A CRDT key of a registry.
struct CrdtKey {
  enum class Kind : std::uint8_t { Member, Name, Meta };
  Kind kind = Kind::Name;
  Term inner;             // the Member tuple, the Name, or the MetaKey
  RegistryMember member;  // Kind::Member only
  static Term member_key(const RegistryMember& m);
  static Term name_key(const Term& name);
  static Term meta_key(const Term& key);
  Term to_term() const;
  static Result<CrdtKey> from_term(const Term& t);
};

// One entry of the diffs list DeltaCrdt reports to its owner: the CRDT's
// own change type, the one diff type every role's state machine takes.
using CrdtDiff = crdt::KeyChange;
// {add, Key, Value} | {remove, Key} (a BEAM-shaped {crdt_update, Diffs}).
Result<CrdtDiff> parse_crdt_diff(const Term& t);

// ---- gen_server calls RegistryImpl answers -----------------------------------

struct MembersCall {
  bool operator==(const MembersCall&) const = default;
};
struct SetMembersCall {
  std::vector<MemberSpec> members;
  bool operator==(const SetMembersCall&) const = default;
};
struct RegisterCall {
  Term key;
  Term value;
  Pid pid;
  bool operator==(const RegisterCall&) const = default;
};
struct UnregisterCall {
  Term key;
  Pid pid;
  bool operator==(const UnregisterCall&) const = default;
};
struct UpdateValueCall {
  Term key;
  Pid pid;
  Term value;
  bool operator==(const UpdateValueCall&) const = default;
};
struct PutMetaCall {
  Term key;
  Term value;
  bool operator==(const PutMetaCall&) const = default;
};
struct DeleteMetaCall {
  Term key;
  bool operator==(const DeleteMetaCall&) const = default;
};
using RegistryCall = std::variant<MembersCall, SetMembersCall, RegisterCall, UnregisterCall,
                                  UpdateValueCall, PutMetaCall, DeleteMetaCall>;

Term to_term(const RegistryCall& call);
Result<RegistryCall> parse_registry_call(const Term& t);

// ---- listener notifications and exit reasons -------------------------------

// {register, N, Key, Pid, Value} | {unregister, N, Key, Pid}
struct ListenerEvent {
  enum class Kind : std::uint8_t { Register, Unregister };
  Kind kind = Kind::Register;
  Atom registry;
  Term key;
  Pid pid;
  Term value;  // Register only
  Term to_term() const;
  static Result<ListenerEvent> from_term(const Term& t);
  bool operator==(const ListenerEvent&) const = default;
};

// {name_conflict, {Name, Value}, N, WinnerPid}: the exit reason of the
// process that lost a conflicting registration.
struct NameConflict {
  Term name;
  Term value;
  Atom registry;
  Pid winner;
  Term to_term() const;
  static Result<NameConflict> from_term(const Term& t);
  bool operator==(const NameConflict&) const = default;
};

}  // namespace hc::horde

template <>
struct std::is_error_code_enum<hc::horde::MessageErrc> : std::true_type {};
