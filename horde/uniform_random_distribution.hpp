// Horde.UniformRandomDistribution (Horde 0.10.0
// lib/horde/uniform_random_distribution.ex):
//
//   choose_node(_Spec, Members): a uniformly random member among those with
//     status alive; none -> {error, no_alive_nodes}
//   has_quorum?/1 = true (children restart on both sides of a netsplit)
//
// The choice is random on every member (BEAM or C++) alike, so a proxied
// start_child may be re-placed by the member it was proxied to, as in Horde;
// the supervisor's proxy_message_ttl bounds that (Horde's advice for this
// strategy). What must agree with the BEAM is only which members are
// eligible and the error when none is.
//
// The random source is injected (deterministic tests); default: a
// std::mt19937_64 seeded from std::random_device, guarded by a mutex.
#pragma once

#include <functional>
#include <mutex>
#include <random>

#include "horde/uniform_distribution.hpp"

namespace hc::horde {

// Uniform index in [0, n) from 64 random bits (n > 0).
using RandomIndex = std::function<std::size_t(std::size_t n)>;
RandomIndex default_random_index();

// The random choice among the alive ones of `candidates`; nullptr when none.
const Member* random_alive(std::span<const Member* const> candidates, const RandomIndex& random);

class UniformRandomDistribution final : public DistributionStrategy {
 public:
  explicit UniformRandomDistribution(RandomIndex random = default_random_index()) : random_(std::move(random)) {}
  ChooseResult choose_node(const Term& child_spec, std::span<const Member> members) const override;
  bool has_quorum(std::span<const Member>) const override { return true; }
  Atom elixir_module() const override { return Atom("Elixir.Horde.UniformRandomDistribution"); }

 private:
  RandomIndex random_;
};

}  // namespace hc::horde
