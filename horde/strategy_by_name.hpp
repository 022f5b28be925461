// The placement strategies by the names the command line and the BEAM test
// harness use, so every front-end (app/, tests, an SDK) builds them the same way:
//   uniform         Horde.UniformDistribution
//   uniform_quorum  Horde.UniformQuorumDistribution
//   uniform_random  Horde.UniformRandomDistribution
//   mixed           HordeCnode.MixedDistribution
//   mixed_quorum    HordeCnode.MixedQuorumDistribution
//   mixed_random    HordeCnode.MixedRandomDistribution
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "horde/mixed_distribution.hpp"

namespace hc::horde {

inline constexpr std::string_view kStrategyNames =
    "uniform, uniform_quorum, uniform_random, mixed, mixed_quorum or mixed_random";

// nullptr for an unknown name. `cpp_namespaces` (empty: the default
// CppWorkers) only matters for the mixed ones.
std::shared_ptr<const DistributionStrategy> strategy_by_name(std::string_view name,
                                                             std::vector<Atom> cpp_namespaces = {});

}  // namespace hc::horde
