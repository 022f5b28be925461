// Helpers shared by the registry cluster tests (C++-only tier and real
// Horde tier): C++ nodes with a registry on NodeRunners, synchronous calls
// from the test thread, polling, exit-reason watchers.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cnode/node.hpp"
#include "support/cluster_support.hpp"
#include "horde/control_process.hpp"
#include "horde/echo_process.hpp"
#include "horde/registry_api.hpp"
#include "support/beam_node.hpp"

namespace hc::test::reg {

using namespace std::chrono_literals;

using hc::test::eventually;

inline cnode::NodeOptions node_options(const std::string& name, const std::string& cookie) {
  return loopback_node_options(name, cookie);
}

using hc::test::call;

// Records the exit reasons of the processes it monitors (DOWN messages).
class Watcher {
 public:
  explicit Watcher(cnode::NodeRunner& runner) : runner_(&runner) {
    auto reasons = reasons_;
    auto mutex = mutex_;
    pid_ = runner.run([&runner, reasons, mutex] {
                   return runner.node().spawn_fn([reasons, mutex](cnode::Process&, const Term& m) {
                     if (m.is_tuple(5) && m.element(0)->is_atom("DOWN")) {
                       std::lock_guard lock(*mutex);
                       (*reasons)[*m.element(3)] = *m.element(4);
                     }
                   });
                 }).get();
  }
  void watch(const Pid& pid) {
    Pid me = pid_;
    runner_->run([this, me, pid] {
      if (auto* p = runner_->node().find(me)) p->monitor(pid);
    }).get();
  }
  std::optional<Term> reason(const Pid& pid) const {
    std::lock_guard lock(*mutex_);
    auto it = reasons_->find(Term(pid));
    if (it == reasons_->end()) return std::nullopt;
    return it->second;
  }

 private:
  cnode::NodeRunner* runner_;
  Pid pid_;
  std::shared_ptr<std::map<Term, Term>> reasons_ = std::make_shared<std::map<Term, Term>>();
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

// A C++ node running one registry.
struct CppRegistryNode {
  std::unique_ptr<cnode::NodeRunner> runner;
  Atom registry;

  // `options` (default: node_options) lets a test tune the node, e.g. the
  // soak's tolerant peer timeout.
  CppRegistryNode(const std::string& name, const std::string& cookie, Atom registry_name,
                  std::optional<cnode::NodeOptions> options = std::nullopt)
      : runner(std::make_unique<cnode::NodeRunner>(options ? std::move(*options) : node_options(name, cookie))),
        registry(registry_name) {
    BOOST_REQUIRE(!runner->start());
    runner->run([this] {
      auto* control = horde::ensure_control_process(runner->node());
      if (control && !control->has_handler("lookup")) horde::install_registry_handlers(*control);
    }).get();
  }
  Atom name() { return runner->node().name(); }
  cnode::Node& node() { return runner->node(); }

  void start(std::vector<Atom> member_nodes, std::chrono::milliseconds sync = 100ms) {
    horde::RegistryOptions o;
    o.name = registry;
    o.sync_interval = sync;
    for (const Atom& n : member_nodes) o.members.push_back(horde::MemberSpec{registry, n});
    auto pid = runner->run([&] {
                       for (const Atom& n : member_nodes)
                         if (n != runner->node().name()) runner->node().add_peer(n);
                       return horde::RegistryProcess::start(runner->node(), o);
                     }).get();
    BOOST_REQUIRE(pid.has_value());
  }

  // members: auto (every visible node), as Horde's members: :auto.
  void start_auto(std::chrono::milliseconds sync = 100ms) {
    horde::RegistryOptions o;
    o.name = registry;
    o.sync_interval = sync;
    o.members_auto = true;
    BOOST_REQUIRE(runner->run([&] { return horde::RegistryProcess::start(runner->node(), o); }).get().has_value());
  }

  // Runs f(RegistryApi&) on the io thread; `fallback` when the registry is not running.
  template <class F, class R = std::invoke_result_t<F, horde::RegistryApi&>>
  R with_api(F f, R fallback = R{}) {
    return runner->run([&]() -> R {
      auto api = horde::RegistryApi::find(runner->node(), registry);
      return api ? f(*api) : fallback;
    }).get();
  }
  Pid spawn_echo() {
    return runner->run([this] { return runner->node().spawn(std::make_unique<horde::EchoProcess>()); }).get();
  }
  hc::Result<Pid> register_pid(const Pid& p, const Term& key, const Term& value) {
    return with_api([&](horde::RegistryApi& api) { return api.register_pid(p, key, value); },
                    hc::Result<Pid>(horde::RegistryErrc::no_registry));
  }
  // Registers a fresh echo process: {pid, result}.
  std::pair<Pid, hc::Result<Pid>> register_echo(const Term& key, const Term& value) {
    Pid p = spawn_echo();
    return {p, register_pid(p, key, value)};
  }
  std::optional<horde::RegistryMatch> lookup(const Term& key) {
    return with_api([&](horde::RegistryApi& api) { return api.lookup(key); });
  }
  std::size_t count() {
    return with_api([](horde::RegistryApi& api) { return api.count(); });
  }
  std::optional<Term> meta(const Term& key) {
    return with_api([&](horde::RegistryApi& api) { return api.meta(key); });
  }
  std::size_t members() {
    return with_api([](horde::RegistryApi& api) { return api.members().size(); });
  }
  bool alive(const Pid& p) {
    return runner->run([&] { return runner->node().is_alive(p); }).get();
  }
  void exit_process(const Pid& p, Term reason) {
    runner->run([&] {
      if (auto* proc = runner->node().find(p)) proc->exit(reason);
    }).get();
  }
  void stop() { runner->stop(); }
};

}  // namespace hc::test::reg
