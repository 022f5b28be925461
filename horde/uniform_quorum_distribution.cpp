#include "horde/uniform_quorum_distribution.hpp"

#include <algorithm>

namespace hc::horde {

bool uniform_quorum(std::span<const Member> members) {
  if (members.empty()) return false;
  std::vector<const Member*> active;
  for (const Member& m : members)
    if (m.status != MemberStatus::shutting_down) active.push_back(&m);
  // Enum.sort_by(& &1.name): stable, term order.
  std::stable_sort(active.begin(), active.end(), [](const Member* a, const Member* b) { return a->name < b->name; });
  std::span<const Member* const> counted(active);
  if (!counted.empty() && counted.size() % 2 == 0) counted = counted.subspan(1);
  if (counted.empty()) return false;  // Horde returns nil
  const auto alive = std::count_if(counted.begin(), counted.end(), [](const Member* m) { return m->is_alive(); });
  // alive / total > 0.5, exactly (integers: 2 * alive > total).
  return 2 * static_cast<std::size_t>(alive) > counted.size();
}

ChooseResult UniformQuorumDistribution::choose_node(const Term& child_spec, std::span<const Member> members) const {
  if (!uniform_quorum(members)) return ChooseResult::failure(Term(atom("quorum_not_met")));
  return uniform_.choose_node(child_spec, members);
}

}  // namespace hc::horde
