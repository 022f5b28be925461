// Helpers shared by the tests that run C++ nodes over real sockets (CRDT
// network, registry and supervisor clusters): polling and node options for
// a loopback-only test node.
#pragma once

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "cnode/node.hpp"
#include "support/child_process.hpp"  // run_capture, ChildProcess, TempDir

namespace hc::test {

// Polls `f` every `poll` until it returns true or `timeout` passes
// (convergence over real sockets and timers has no single event to wait for).
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(poll);
  }
  return f();
}

// A node on 127.0.0.1 only, without discovery, with fast reconnects and
// ticks so that tests notice dead peers within seconds.
inline cnode::NodeOptions loopback_node_options(const std::string& name, const std::string& cookie) {
  using namespace std::chrono_literals;
  cnode::NodeOptions o;
  o.name = name + "@127.0.0.1";
  o.cookie = cookie;
  o.listen_address = "127.0.0.1";
  o.discovery = false;
  o.reconnect_min = 100ms;
  o.reconnect_max = 500ms;
  o.tick_interval = 1000ms;
  o.peer_timeout = 4000ms;
  return o;
}


// gen_server:call from a throw-away process on `runner`, waited on by the test thread.
inline cnode::CallResult call(cnode::NodeRunner& runner, cnode::Dest dest, Term request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto promise = std::make_shared<std::promise<cnode::CallResult>>();
  auto future = promise->get_future();
  runner.post([&runner, dest, request, timeout, promise] {
    runner.node().spawn_fn([](cnode::Process&, const Term&) {}, {},
                           [dest, request, timeout, promise](cnode::Process& self) {
                             self.call(dest, request, timeout, [promise, &self](cnode::CallResult r) {
                               promise->set_value(std::move(r));
                               self.exit(Term(atom("normal")));
                             });
                           });
  });
  if (future.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready)
    return cnode::CallResult::failure(std::make_error_code(std::errc::timed_out), Term(atom("test_timeout")));
  return future.get();
}

}  // namespace hc::test
