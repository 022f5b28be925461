// Driving a test-owned io_context: run its handlers until a condition
// holds, bounded so that a broken expectation fails instead of hanging.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace hc::cnode::test {

template <class P>
bool run_until(boost::asio::io_context& io, P pred, std::chrono::milliseconds bound = std::chrono::seconds(5)) {
  using namespace std::chrono_literals;
  const auto until = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!pred() && std::chrono::steady_clock::now() < until) io.run_one_for(10ms);
  return pred();
}

// Run whatever becomes ready within `d` (closes, flushes).
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

}  // namespace hc::cnode::test
