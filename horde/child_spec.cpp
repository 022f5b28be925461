#include "horde/child_spec.hpp"

namespace hc::horde {

namespace {

std::optional<RestartType> restart_from(const Term& t) {
  if (t.is_atom("permanent")) return RestartType::permanent;
  if (t.is_atom("transient")) return RestartType::transient;
  if (t.is_atom("temporary")) return RestartType::temporary;
  return std::nullopt;
}

std::optional<ChildType> type_from(const Term& t) {
  if (t.is_atom("worker")) return ChildType::worker;
  if (t.is_atom("supervisor")) return ChildType::supervisor;
  return std::nullopt;
}

std::optional<Shutdown> shutdown_from(const Term& t) {
  if (t.is_atom("infinity")) return Shutdown{Shutdown::Kind::infinity, {}};
  if (t.is_atom("brutal_kill")) return Shutdown{Shutdown::Kind::brutal_kill, {}};
  if (auto ms = t.as_int(); ms && *ms > 0) return Shutdown{Shutdown::Kind::timeout, std::chrono::milliseconds(*ms)};
  if (t.type() == Term::Type::BigInteger && !t.as_bigint()->negative)  // huge but valid
    return Shutdown{Shutdown::Kind::infinity, {}};
  return std::nullopt;
}

bool valid_modules(const Term& t) {
  if (t.is_atom("dynamic")) return true;
  if (!t.is_proper_list()) return false;
  for (const Term& m : t.list_elements())
    if (!m.is_atom()) return false;
  return true;
}

}  // namespace

Term ChildSpec::restart_atom() const {
  switch (restart) {
    case RestartType::permanent: return Term(atom("permanent"));
    case RestartType::transient: return Term(atom("transient"));
    case RestartType::temporary: return Term(atom("temporary"));
  }
  return Term(atom("permanent"));
}

Term ChildSpec::type_atom() const { return Term(atom(type == ChildType::worker ? "worker" : "supervisor")); }

ParseResult parse_child_spec(const Term& spec) {
  const Term* id = spec.is_map() ? spec.map_get("id") : nullptr;
  const Term* start = spec.is_map() ? spec.map_get("start") : nullptr;
  if (id == nullptr || start == nullptr) return tuple(atom("invalid_child_spec"), spec);

  // validate_child/6 order: start, restart, shutdown, type, modules.
  if (!start->is_tuple(3) || !start->element(0)->is_atom() || !start->element(1)->is_atom() ||
      !start->element(2)->is_proper_list())
    return tuple(atom("invalid_mfa"), *start);

  ChildSpec out;
  out.spec = spec;
  out.id = *id;
  out.module = *start->element(0)->as_atom();
  out.function = *start->element(1)->as_atom();
  const auto args = start->element(2)->list_elements();
  out.args.assign(args.begin(), args.end());

  const Term* restart = spec.map_get("restart");
  if (restart != nullptr) {
    auto r = restart_from(*restart);
    if (!r) return tuple(atom("invalid_restart_type"), *restart);
    out.restart = *r;
  }
  const Term* type = spec.map_get("type");
  std::optional<ChildType> parsed_type = type ? type_from(*type) : ChildType::worker;
  const Term* shutdown = spec.map_get("shutdown");
  if (shutdown != nullptr) {
    auto s = shutdown_from(*shutdown);
    if (!s) return tuple(atom("invalid_shutdown"), *shutdown);
    out.shutdown = *s;
  } else if (parsed_type == ChildType::supervisor) {
    out.shutdown = Shutdown{Shutdown::Kind::infinity, {}};
  }
  if (!parsed_type) return tuple(atom("invalid_child_type"), *type);
  out.type = *parsed_type;
  const Term* modules = spec.map_get("modules");
  out.modules = modules ? *modules : list(out.module);
  if (!valid_modules(out.modules)) return tuple(atom("invalid_modules"), out.modules);
  return out;
}

Term random_child_id(const RandomBits& random) {
  // 128 uniform bits give 0..2^128-1; plus one is :rand.uniform's 1..2^128.
  const std::uint64_t lo = random();
  const std::uint64_t hi = random();
  BigInt v;
  v.magnitude.resize(17, 0);
  for (int i = 0; i < 8; ++i) {
    v.magnitude[i] = static_cast<std::uint8_t>(lo >> (8 * i));
    v.magnitude[8 + i] = static_cast<std::uint8_t>(hi >> (8 * i));
  }
  // +1 with carry.
  for (std::size_t i = 0; i < v.magnitude.size(); ++i) {
    if (++v.magnitude[i] != 0) break;
  }
  while (!v.magnitude.empty() && v.magnitude.back() == 0) v.magnitude.pop_back();
  return Term(std::move(v));
}

Term with_child_id(const Term& spec, const Term& id) {
  TermPairs pairs(spec.map_entries().begin(), spec.map_entries().end());
  pairs.emplace_back(Term(atom("id")), id);  // last duplicate wins
  return Term::map(std::move(pairs));
}

Term randomize_child_id(const Term& spec, const RandomBits& random) {
  return with_child_id(spec, random_child_id(random));
}

Term default_child_spec(const Atom& module, const Term& arg) {
  return Term::map({{Term(atom("id")), Term(module)},
                    {Term(atom("start")), tuple(module, atom("start_link"), list(arg))}});
}

}  // namespace hc::horde
