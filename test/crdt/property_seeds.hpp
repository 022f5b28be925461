// The seeds of the CRDT property tests (replayable):
//   HC_SEED=<n>              run only that seed
//   HC_PROPERTY_SEEDS=<n>    number of seeds (default 200)
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace hc::crdt::test {

inline std::vector<std::uint64_t> seeds() {
  if (const char* s = std::getenv("HC_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::uint64_t n = 200;
  if (const char* s = std::getenv("HC_PROPERTY_SEEDS")) n = std::strtoull(s, nullptr, 10);
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 1; i <= n; ++i) out.push_back(i * 2654435761u % 1000003u);
  return out;
}

}  // namespace hc::crdt::test
