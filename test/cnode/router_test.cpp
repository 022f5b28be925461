// The router on its own: where each kind of Dest goes (a local process, a
// control message to a peer, or nowhere), with the peers' connection state
// and flags given by a fake transport. No sockets, no io_context.
#include "cnode/router.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/flags.hpp"
#include "fake_transport.hpp"
#include "manual_turns.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {

const Atom kSelf("router_self@127.0.0.1");
const Atom kPeer("router_peer@127.0.0.1");

struct Fixture {
  test::ManualTurns turns;
  ProcessTable procs{turns.post(), [this](ProcessEntry& e, const Term& r) { procs.finish(e, r); }};
  test::FakeTransport peers;
  Router router{procs, peers};
  Fixture() { procs.set_identity(kSelf, 7); }
  Pid spawn() {
    const Pid pid = procs.allocate_pid();
    procs.run_init(procs.insert(pid, std::make_unique<FunctionProcess>([](Process&, const Term&) {}), false, nullptr,
                                nullptr));
    return pid;
  }
};

const Pid* local_of(const Route& r) {
  auto* l = std::get_if<RouteLocal>(&r);
  return l ? &l->pid : nullptr;
}
// Pointers into `r`: keep the Route alive while using them.
const RouteRemote* remote_of(const Route& r) { return std::get_if<RouteRemote>(&r); }
bool nowhere(const Route& r) { return std::holds_alternative<RouteNowhere>(r); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(router_test, Fixture)

BOOST_AUTO_TEST_CASE(local_pids_go_to_their_process_and_old_incarnations_nowhere) {
  const Pid p = spawn();
  BOOST_TEST((local_of(router.route(p, p)) && *local_of(router.route(p, p)) == p));
  Pid old = p;
  old.creation = 6;  // this node's name, a previous creation
  BOOST_TEST(nowhere(router.route(p, old)));
}

BOOST_AUTO_TEST_CASE(remote_pids_use_send_sender_unless_a_connected_peer_lacks_it) {
  const Pid from = spawn();
  const Pid to{kPeer, 3, 0, 1};
  // Not connected: SEND_SENDER (we offer it, so the coming connection has it), connecting.
  Route route = router.route(from, to);
  auto r = remote_of(route);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->node == kPeer);
  BOOST_TEST(r->auto_connect);
  BOOST_TEST(std::holds_alternative<ctrl::SendSender>(r->control));
  BOOST_TEST((std::get<ctrl::SendSender>(r->control).from == from));
  peers.connected[kPeer] = 0;  // an old peer without SEND_SENDER
  route = router.route(from, to);
  r = remote_of(route);
  BOOST_REQUIRE(r);
  BOOST_TEST(std::holds_alternative<ctrl::Send>(r->control));
  peers.connected[kPeer] = dflag::SEND_SENDER;
  route = router.route(from, to);
  r = remote_of(route);
  BOOST_REQUIRE(r);
  BOOST_TEST(std::holds_alternative<ctrl::SendSender>(r->control));
}

BOOST_AUTO_TEST_CASE(names_resolve_locally_and_remote_names_become_reg_send) {
  const Pid p = spawn();
  BOOST_TEST(nowhere(router.route(p, Atom("srv"))));
  BOOST_REQUIRE(procs.register_name(Atom("srv"), p));
  BOOST_TEST((*local_of(router.route(p, Atom("srv"))) == p));
  BOOST_TEST((*local_of(router.route(p, Dest(Atom("srv"), kSelf))) == p));  // {Name, ThisNode}
  BOOST_TEST(nowhere(router.route(p, Dest(Atom("other"), kSelf))));
  Route route = router.route(p, Dest(Atom("srv"), kPeer));
  auto r = remote_of(route);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->auto_connect);
  BOOST_REQUIRE(std::holds_alternative<ctrl::RegSend>(r->control));
  BOOST_TEST(std::get<ctrl::RegSend>(r->control).to_name == Atom("srv"));
  BOOST_TEST(procs.unregister_name(Atom("srv")));
  BOOST_TEST(nowhere(router.route(p, Atom("srv"))));
}

BOOST_AUTO_TEST_CASE(local_aliases_reach_their_owner_until_removed_or_the_owner_ends) {
  const Pid p = spawn();
  const Reference a1 = procs.make_ref(), a2 = procs.make_ref();
  BOOST_TEST(router.add_alias(p, a1));
  BOOST_TEST(router.add_alias(p, a2));
  BOOST_TEST((*local_of(router.route(p, a1)) == p));
  router.remove_alias(a1);
  BOOST_TEST(nowhere(router.route(p, a1)));
  BOOST_TEST((*local_of(router.route(p, a2)) == p));
  // The owner ends: the table hands its aliases back, the router forgets them.
  auto remains = procs.finish(*procs.entry(p), Term(Atom("normal")));
  BOOST_REQUIRE(remains);
  BOOST_TEST(remains->aliases == (std::vector<Term>{Term(a2)}));
  router.release(remains->aliases);
  BOOST_TEST(nowhere(router.route(p, a2)));
  BOOST_TEST(router.alias_count() == 0u);
  BOOST_TEST(!router.add_alias(p, procs.make_ref()));  // a dead process gets no alias
}

BOOST_AUTO_TEST_CASE(remote_aliases_go_only_to_connected_alias_peers_and_never_connect) {
  const Pid p = spawn();
  Reference remote_alias;
  remote_alias.node = kPeer;
  remote_alias.creation = 1;
  remote_alias.ids = {1, 2, 3};
  BOOST_TEST(nowhere(router.route(p, remote_alias)));  // not connected
  peers.connected[kPeer] = dflag::SEND_SENDER;         // connected, no ALIAS
  BOOST_TEST(nowhere(router.route(p, remote_alias)));
  peers.connected[kPeer] = dflag::ALIAS;
  Route route = router.route(p, remote_alias);
  auto r = remote_of(route);
  BOOST_REQUIRE(r);
  BOOST_TEST(!r->auto_connect);
  BOOST_TEST(std::holds_alternative<ctrl::AliasSend>(r->control));
}

BOOST_AUTO_TEST_CASE(monitor_targets_are_found_by_pid_or_name) {
  const Pid p = spawn();
  BOOST_REQUIRE(procs.register_name(Atom("named"), p));
  BOOST_TEST(router.target(Term(p)) == procs.entry(p));
  BOOST_TEST(router.target(Term(Atom("named"))) == procs.entry(p));
  BOOST_TEST(router.target(Term(Atom("nobody"))) == nullptr);
  BOOST_TEST(router.target(Term(42)) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
