// Issue 11 faults 1 and 3 end to end, with real erl nodes (no Horde needed):
// a BEAM process sends {'EXIT', self(), kill} to 'N.Crdt' and the C++ role
// restarts with its names; a hidden node never becomes a member under
// members: auto, a visible one does.
#include <boost/test/unit_test.hpp>

#include "horde/registry_api.hpp"
#include "horde/role_supervisor.hpp"
#include "registry_test_support.hpp"

using namespace hc;
using namespace hc::test;
using namespace hc::test::reg;
using namespace std::chrono_literals;

namespace {

const Atom kReg("Elixir.RestartTest.Registry");

struct AutoRegistryNode : CppRegistryNode {
  using CppRegistryNode::CppRegistryNode;
  std::vector<Atom> member_nodes() {
    return with_api([](horde::RegistryApi& api) {
      std::vector<Atom> out;
      for (const auto& m : api.members()) out.push_back(m.node);
      return out;
    });
  }
  std::optional<Pid> where(Atom name) {
    return runner->run([&] { return runner->node().whereis(name); }).get();
  }
  Term role_stats() {
    return runner->run([&] {
      Term all = horde::RoleDirectory::of(runner->node()).stats_term();
      const Term* r = all.map_get(Term(registry));
      return r ? *r : Term(atom("none"));
    }).get();
  }
};

bool contains(const std::vector<Atom>& v, const std::string& n) {
  return std::find(v.begin(), v.end(), Atom(n)) != v.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(role_restart_beam_test)

BOOST_AUTO_TEST_CASE(hidden_nodes_never_become_members) {
  const std::string cookie = unique_name("cookie");
  AutoRegistryNode cpp(unique_name("cpp"), cookie, kReg);
  cpp.start_auto();
  BeamNode visible{{unique_name("visible"), cookie}};
  BeamNode hidden{{unique_name("hidden"), cookie, {}, {"-hidden"}}};
  const std::string N = "'" + std::string(cpp.name().text()) + "'";
  BOOST_REQUIRE_EQUAL(hidden.eval("net_adm:ping(" + N + ")."), "pong");
  BOOST_REQUIRE_EQUAL(visible.eval("net_adm:ping(" + N + ")."), "pong");
  BOOST_TEST(eventually([&] { return contains(cpp.member_nodes(), visible.node_name()); }));
  BOOST_TEST(cpp.runner->run([&] { return cpp.node().is_connected(Atom(hidden.node_name())); }).get());
  BOOST_TEST(!contains(cpp.member_nodes(), hidden.node_name()));
  // The hidden node leaving and coming back changes nothing either.
  hidden.kill();
  BOOST_TEST(eventually([&] { return !cpp.runner->run([&] { return cpp.node().is_connected(Atom(hidden.node_name())); }).get(); }));
  BOOST_TEST(!contains(cpp.member_nodes(), hidden.node_name()));
  BOOST_TEST(contains(cpp.member_nodes(), visible.node_name()));
}

BOOST_AUTO_TEST_CASE(exit_message_from_a_beam_process_restarts_the_role) {
  const std::string cookie = unique_name("cookie");
  AutoRegistryNode cpp(unique_name("cpp"), cookie, kReg);
  cpp.start_auto();
  auto [echo, r] = cpp.register_echo(binary("survivor"), atom("v"));
  BOOST_REQUIRE(r.ok());
  const auto before = cpp.where(kReg);
  BeamNode beam{{unique_name("sender"), cookie}};
  const std::string N = "'" + std::string(cpp.name().text()) + "'";
  // What issue 11 reproduced: from then on {error, {no_registry, N}} forever.
  beam.eval("{'Elixir.RestartTest.Registry.Crdt', " + N + "} ! {'EXIT', self(), kill}, ok.");
  BOOST_TEST(eventually([&] {
    auto now = cpp.where(kReg);
    return now && before && !(*now == *before);
  }));
  BOOST_TEST(*cpp.role_stats().map_get(Term(atom("restarts"))) == Term(1));
  BOOST_TEST(cpp.alive(echo));
  auto hit = cpp.lookup(binary("survivor"));
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->pid == echo));
  // The restarted role serves remote callers: a name registered from the
  // BEAM side through the control process call ...
  BOOST_TEST(beam.eval("gen_server:call({'Elixir.RestartTest.Registry', " + N + "}, members).").find(beam.node_name()) !=
             std::string::npos);
  // ... and a new registration works.
  BOOST_TEST(cpp.register_echo(binary("after"), atom("v")).second.ok());
  // A real exit signal from the BEAM (untrappable kill) restarts it too: a
  // BEAM process registers itself (the reply names the registry pid) and
  // kills the registry.
  const auto second = cpp.where(kReg);
  beam.eval("spawn(fun() -> {ok, R} = gen_server:call({'Elixir.RestartTest.Registry', " + N +
            "}, {register, <<\"beam\">>, v, self()}), exit(R, kill) end), ok.");
  BOOST_TEST(eventually([&] {
    auto now = cpp.where(kReg);
    return now && second && !(*now == *second);
  }));
  BOOST_TEST(*cpp.role_stats().map_get(Term(atom("restarts"))) == Term(2));
  BOOST_TEST(cpp.alive(echo));
  BOOST_TEST(cpp.lookup(binary("survivor")).has_value());
  BOOST_TEST(cpp.lookup(binary("after")).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
