// A Transport for tests of the router and the signals: peers are connected
// (with flags) when the test says so; control messages and connect requests
// are recorded, and a connect completes only when the test calls its done.
#pragma once

#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cnode/hashes.hpp"
#include "cnode/transport.hpp"

namespace hc::cnode::test {

class FakeTransport final : public Transport {
 public:
  std::unordered_map<Atom, std::uint64_t, AtomHash> connected;  // node -> flags
  std::vector<std::pair<Atom, ControlMessage>> sent;
  std::vector<std::pair<Atom, std::function<void(std::error_code)>>> connects;

  bool is_connected(Atom node) const override { return connected.count(node) > 0; }
  std::uint64_t peer_flags(Atom node) const override {
    auto it = connected.find(node);
    return it == connected.end() ? 0 : it->second;
  }
  std::error_code send_ctrl(Atom node, const ControlMessage& m, const Term*, bool, const Pid*) override {
    sent.emplace_back(node, m);
    return {};
  }
  void connect(Atom node, std::function<void(std::error_code)> done) override {
    connects.emplace_back(node, std::move(done));
  }
};

}  // namespace hc::cnode::test
