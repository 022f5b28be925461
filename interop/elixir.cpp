// Elixir conveniences: module atoms, structs and the Elixir 1.14 MapSet shape.
#include <string>

#include "interop/term.hpp"

namespace hc {

Atom elixir_module(std::string_view name) {
  std::string full = "Elixir.";
  full += name;
  return Atom(full);
}

Term make_struct(Atom module, TermPairs fields) {
  fields.emplace_back(Term(Atom("__struct__")), Term(module));
  return Term::map(std::move(fields));
}

std::optional<Atom> struct_name(const Term& t) {
  const Term* s = t.map_get("__struct__");
  if (!s || !s->is_atom()) return std::nullopt;
  return *s->as_atom();
}

bool is_struct(const Term& t, Atom module) {
  auto name = struct_name(t);
  return name && *name == module;
}

Term make_mapset(TermVector elements) {
  TermPairs inner;
  inner.reserve(elements.size());
  for (auto& e : elements) inner.emplace_back(std::move(e), Term::nil());
  return make_struct(elixir_module("MapSet"), {{Term(Atom("map")), Term::map(std::move(inner))},
                                               {Term(Atom("version")), Term(2)}});
}

std::optional<TermVector> mapset_elements(const Term& t) {
  if (!t.is_map() || t.map_size() != 3 || !is_struct(t, elixir_module("MapSet"))) return std::nullopt;
  const Term* version = t.map_get("version");
  const Term* map = t.map_get("map");
  if (!version || !map || version->as_int() != 2 || !map->is_map()) return std::nullopt;
  TermVector out;
  out.reserve(map->map_size());
  for (const auto& [k, v] : map->map_entries()) {
    if (!v.is_nil()) return std::nullopt;
    out.push_back(k);
  }
  return out;
}

}  // namespace hc
