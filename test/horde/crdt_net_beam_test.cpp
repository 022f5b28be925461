// C++ 'N.Crdt' processes on two and three C++ nodes over real distribution
// connections converge (label beam: needs epmd from an Erlang install).
#include "crdt_net_support.hpp"

#include "support/beam_node.hpp"

using namespace hc;
using namespace hc::test::crdtnet;
using hc::test::unique_name;

namespace {

const Atom kCrdt("Elixir.NetTest.Crdt");

Term key(const std::string& name) { return tuple(Atom("key"), binary(name)); }

// Every node lists every other node's CRDT as neighbour.
void mesh(std::vector<CppCrdtNode*> nodes) {
  for (auto* n : nodes) {
    std::vector<Term> ns;
    std::vector<Atom> peers;
    for (auto* o : nodes) {
      if (o == n) continue;
      ns.push_back(o->name_term());
      peers.push_back(o->node_name());
    }
    n->neighbours(ns, peers);
  }
}

bool converged(std::vector<CppCrdtNode*> nodes) {
  Term first = nodes[0]->contents();
  for (auto* n : nodes)
    if (!(n->contents() == first)) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crdt_net_beam_test)

BOOST_AUTO_TEST_CASE(two_cpp_nodes_converge) {
  const std::string cookie = unique_name("cookie");
  CppCrdtNode a(unique_name("crdt_a"), cookie, kCrdt), b(unique_name("crdt_b"), cookie, kCrdt);
  a.put(key("early"), Term(1));  // written before the nodes know each other
  mesh({&a, &b});
  BOOST_REQUIRE(eventually([&] { return b.read() == Term::map({{key("early"), Term(1)}}); }));

  b.put(key("from_b"), binary("x"));
  a.remove(key("early"));
  BOOST_REQUIRE(eventually([&] { return converged({&a, &b}) && a.read() == Term::map({{key("from_b"), binary("x")}}); }));

  // After convergence, sync rounds move no key (no endless resend).
  std::uint64_t ta = a.key_traffic(), tb = b.key_traffic();
  std::uint64_t rounds = a.stat("diffs_out");
  BOOST_REQUIRE(eventually([&] { return a.stat("diffs_out") >= rounds + 5; }));
  BOOST_CHECK_EQUAL(a.key_traffic(), ta);
  BOOST_CHECK_EQUAL(b.key_traffic(), tb);
}

BOOST_AUTO_TEST_CASE(three_cpp_nodes_converge_with_concurrent_writes) {
  const std::string cookie = unique_name("cookie");
  CppCrdtNode a(unique_name("crdt_a"), cookie, kCrdt), b(unique_name("crdt_b"), cookie, kCrdt),
      c(unique_name("crdt_c"), cookie, kCrdt);
  // Concurrent writes of one key before any sync, and distinct keys.
  a.put(key("shared"), binary("a"));
  b.put(key("shared"), binary("b"));
  c.put(key("shared"), binary("c"));
  for (int i = 0; i < 50; ++i) (i % 3 == 0 ? a : i % 3 == 1 ? b : c).put(key("k" + std::to_string(i)), Term(i));
  mesh({&a, &b, &c});
  BOOST_REQUIRE(eventually([&] { return converged({&a, &b, &c}); }));
  Term r = a.read();
  BOOST_CHECK_EQUAL(r.map_size(), 51u);
  BOOST_CHECK(*r.map_get(key("shared")) == binary("c"));  // the latest write (largest timestamp)
  BOOST_CHECK(b.read() == r && c.read() == r);
  for (int i = 0; i < 50; i += 2) b.remove(key("k" + std::to_string(i)));
  BOOST_REQUIRE(eventually([&] { return converged({&a, &b, &c}) && c.read().map_size() == 26u; }));
}

BOOST_AUTO_TEST_SUITE_END()
