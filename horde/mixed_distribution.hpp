// HordeCnode.MixedDistribution: a Horde.DistributionStrategy for clusters of
// BEAM members and C++ members (elixir/lib/horde_cnode/mixed_distribution.ex
// is the same logic for BEAM members; both must agree on every placement).
//
// The two deterministic inputs, both identical on every node:
// 1. Which children are C++ children: those whose start module (the M of
//    `start: {M, F, A}`) lies in a configured namespace. A namespace
//    `CppWorkers` (the atom 'Elixir.CppWorkers') covers every module whose
//    atom text starts with "Elixir.CppWorkers." (default: just CppWorkers).
//    This is static configuration: it must be the same on all nodes
//    (`config :horde_cnode, cpp_namespaces: [...]`, C++: --cpp-namespace).
// 2. Which members provide a C++ kind: the member info in the CRDT. C++
//    members write `%Horde.DynamicSupervisor.Member{name, status, cpp_worker_kinds: [M...]}`;
//    BEAM members never have that key (supervisor_member.hpp). Every node
//    reads the same replicated value, exactly as it reads `status`.
//
// choose_node(Spec, Members):
//   C++ child with module M: candidates = alive members whose
//     cpp_worker_kinds contain M; none -> {error, {no_alive_nodes_providing, M}}
//   any other child: candidates = alive members without cpp_worker_kinds;
//     none -> {error, no_alive_nodes}
//   owner = libring ring over the candidates, key phash2(Spec without id),
//   i.e. Horde.UniformDistribution restricted to the group.
// has_quorum?/1 is always true (as for the uniform strategy).
//
// Two variants put the same groups on top of Horde's other strategies
// (elixir/lib/horde_cnode/mixed_quorum_distribution.ex, mixed_random_distribution.ex):
// - HordeCnode.MixedQuorumDistribution: quorum exactly as
//   Horde.UniformQuorumDistribution, over ALL members (a netsplit is about
//   the cluster, not a group); no quorum -> {error, quorum_not_met} before
//   any group is looked at;
// - HordeCnode.MixedRandomDistribution: a uniformly random alive member of
//   the group instead of the ring (as Horde.UniformRandomDistribution).
#pragma once

#include <string>
#include <vector>

#include "horde/uniform_distribution.hpp"
#include "horde/uniform_random_distribution.hpp"

namespace hc::horde {

enum class MixedBase { uniform, quorum, random };

struct MixedDistributionConfig {
  // Namespace atoms, e.g. 'Elixir.CppWorkers'.
  std::vector<Atom> cpp_namespaces{Atom("Elixir.CppWorkers")};
  MixedBase base = MixedBase::uniform;
  RandomIndex random;  // for MixedBase::random; empty: default_random_index()
};

// True when `module` lies in one of the namespaces ("Ns." prefix of its text).
bool in_cpp_namespace(const Atom& module, const std::vector<Atom>& namespaces);

// The start module of a child spec map, nullopt when `start` is not {M, F, A}
// with an atom M.
std::optional<Atom> start_module(const Term& child_spec);

class MixedDistribution final : public DistributionStrategy {
 public:
  explicit MixedDistribution(MixedDistributionConfig config = {});

  ChooseResult choose_node(const Term& child_spec, std::span<const Member> members) const override;
  bool has_quorum(std::span<const Member> members) const override;
  Atom elixir_module() const override;
  const MixedDistributionConfig& config() const noexcept { return config_; }

 private:
  MixedDistributionConfig config_;
  RingCache cache_;
};

}  // namespace hc::horde
