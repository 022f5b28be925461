// Placement of Horde.DynamicSupervisor children: the Horde.DistributionStrategy
// behaviour (choose_node/2, has_quorum?/1) and Horde.UniformDistribution
// (Horde 0.10.0 lib/horde/uniform_distribution.ex), decision for decision.
//
// UniformDistribution.choose_node(Spec, Members):
//   Identifier = erlang:phash2(maps:remove(id, Spec))          (range 2^27)
//   Alive = members with status alive, keyed by name (last duplicate wins)
//   none alive -> {error, no_alive_nodes}
//   else the owner is HashRing.key_to_node(Ring, Identifier) where Ring has
//   the alive names added in Map.keys/1 order.
// Map.keys/1 is term order for maps of up to 32 keys; above that the BEAM
// stores maps as HAMTs and Map.keys follows the internal hash instead. The
// order only matters when two members' ring points collide (chance about
// (128 n)^2 / 2^33 per ring) and then only for keys hashing just below that
// point; we use term order throughout and accept that gap for > 32 members.
//
// Both the C++ node and the BEAM members must compute the same owner for
// every child, or starts bounce between nodes: this is tested against the
// real Horde (test/horde/hash_ring_test.cpp golden data and
// supervisor_horde_test.cpp on a live BEAM).
//
// Thread safety: strategies are immutable after construction except for the
// ring cache, which is guarded; choose_node may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "horde/hash_ring.hpp"
#include "horde/supervisor_member.hpp"
#include "interop/term.hpp"

namespace hc::horde {

// {ok, Member} or {error, Reason}: `member` points into the span given to
// choose_node.
struct ChooseResult {
  const Member* member = nullptr;
  Term error;  // the Reason of {error, Reason} when member == nullptr
  bool ok() const noexcept { return member != nullptr; }
  static ChooseResult failure(Term reason) { return ChooseResult{nullptr, std::move(reason)}; }
};

// The Horde.DistributionStrategy behaviour.
class DistributionStrategy {
 public:
  virtual ~DistributionStrategy() = default;
  virtual ChooseResult choose_node(const Term& child_spec, std::span<const Member> members) const = 0;
  virtual bool has_quorum(std::span<const Member> members) const = 0;
  // The Elixir module implementing the same logic on BEAM members.
  virtual Atom elixir_module() const = 0;
};

// erlang:phash2(maps:remove(id, Spec)): what every strategy hashes.
std::uint32_t placement_identifier(const Term& child_spec);

// Builds rings (and caches the last few) for a set of candidate member
// names; shared by the uniform and the mixed strategy.
class RingCache {
 public:
  // `names` in the order Horde adds them (term order, unique).
  std::shared_ptr<const HashRing> ring_for(const std::vector<Term>& names) const;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::vector<Term>, std::shared_ptr<const HashRing>>> cache_;
};

// The owner among `candidates` (alive members, any order, duplicates by name
// resolved last-wins as Map.new/2 does) for `identifier`; nullptr when empty.
const Member* ring_owner(const RingCache& cache, std::span<const Member* const> candidates,
                         std::uint32_t identifier);

class UniformDistribution final : public DistributionStrategy {
 public:
  ChooseResult choose_node(const Term& child_spec, std::span<const Member> members) const override;
  bool has_quorum(std::span<const Member>) const override { return true; }
  Atom elixir_module() const override { return Atom("Elixir.Horde.UniformDistribution"); }

 private:
  RingCache cache_;
};

}  // namespace hc::horde
