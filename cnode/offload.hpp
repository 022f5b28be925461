// Work taken off the io thread: one worker thread per owner (started at the
// first job), jobs run in the order given, and each job's completion runs
// back on the io thread. What it is for: decoding a message of tens of MB
// takes 0.1-0.3 s, and on the io thread that is a pause of every process,
// timer and connection of the node (issue 13: no turn over ~50 ms); on the
// worker it also uses a second core.
//
// Threading: run() is called on the io thread; `work` runs on the worker
// and must only touch what it owns (its captures); `done` runs on the io
// thread, in a turn of its own. While a job is in flight the io_context has
// outstanding work (io.run() does not return). Lifetime: the destructor
// waits for the job that is running (not for the queued ones, which are
// dropped) and no `done` runs after it: callers need no liveness flag.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace hc::cnode {

class Offload {
 public:
  explicit Offload(boost::asio::io_context& io) : io_(io) {}
  ~Offload() { stop(); }
  Offload(const Offload&) = delete;
  Offload& operator=(const Offload&) = delete;

  // `work()` on the worker, then `done(result)` on the io thread. Cost on
  // the io thread: a queue push (the thread start on the first call).
  template <class Work, class Done>
  void run(Work work, Done done) {
    if (!pool_) pool_.emplace(1);
    boost::asio::post(*pool_, [alive = std::weak_ptr<bool>(alive_), guard = boost::asio::make_work_guard(io_),
                               work = std::move(work), done = std::move(done)]() mutable {
      if (alive.expired()) return;
      auto result = work();
      boost::asio::post(guard.get_executor(), [alive, result = std::move(result), done = std::move(done)]() mutable {
        if (!alive.expired()) done(std::move(result));
      });
    });
  }
  // Drop the queued jobs, wait for the running one; no completion runs afterwards.
  void stop() {
    alive_.reset();
    if (pool_) {
      pool_->stop();
      pool_->join();
      pool_.reset();
    }
    alive_ = std::make_shared<bool>(true);
  }

 private:
  boost::asio::io_context& io_;
  std::optional<boost::asio::thread_pool> pool_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hc::cnode
