// Helpers for the CRDT network tests: C++ nodes each running one 'N.Crdt'
// CrdtProcess on a NodeRunner, driven from the test thread.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cnode/node.hpp"
#include "support/cluster_support.hpp"
#include "horde/crdt_process.hpp"
#include "interop/phash2.hpp"

namespace hc::test::crdtnet {

using namespace std::chrono_literals;

// Polls `f` until true or the deadline (convergence over real sockets and
// timers has no single event to wait for).
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = 15s) {
  return hc::test::eventually(std::move(f), timeout);
}

inline cnode::NodeOptions node_options(const std::string& name, const std::string& cookie) {
  return loopback_node_options(name, cookie);
}

struct CppCrdtNode {
  std::unique_ptr<cnode::NodeRunner> runner;
  Atom crdt_name;
  Pid pid;

  CppCrdtNode(const std::string& name, const std::string& cookie, Atom crdt, std::chrono::milliseconds sync = 50ms)
      : runner(std::make_unique<cnode::NodeRunner>(node_options(name, cookie))), crdt_name(crdt) {
    BOOST_REQUIRE(!runner->start());
    pid = runner->run([&] {
                   horde::CrdtProcessOptions o;
                   o.name = crdt;
                   o.sync_interval = sync;
                   cnode::SpawnOptions s;
                   s.register_as = crdt;
                   return runner->node().spawn(std::make_unique<horde::CrdtProcess>(std::move(o)), s);
                 }).get();
  }
  Atom node_name() { return runner->node().name(); }
  Term name_term() { return tuple(crdt_name, node_name()); }

  template <class F>
  auto with(F f) {
    return runner->run([this, f] {
                   auto* p = dynamic_cast<horde::CrdtProcess*>(runner->node().find(pid));
                   BOOST_REQUIRE(p);
                   return f(*p);
                 }).get();
  }
  void put(const Term& k, const Term& v) {
    with([&](horde::CrdtProcess& p) {
      p.put(k, v);
      return 0;
    });
  }
  void remove(const Term& k) {
    with([&](horde::CrdtProcess& p) {
      p.remove(k);
      return 0;
    });
  }
  void neighbours(std::vector<Term> ns, const std::vector<Atom>& peers) {
    runner->run([&] {
      for (const Atom& n : peers) runner->node().add_peer(n);
    }).get();
    with([&](horde::CrdtProcess& p) {
      p.set_neighbours(ns);
      return 0;
    });
  }
  Term read() {
    return with([](horde::CrdtProcess& p) { return p.read(); });
  }
  // The replicated contents (`value` of the AWLWWMap).
  Term contents() {
    return with([](horde::CrdtProcess& p) { return *p.engine().state().to_term().map_get(std::string_view("value")); });
  }
  std::uint64_t stat(const char* key) {
    Term s = with([](horde::CrdtProcess& p) { return p.stats_term(); });
    return static_cast<std::uint64_t>(*s.map_get(std::string_view(key))->as_int());
  }
  // Keys moved in either direction so far.
  std::uint64_t key_traffic() {
    return stat("slices_in") + stat("slices_out") + stat("get_diffs_in") + stat("get_diffs_out");
  }
};

}  // namespace hc::test::crdtnet
