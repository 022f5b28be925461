// Horde.UniformQuorumDistribution (Horde 0.10.0
// lib/horde/uniform_quorum_distribution.ex), decision for decision:
//
//   choose_node(Spec, Members): has_quorum?(Members) ? UniformDistribution's
//     choice : {error, quorum_not_met}
//   has_quorum?([]) = false
//   has_quorum?(Members):
//     Active = Members without status shutting_down, sorted by name (term
//              order of {N, Node}); when their count is even and > 0 the FIRST
//              one is dropped (so a 2-member cluster only counts the second
//              name, and a 1-1 split is decided by the name order);
//     Active == [] -> nil (falsy: no quorum)
//     else  count(alive in Active) / count(Active) > 0.5
//   Statuses other than alive (dead, uninitialized) count against quorum.
//
// What losing quorum does to a member (Horde.DynamicSupervisorImpl
// handle_quorum_change/1, implemented by SupervisorState): waiting
// wait_for_quorum callers are answered `ok` when quorum is (re)gained; when it
// is lost and children run here, the ProcessesSupervisor is stopped, which
// (one_for_all, max_restarts 0) takes the member's whole Horde tree down.
//
// Thread safety: as UniformDistribution (immutable but for its ring cache).
#pragma once

#include "horde/uniform_distribution.hpp"

namespace hc::horde {

// has_quorum?/1 of Horde.UniformQuorumDistribution (false for its `nil`).
bool uniform_quorum(std::span<const Member> members);

class UniformQuorumDistribution final : public DistributionStrategy {
 public:
  ChooseResult choose_node(const Term& child_spec, std::span<const Member> members) const override;
  bool has_quorum(std::span<const Member> members) const override { return uniform_quorum(members); }
  Atom elixir_module() const override { return Atom("Elixir.Horde.UniformQuorumDistribution"); }

 private:
  UniformDistribution uniform_;
};

}  // namespace hc::horde
