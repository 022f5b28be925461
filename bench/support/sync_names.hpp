// What the in-process sync benchmarks (slice_turn_bench, round_turn_bench,
// crdt_bench) share: Horde-shaped names and values, two replica pids, and
// a millisecond timer for one turn.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "interop/term.hpp"

namespace hc::bench {

using Clock = std::chrono::steady_clock;
inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The pids two replicas sync as.
inline const Term kReplicaA = Term(Pid{Atom("a@127.0.0.1"), 1, 0, 1});
inline const Term kReplicaB = Term(Pid{Atom("b@127.0.0.1"), 2, 0, 1});

// A Horde.Registry key {key, "name-I"} and its value {{Registry, Node}, Pid, I + Gen}.
inline Term key_of(std::int64_t i) { return tuple(Atom("key"), binary("name-" + std::to_string(i))); }
inline Term value_of(std::int64_t i, std::int64_t gen) {
  return tuple(tuple(Atom("Elixir.Bench.Registry"), Atom("b@127.0.0.1")), Term(Pid{Atom("b@127.0.0.1"), 100, 0, 1}),
               Term(i + gen));
}

}  // namespace hc::bench
