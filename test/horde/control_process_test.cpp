// ensure_control_process and ControlProcess::of: the node's control process
// is found through its per-node record (no cast of a Process found by pid),
// on one node without sockets (a test-owned io_context driven with poll()).
#include "horde/control_process.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/node.hpp"
#include "support/polled_node.hpp"

using namespace hc;
using namespace hc::horde;

using LocalNode = hc::test::PolledNode;

BOOST_AUTO_TEST_SUITE(control_process_test)

BOOST_AUTO_TEST_CASE(spawned_once_and_registered) {
  LocalNode n;
  BOOST_TEST(ControlProcess::of(*n.node) == nullptr);
  ControlProcess* first = ensure_control_process(*n.node);
  BOOST_REQUIRE(first != nullptr);
  BOOST_TEST(ControlProcess::of(*n.node) == first);
  BOOST_TEST(ensure_control_process(*n.node) == first);
  auto pid = n.node->whereis(ControlProcess::registered_name());
  BOOST_REQUIRE(pid.has_value());
  BOOST_TEST(*pid == first->self());
}

BOOST_AUTO_TEST_CASE(a_new_one_after_the_old_one_exits) {
  LocalNode n;
  ControlProcess* first = ensure_control_process(*n.node);
  BOOST_REQUIRE(first != nullptr);
  const Pid old_pid = first->self();
  n.node->exit_signal(n.node->null_pid(), old_pid, Term(atom("kill")));
  n.settle();
  // terminate left the record: nothing points at the dead process.
  BOOST_TEST(ControlProcess::of(*n.node) == nullptr);
  ControlProcess* second = ensure_control_process(*n.node);
  BOOST_REQUIRE(second != nullptr);
  BOOST_TEST(second->self() != old_pid);
  BOOST_TEST(*n.node->whereis(ControlProcess::registered_name()) == second->self());
}

BOOST_AUTO_TEST_CASE(name_held_by_another_process_gives_none) {
  LocalNode n;
  cnode::SpawnOptions o;
  o.register_as = ControlProcess::registered_name();
  const Pid other = n.node->spawn_fn([](cnode::Process&, const Term&) {}, o);
  BOOST_TEST(ensure_control_process(*n.node) == nullptr);
  BOOST_TEST(*n.node->whereis(ControlProcess::registered_name()) == other);
}

// Several nodes in one process keep their own control processes.
BOOST_AUTO_TEST_CASE(one_per_node) {
  LocalNode a, b;
  ControlProcess* ca = ensure_control_process(*a.node);
  ControlProcess* cb = ensure_control_process(*b.node);
  BOOST_REQUIRE(ca != nullptr);
  BOOST_REQUIRE(cb != nullptr);
  BOOST_TEST(ca != cb);
  BOOST_TEST(ControlProcess::of(*a.node) == ca);
  BOOST_TEST(ControlProcess::of(*b.node) == cb);
}

BOOST_AUTO_TEST_SUITE_END()
