// Timers for processes (send_after, call timeouts), behind an interface so
// tests can drive time by hand (house style: injected clocks).
// All methods run on the node's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace hc::cnode {

using TimerId = std::uint64_t;  // 0 is never a valid id

class TimerService {
 public:
  virtual ~TimerService() = default;
  // Run `fn` once after `delay` (on the io thread). Returns a handle for cancel().
  virtual TimerId start(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // True when the timer was pending (it will not fire).
  virtual bool cancel(TimerId id) = 0;
};

// Real timers on an io_context (boost::asio::steady_timer).
std::unique_ptr<TimerService> make_asio_timer_service(boost::asio::io_context& io);

// Manual time for tests: nothing fires until advance() is called.
class ManualTimerService final : public TimerService {
 public:
  TimerId start(std::chrono::milliseconds delay, std::function<void()> fn) override;
  bool cancel(TimerId id) override;
  // Move the clock forward, firing due timers in deadline order.
  void advance(std::chrono::milliseconds by);
  std::chrono::milliseconds now() const { return now_; }
  std::size_t pending() const { return timers_.size(); }

 private:
  std::chrono::milliseconds now_{0};
  TimerId next_ = 1;
  std::multimap<std::chrono::milliseconds, std::pair<TimerId, std::function<void()>>> timers_;
};

}  // namespace hc::cnode
