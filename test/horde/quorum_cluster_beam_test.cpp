// Horde.UniformQuorumDistribution in clusters of C++ members (label beam:
// real distribution over loopback, epmd): placement refused without quorum,
// a member that loses quorum shuts its children down and its supervisor
// tree exits (as Horde's one_for_all tree does), wait_for_quorum answers
// once a member comes back.
#include "supervisor_test_support.hpp"

#include "horde/uniform_quorum_distribution.hpp"

using namespace hc;
using namespace hc::test::sup;
using hc::test::unique_name;

namespace {

constexpr auto kSync = 100ms;

struct QuorumCluster {
  std::string cookie = unique_name("cookie");
  Atom sup{"Elixir.HordeTest." + unique_name("QSup")};
  std::vector<std::string> short_names;
  std::vector<std::unique_ptr<CppMember>> members;
  std::vector<Atom> all;

  explicit QuorumCluster(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      short_names.push_back(unique_name("q" + std::to_string(i)));
      all.push_back(Atom(short_names.back() + "@127.0.0.1"));
    }
    for (std::size_t i = 0; i < n; ++i) members.push_back(start_member(i));
    for (auto& m : members)
      BOOST_REQUIRE_MESSAGE(eventually([&] { return m->alive_members() == n; }, 20s), "members never all alive");
  }
  horde::SupervisorOptions options() {
    horde::SupervisorOptions o;
    for (const Atom& a : all) o.members.push_back(tuple(sup, a));
    o.sync_interval = kSync;
    o.children_call_timeout = 2s;
    o.strategy = std::make_shared<horde::UniformQuorumDistribution>();
    return o;
  }
  // (Re)start member i under its fixed node name.
  std::unique_ptr<CppMember> start_member(std::size_t i) {
    auto m = std::make_unique<CppMember>("unused", cookie, sup);
    m->runner = std::make_unique<cnode::NodeRunner>(hc::test::loopback_node_options(short_names[i], cookie));
    BOOST_REQUIRE(!m->runner->start());
    m->start(options());
    return m;
  }
  bool sup_running(CppMember& m) { return m.with_sup([](horde::SupervisorProcess&) { return true; }, false); }
};

bool ok_tuple(const cnode::CallResult& r) {
  return r.ok() && r.value().is_tuple(2) && r.value().element(0)->is_atom("ok");
}

std::string what(const cnode::CallResult& r) { return to_string(r.ok() ? r.value() : r.reason()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(quorum_cluster_beam_test)

BOOST_AUTO_TEST_CASE(losing_quorum_shuts_the_members_children_down) {
  QuorumCluster c(3);
  auto& a = *c.members[0];
  std::vector<Pid> on_a;
  for (int i = 0; i < 30; ++i) {
    auto r = a.call_sup(tuple(atom("start_child"), counter_spec(i)));
    BOOST_REQUIRE_MESSAGE(ok_tuple(r), what(r));
    const Pid p = *r.value().element(1)->as_pid();
    if (p.node == a.name()) on_a.push_back(p);
  }
  BOOST_REQUIRE(!on_a.empty());
  // Two of three members go away: A is alone with 1 of 3 alive.
  c.members[1]->kill();
  c.members[2]->kill();
  // Horde stops the ProcessesSupervisor, which takes the member's tree down.
  BOOST_TEST(eventually([&] { return !c.sup_running(a); }, 10s));
  BOOST_TEST(a.runner->run([&] {
    for (const Pid& p : on_a)
      if (a.runner->node().is_alive(p)) return false;
    return true;
  }).get());
  BOOST_TEST(!a.runner->run([&] { return a.runner->node().whereis(horde::sup::processes_supervisor_name_of(c.sup)); })
                  .get()
                  .has_value());
}

BOOST_AUTO_TEST_CASE(without_quorum_nothing_is_placed_and_wait_for_quorum_waits) {
  QuorumCluster c(3);
  auto& a = *c.members[0];
  // A runs no children, so losing quorum leaves it up (Horde only stops a
  // ProcessesSupervisor that has something to stop).
  BOOST_TEST(a.call_sup(Term(atom("wait_for_quorum"))).value() == Term(atom("ok")));
  c.members[1]->kill();
  c.members[2]->kill();
  BOOST_REQUIRE(eventually([&] { return a.alive_members() == 1u; }, 10s));
  auto r = a.call_sup(tuple(atom("start_child"), counter_spec(1)));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value() == tuple(atom("error"), atom("quorum_not_met")));
  BOOST_TEST(c.sup_running(a));
  auto waiting = std::async(std::launch::async, [&] { return a.call_sup(Term(atom("wait_for_quorum")), 30s); });
  BOOST_TEST((waiting.wait_for(500ms) == std::future_status::timeout));  // still no quorum
  // One member comes back (same node name): 2 of 3 alive again.
  c.members[1] = c.start_member(1);
  BOOST_REQUIRE((waiting.wait_for(20s) == std::future_status::ready));
  auto w = waiting.get();
  BOOST_REQUIRE_MESSAGE(w.ok(), what(w));
  BOOST_TEST(w.value() == Term(atom("ok")));
  // A start_child on A may be proxied to the member that just came back, and
  // Horde's owner runs choose_node (and its quorum check) again with its own
  // view: until that member has heard from A it still sees no quorum and
  // answers quorum_not_met, in Horde as here. So it, too, must see quorum.
  auto back = c.members[1]->call_sup(Term(atom("wait_for_quorum")), 20s);
  BOOST_REQUIRE_MESSAGE(back.ok(), what(back));
  BOOST_TEST(back.value() == Term(atom("ok")));
  auto again = a.call_sup(tuple(atom("start_child"), counter_spec(2)));
  BOOST_TEST(ok_tuple(again), what(again));
}

BOOST_AUTO_TEST_SUITE_END()
