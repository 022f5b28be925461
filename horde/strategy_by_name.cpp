#include "horde/strategy_by_name.hpp"

#include "horde/uniform_quorum_distribution.hpp"
#include "horde/uniform_random_distribution.hpp"

namespace hc::horde {

std::shared_ptr<const DistributionStrategy> strategy_by_name(std::string_view name, std::vector<Atom> cpp_namespaces) {
  if (name == "uniform") return std::make_shared<UniformDistribution>();
  if (name == "uniform_quorum") return std::make_shared<UniformQuorumDistribution>();
  if (name == "uniform_random") return std::make_shared<UniformRandomDistribution>();
  MixedDistributionConfig config;
  if (!cpp_namespaces.empty()) config.cpp_namespaces = std::move(cpp_namespaces);
  if (name == "mixed") config.base = MixedBase::uniform;
  else if (name == "mixed_quorum") config.base = MixedBase::quorum;
  else if (name == "mixed_random") config.base = MixedBase::random;
  else return nullptr;
  return std::make_shared<MixedDistribution>(std::move(config));
}

}  // namespace hc::horde
