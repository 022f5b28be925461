#include "crdt/sync_messages.hpp"

namespace hc::crdt {

Atom causal_diff_module() {
  static const Atom a = elixir_module("DeltaCrdt.CausalCrdt.Diff");
  return a;
}

Term CausalDiff::to_term() const {
  TermPairs fields = extra;
  fields.emplace_back(Term(Atom("continuation")), continuation);
  fields.emplace_back(Term(Atom("dots")), dots);
  fields.emplace_back(Term(Atom("originator")), originator);
  fields.emplace_back(Term(Atom("from")), from);
  fields.emplace_back(Term(Atom("to")), to);
  return make_struct(causal_diff_module(), std::move(fields));
}

Result<CausalDiff> CausalDiff::from_term(const Term& t) {
  auto fail = [](const char* why) -> Result<CausalDiff> { return Error(CrdtErrc::malformed_diff, why); };
  if (!is_struct(t, causal_diff_module())) return fail("not a %DeltaCrdt.CausalCrdt.Diff{}");
  CausalDiff d;
  bool seen[5] = {};
  for (const auto& [k, v] : t.map_entries()) {
    const Atom* a = k.as_atom();
    std::string_view name = a ? a->text() : std::string_view();
    if (name == "continuation") {
      d.continuation = v, seen[0] = true;
    } else if (name == "dots") {
      d.dots = v, seen[1] = true;
    } else if (name == "originator") {
      d.originator = v, seen[2] = true;
    } else if (name == "from") {
      d.from = v, seen[3] = true;
    } else if (name == "to") {
      d.to = v, seen[4] = true;
    } else if (name != "__struct__") {
      d.extra.emplace_back(k, v);
    }
  }
  for (bool s : seen)
    if (!s) return fail("%DeltaCrdt.CausalCrdt.Diff{} lacks a field");
  return d;
}

}  // namespace hc::crdt
