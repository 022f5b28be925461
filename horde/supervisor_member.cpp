#include "horde/supervisor_member.hpp"

#include <algorithm>

namespace hc::horde {

std::string_view to_string(MemberStatus status) noexcept {
  switch (status) {
    case MemberStatus::uninitialized: return "uninitialized";
    case MemberStatus::alive: return "alive";
    case MemberStatus::shutting_down: return "shutting_down";
    case MemberStatus::dead: return "dead";
  }
  return "uninitialized";
}

std::optional<MemberStatus> member_status_from_atom(const Term& atom) noexcept {
  if (atom.is_atom("alive")) return MemberStatus::alive;
  if (atom.is_atom("dead")) return MemberStatus::dead;
  if (atom.is_atom("shutting_down")) return MemberStatus::shutting_down;
  if (atom.is_atom("uninitialized")) return MemberStatus::uninitialized;
  return std::nullopt;
}

Atom member_struct_atom() {
  static const Atom a("Elixir.Horde.DynamicSupervisor.Member");
  return a;
}

bool Member::provides(const Atom& module) const noexcept {
  if (!cpp_worker_kinds) return false;
  return std::binary_search(cpp_worker_kinds->begin(), cpp_worker_kinds->end(), module);
}

Term Member::to_term() const {
  TermPairs fields{{Term(atom("name")), name}, {Term(atom("status")), Term(atom(to_string(status)))}};
  if (cpp_worker_kinds) {
    TermVector kinds;
    for (const Atom& k : *cpp_worker_kinds) kinds.emplace_back(k);
    fields.emplace_back(Term(atom(kCppWorkerKindsKey)), Term::list(std::move(kinds)));
  }
  return make_struct(member_struct_atom(), std::move(fields));
}

std::optional<Member> Member::from_term(const Term& value) {
  if (!value.is_map()) return std::nullopt;
  const Term* status = value.map_get("status");
  const Term* name = value.map_get("name");
  if (status == nullptr || name == nullptr) return std::nullopt;
  auto parsed = member_status_from_atom(*status);
  if (!parsed) return std::nullopt;
  Member m{*name, *parsed, std::nullopt};
  if (const Term* kinds = value.map_get(kCppWorkerKindsKey); kinds != nullptr && kinds->is_proper_list()) {
    std::vector<Atom> list;
    for (const Term& k : kinds->list_elements())
      if (const Atom* a = k.as_atom()) list.push_back(*a);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    m.cpp_worker_kinds = std::move(list);
  }
  return m;
}

}  // namespace hc::horde
