// Picking actions of one kind out of a SyncEngine's answer, for the engine
// tests.
#pragma once

#include <variant>
#include <vector>

#include "crdt/sync_engine.hpp"

namespace hc::crdt::test {

// The actions of type A in `actions`, in order.
template <typename A>
std::vector<A> only(const SyncActions& actions) {
  std::vector<A> out;
  for (const auto& a : actions)
    if (auto* x = std::get_if<A>(&a)) out.push_back(*x);
  return out;
}

}  // namespace hc::crdt::test
