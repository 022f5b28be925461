// Helpers shared by the supervisor cluster tests (C++-only and real Horde):
// C++ members on NodeRunners, synchronous calls from the test thread, polling.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cnode/node.hpp"
#include "support/cluster_support.hpp"
#include "horde/mixed_distribution.hpp"
#include "horde/supervisor_process.hpp"
#include "support/beam_node.hpp"

namespace hc::test::sup {

using namespace std::chrono_literals;

using hc::test::eventually;

inline cnode::NodeOptions member_options(const std::string& prefix, const std::string& cookie) {
  return loopback_node_options(unique_name(prefix), cookie);
}

using hc::test::call;

// A C++ member: a node plus its supervisor N.
struct CppMember {
  std::unique_ptr<cnode::NodeRunner> runner;
  Atom sup;

  CppMember(const std::string& prefix, const std::string& cookie, Atom sup_name)
      : runner(std::make_unique<cnode::NodeRunner>(member_options(prefix, cookie))), sup(sup_name) {
    BOOST_REQUIRE(!runner->start());
  }
  Atom name() { return runner->node().name(); }
  void start(horde::SupervisorOptions options) {
    options.name = sup;
    auto pid = runner->run([&] { return horde::SupervisorProcess::start(runner->node(), options); }).get();
    BOOST_REQUIRE(pid.has_value());
  }
  // Runs f(SupervisorProcess&) on the io thread; `fallback` when N is not running.
  template <class F, class R = std::invoke_result_t<F, horde::SupervisorProcess&>>
  R with_sup(F f, R fallback = R{}) {
    return runner->run([&]() -> R {
      auto* sp = horde::SupervisorProcess::find(runner->node(), sup);
      return sp ? f(*sp) : fallback;
    }).get();
  }
  std::size_t alive_members() {
    return with_sup([](horde::SupervisorProcess& sp) {
      std::size_t n = 0;
      for (const auto& m : sp.state().members()) n += m.is_alive();
      return n;
    });
  }
  // {Id => {Owner, Spec, Pid}} as this member sees it.
  std::map<Term, horde::sup::ChildEntry> processes() {
    return with_sup([](horde::SupervisorProcess& sp) { return sp.state().processes(); });
  }
  std::size_t running_children() {
    return with_sup([](horde::SupervisorProcess& sp) {
      auto* ps = sp.processes_supervisor();
      return ps ? ps->child_count() : std::size_t{0};
    });
  }
  cnode::CallResult call_sup(Term request, std::chrono::milliseconds timeout = 10s) {
    return call(*runner, cnode::Dest(sup), std::move(request), timeout);
  }
  void kill() { runner->stop(); }
};

inline Term counter_spec(int i, Term id = Term(atom("counter"))) {
  const Atom m("Elixir.CppWorkers.Counter");
  return Term::map({{Term(atom("id")), std::move(id)}, {Term(atom("start")), tuple(m, atom("start_link"), list(i))}});
}

inline Term elixir_spec(int i) {
  const Atom m("Elixir.HordeCnodeTest.ElixirWorker");
  return Term::map({{Term(atom("id")), Term(atom("elixir"))}, {Term(atom("start")), tuple(m, atom("start_link"), list(i))}});
}

// The spec's first start argument (our tests make them unique per child).
inline Term spec_arg(const Term& spec) { return spec.map_get("start")->element(2)->list_elements()[0]; }

}  // namespace hc::test::sup
