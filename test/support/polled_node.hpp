// PolledNode: one C++ node without sockets to peers, for deterministic unit
// tests. It runs on a test-owned io_context that the test drives with
// settle() (poll until nothing is ready), with a ManualTimerService
// (`timers`, advanced by the test) and no epmd or discovery.
//
//   PolledNode n;
//   Pid p = n.node->spawn(...);
//   n.node->send(n.node->null_pid(), cnode::Dest(p), msg);
//   n.settle();  // the message has been handled
//
// The constructor throws std::runtime_error when the node does not start.
// Thread-safety: the test thread only (it is the node's io thread).
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <stdexcept>

#include "cnode/node.hpp"
#include "cnode/timer.hpp"

namespace hc::test {

struct PolledNode {
  boost::asio::io_context io;
  cnode::ManualTimerService* timers = nullptr;  // owned by the node
  std::unique_ptr<cnode::Node> node;

  PolledNode() {
    cnode::NodeOptions o;
    o.name = "unit@127.0.0.1";
    o.cookie = "c";
    o.listen_address = "127.0.0.1";
    o.use_epmd = false;
    o.discovery = false;
    auto t = std::make_unique<cnode::ManualTimerService>();
    timers = t.get();
    node = std::make_unique<cnode::Node>(io, o, std::move(t));
    bool started = false;
    node->start([&](std::error_code ec) { started = !ec; });
    settle();
    if (!started) throw std::runtime_error("PolledNode: the node did not start");
  }
  ~PolledNode() {
    node->stop();
    settle();
  }
  PolledNode(const PolledNode&) = delete;
  PolledNode& operator=(const PolledNode&) = delete;

  // Runs every handler that is ready, until none is.
  void settle() {
    io.restart();
    io.poll();
  }
};

}  // namespace hc::test
