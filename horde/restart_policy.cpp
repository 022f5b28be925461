#include "horde/restart_policy.hpp"

namespace hc::horde {

bool is_clean_exit(const Term& reason) {
  if (reason.is_atom("normal") || reason.is_atom("shutdown")) return true;
  return reason.is_tuple(2) && reason.element(0)->is_atom("shutdown");
}

ChildExitAction on_child_exit(RestartType restart, const Term& reason) {
  if (reason.is_tuple(2) && reason.element(0)->is_atom("shutdown") &&
      reason.element(1)->is_atom("process_redistribution"))
    return ChildExitAction::relinquish;
  if (restart == RestartType::permanent) return ChildExitAction::restart;
  if (is_clean_exit(reason)) return ChildExitAction::remove;
  if (restart == RestartType::transient) return ChildExitAction::restart;
  return ChildExitAction::remove;
}

bool RestartIntensity::add_restart(Clock::time_point now) {
  const std::int64_t t =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  restarts_.push_front(t);
  // Keep `then` while now <= then + period.
  std::deque<std::int64_t> kept;
  for (std::int64_t then : restarts_)
    if (t <= then + max_seconds_) kept.push_back(then);
  restarts_.swap(kept);
  return restarts_.size() <= max_restarts_;
}

}  // namespace hc::horde
