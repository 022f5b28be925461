#include "horde/mixed_distribution.hpp"

#include "horde/uniform_quorum_distribution.hpp"

namespace hc::horde {

bool in_cpp_namespace(const Atom& module, const std::vector<Atom>& namespaces) {
  const std::string_view text = module.text();
  for (const Atom& ns : namespaces) {
    const std::string_view prefix = ns.text();
    if (text.size() > prefix.size() + 1 && text.substr(0, prefix.size()) == prefix && text[prefix.size()] == '.')
      return true;
  }
  return false;
}

std::optional<Atom> start_module(const Term& child_spec) {
  const Term* start = child_spec.is_map() ? child_spec.map_get("start") : nullptr;
  if (start == nullptr || !start->is_tuple(3)) return std::nullopt;
  if (const Atom* m = start->element(0)->as_atom()) return *m;
  return std::nullopt;
}

MixedDistribution::MixedDistribution(MixedDistributionConfig config) : config_(std::move(config)) {
  if (config_.base == MixedBase::random && !config_.random) config_.random = default_random_index();
}

bool MixedDistribution::has_quorum(std::span<const Member> members) const {
  return config_.base == MixedBase::quorum ? uniform_quorum(members) : true;
}

Atom MixedDistribution::elixir_module() const {
  switch (config_.base) {
    case MixedBase::quorum: return Atom("Elixir.HordeCnode.MixedQuorumDistribution");
    case MixedBase::random: return Atom("Elixir.HordeCnode.MixedRandomDistribution");
    case MixedBase::uniform: break;
  }
  return Atom("Elixir.HordeCnode.MixedDistribution");
}

ChooseResult MixedDistribution::choose_node(const Term& child_spec, std::span<const Member> members) const {
  if (config_.base == MixedBase::quorum && !uniform_quorum(members))
    return ChooseResult::failure(Term(atom("quorum_not_met")));
  const auto module = start_module(child_spec);
  const bool cpp_child = module && in_cpp_namespace(*module, config_.cpp_namespaces);
  std::vector<const Member*> candidates;
  for (const Member& m : members) {
    if (!m.is_alive()) continue;
    if (cpp_child ? m.provides(*module) : !m.is_cpp()) candidates.push_back(&m);
  }
  if (candidates.empty()) {
    if (cpp_child) return ChooseResult::failure(tuple(atom("no_alive_nodes_providing"), *module));
    return ChooseResult::failure(Term(atom("no_alive_nodes")));
  }
  if (config_.base == MixedBase::random) return ChooseResult{random_alive(candidates, config_.random), Term()};
  return ChooseResult{ring_owner(cache_, candidates, placement_identifier(child_spec)), Term()};
}

}  // namespace hc::horde
