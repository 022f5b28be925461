// What Horde.ProcessesSupervisor does when a child exits, and its restart
// intensity (Horde 0.10.0 lib/horde/processes_supervisor.ex,
// maybe_restart_child/5 and add_restart/1). Pure: the clock is a parameter.
//
// Exit handling, in Horde's clause order:
//   reason {shutdown, process_redistribution}  -> relinquish (hand to the Horde)
//   restart permanent, any other reason        -> restart
//   reason normal | shutdown | {shutdown, _}   -> remove (disown: CRDT delete)
//   restart transient, abnormal reason         -> restart
//   restart temporary, abnormal reason         -> remove
//
// Intensity: a restart at time T (whole seconds of a monotonic clock, as
// erlang:monotonic_time(1)) is recorded; restarts older than T - max_seconds
// are forgotten (kept while T <= Then + max_seconds); when more than
// max_restarts remain, the supervisor gives up (Horde: the ProcessesSupervisor
// stops with reason shutdown, taking the whole Horde supervisor down).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "horde/child_spec.hpp"
#include "interop/term.hpp"

namespace hc::horde {

enum class ChildExitAction { restart, remove, relinquish };

ChildExitAction on_child_exit(RestartType restart, const Term& reason);

// True for normal, shutdown and {shutdown, _}: exits that are not reported.
bool is_clean_exit(const Term& reason);

class RestartIntensity {
 public:
  using Clock = std::chrono::steady_clock;

  // Horde's defaults: max_restarts 3, max_seconds 5.
  explicit RestartIntensity(unsigned max_restarts = 3, std::int64_t max_seconds = 5)
      : max_restarts_(max_restarts), max_seconds_(max_seconds) {}

  // Records a restart at `now`; false when the intensity is exceeded (the
  // supervisor must shut down).
  bool add_restart(Clock::time_point now);
  std::size_t recent_restarts() const noexcept { return restarts_.size(); }
  unsigned max_restarts() const noexcept { return max_restarts_; }
  std::int64_t max_seconds() const noexcept { return max_seconds_; }

 private:
  unsigned max_restarts_;
  std::int64_t max_seconds_;
  std::deque<std::int64_t> restarts_;  // seconds, newest first
};

}  // namespace hc::horde
