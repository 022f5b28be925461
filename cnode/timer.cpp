#include "cnode/timer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unordered_map>

namespace hc::cnode {
namespace {

class AsioTimerService final : public TimerService {
 public:
  explicit AsioTimerService(boost::asio::io_context& io) : io_(io) {}
  ~AsioTimerService() override {
    for (auto& [id, t] : timers_) t->cancel();
  }
  TimerId start(std::chrono::milliseconds delay, std::function<void()> fn) override {
    TimerId id = next_++;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
    timers_.emplace(id, timer);
    timer->async_wait([this, id, timer, fn = std::move(fn), alive = alive_](boost::system::error_code ec) {
      if (ec || !*alive) return;
      auto it = timers_.find(id);
      if (it == timers_.end()) return;
      timers_.erase(it);
      fn();
    });
    return id;
  }
  bool cancel(TimerId id) override {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    it->second->cancel();
    timers_.erase(it);
    return true;
  }

 private:
  boost::asio::io_context& io_;
  TimerId next_ = 1;
  std::unordered_map<TimerId, std::shared_ptr<boost::asio::steady_timer>> timers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<TimerService> make_asio_timer_service(boost::asio::io_context& io) {
  return std::make_unique<AsioTimerService>(io);
}

TimerId ManualTimerService::start(std::chrono::milliseconds delay, std::function<void()> fn) {
  TimerId id = next_++;
  timers_.emplace(now_ + delay, std::make_pair(id, std::move(fn)));
  return id;
}

bool ManualTimerService::cancel(TimerId id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

void ManualTimerService::advance(std::chrono::milliseconds by) {
  const auto until = now_ + by;
  while (!timers_.empty() && timers_.begin()->first <= until) {
    auto it = timers_.begin();
    now_ = it->first;
    auto fn = std::move(it->second.second);
    timers_.erase(it);
    fn();
  }
  now_ = until;
}

}  // namespace hc::cnode
