#include "horde/uniform_random_distribution.hpp"

#include <memory>

namespace hc::horde {

RandomIndex default_random_index() {
  struct Source {
    std::mutex mutex;
    std::mt19937_64 rng{std::random_device{}()};
  };
  auto source = std::make_shared<Source>();
  return [source](std::size_t n) {
    std::lock_guard lock(source->mutex);
    return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(source->rng));
  };
}

const Member* random_alive(std::span<const Member* const> candidates, const RandomIndex& random) {
  std::vector<const Member*> alive;
  for (const Member* m : candidates)
    if (m->is_alive()) alive.push_back(m);
  if (alive.empty()) return nullptr;
  return alive[random(alive.size())];
}

ChooseResult UniformRandomDistribution::choose_node(const Term&, std::span<const Member> members) const {
  std::vector<const Member*> all;
  for (const Member& m : members) all.push_back(&m);
  if (const Member* m = random_alive(all, random_)) return ChooseResult{m, Term()};
  return ChooseResult::failure(Term(atom("no_alive_nodes")));
}

}  // namespace hc::horde
