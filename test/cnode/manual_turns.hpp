// The io thread's turns, by hand: a ProcessTable::Post that keeps what is
// posted until the test runs it, so "not handled yet" and "one round" are
// observable (process_table_test, signals_test, router_test, ...).
#pragma once

#include <functional>
#include <vector>

#include "cnode/process_table.hpp"

namespace hc::cnode::test {

struct ManualTurns {
  std::vector<std::function<void()>> turns;

  ProcessTable::Post post() {
    return [this](std::function<void()> fn) { turns.push_back(std::move(fn)); };
  }
  // Run the turns posted so far (not those they post); how many ran.
  std::size_t run_round() {
    auto now = std::move(turns);
    turns.clear();
    for (auto& t : now) t();
    return now.size();
  }
  void run_all() {
    while (run_round() > 0) {
    }
  }
  bool idle() const noexcept { return turns.empty(); }
};

}  // namespace hc::cnode::test
