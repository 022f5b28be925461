#include "horde/uniform_distribution.hpp"

#include <algorithm>
#include <map>

#include "interop/phash2.hpp"

namespace hc::horde {

std::uint32_t placement_identifier(const Term& child_spec) {
  if (!child_spec.is_map()) return phash2(child_spec);
  TermPairs rest;
  rest.reserve(child_spec.map_size());
  const Term id_key{atom("id")};
  for (const auto& kv : child_spec.map_entries())
    if (!(kv.first == id_key)) rest.push_back(kv);
  return phash2(Term::map(std::move(rest)));
}

std::shared_ptr<const HashRing> RingCache::ring_for(const std::vector<Term>& names) const {
  std::lock_guard lock(mutex_);
  for (auto& [key, ring] : cache_)
    if (key == names) return ring;
  auto ring = std::make_shared<HashRing>();
  ring->add_nodes(names);
  // A handful of member sets are live at once (before/after a change, and the
  // groups of the mixed strategy); keep the most recent ones.
  constexpr std::size_t kMaxCached = 8;
  if (cache_.size() >= kMaxCached) cache_.erase(cache_.begin());
  cache_.emplace_back(names, ring);
  return ring;
}

const Member* ring_owner(const RingCache& cache, std::span<const Member* const> candidates,
                         std::uint32_t identifier) {
  // Map.new(members, &{&1.name, &1}): last duplicate wins; Map.keys: term order.
  std::map<Term, const Member*> by_name;
  for (const Member* m : candidates) by_name[m->name] = m;
  if (by_name.empty()) return nullptr;
  std::vector<Term> names;
  names.reserve(by_name.size());
  for (const auto& [name, _] : by_name) names.push_back(name);
  auto ring = cache.ring_for(names);
  const Term* owner = ring->key_to_node(Term(static_cast<std::int64_t>(identifier)));
  if (owner == nullptr) return nullptr;
  return by_name.at(*owner);
}

ChooseResult UniformDistribution::choose_node(const Term& child_spec, std::span<const Member> members) const {
  std::vector<const Member*> alive;
  for (const Member& m : members)
    if (m.is_alive()) alive.push_back(&m);
  if (alive.empty()) return ChooseResult::failure(Term(atom("no_alive_nodes")));
  return ChooseResult{ring_owner(cache_, alive, placement_identifier(child_spec)), Term()};
}

}  // namespace hc::horde
