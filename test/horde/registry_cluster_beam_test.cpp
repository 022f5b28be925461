// Self-contained tier of the registry role: clusters of in-process C++
// nodes running the same Horde.Registry, and a plain `erl` node driving a
// C++ node through the `horde_cnode` control process (no Horde needed).
#include "registry_test_support.hpp"

#include <cstdlib>

using namespace hc;
using namespace hc::test::reg;
using hc::test::BeamNode;
using hc::test::unique_name;

namespace {

const Atom kReg("Elixir.HordeCnodeTest.Registry");

// Every node starts with all the others as members.
struct CppCluster {
  std::string cookie = unique_name("ck");
  std::vector<std::unique_ptr<CppRegistryNode>> nodes;
  std::vector<std::string> names;

  explicit CppCluster(int n) {
    for (int i = 0; i < n; ++i) names.push_back(unique_name("reg" + std::to_string(i)));
    for (int i = 0; i < n; ++i) nodes.push_back(std::make_unique<CppRegistryNode>(names[i], cookie, kReg));
    for (auto& node : nodes) node->start(all());
    BOOST_REQUIRE(eventually([&] {
      for (auto& node : nodes)
        if (node->members() != nodes.size()) return false;
      return true;
    }));
  }
  std::vector<Atom> all() {
    std::vector<Atom> out;
    for (const auto& n : names) out.emplace_back(n + "@127.0.0.1");
    return out;
  }
  CppRegistryNode& operator[](std::size_t i) { return *nodes[i]; }
  bool everywhere(const Term& key, const std::optional<Pid>& pid) {
    for (auto& n : nodes) {
      auto hit = n->lookup(key);
      if (pid.has_value() != hit.has_value()) return false;
      if (hit && !(hit->pid == *pid)) return false;
    }
    return true;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_cluster_beam_test)

BOOST_AUTO_TEST_CASE(three_cpp_nodes_register_lookup_unregister_exit_meta) {
  CppCluster c(3);
  const Term value = Term::map({{Term(atom("role")), Term(atom("admin"))}});
  auto [pa, ra] = c[0].register_echo(binary("alpha"), atom("nil"));
  auto [pb, rb] = c[1].register_echo(tuple(atom("user"), 42), value);
  auto [pc, rc] = c[2].register_echo(atom("gamma"), list(1, 2.5, binary("x")));
  BOOST_REQUIRE(ra.ok() && rb.ok() && rc.ok());
  BOOST_TEST(eventually([&] {
    return c.everywhere(binary("alpha"), pa) && c.everywhere(tuple(atom("user"), 42), pb) &&
           c.everywhere(atom("gamma"), pc);
  }));
  for (auto& n : c.nodes) BOOST_TEST(n->count() == 3u);
  BOOST_TEST(c[2].lookup(tuple(atom("user"), 42))->value == value);

  // Already registered (seen through lookup) on another node.
  auto again = c[2].register_echo(binary("alpha"), atom("nil")).second;
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.error() == horde::RegistryErrc::already_registered));
  BOOST_TEST((again.error() == hc::errc::name_taken));
  // Horde's error shape names the holder.
  const Term shape = c[2].with_api([](horde::RegistryApi& api) {
    return api.error_term(horde::RegistryErrc::already_registered, binary("alpha"));
  });
  BOOST_TEST(shape == tuple(atom("already_registered"), pa));

  // select by key pattern on another node.
  auto sel = c[1].with_api([](horde::RegistryApi& api) {
    return api.select(tuple(atom("user"), atom("_"))).value();
  });
  BOOST_REQUIRE_EQUAL(sel.size(), 1u);
  BOOST_TEST(sel[0].pid == pb);

  // Meta.
  c[0].with_api([](horde::RegistryApi& api) { return api.put_meta(atom("version"), Term(3)).ok(); });
  BOOST_TEST(eventually([&] { return c[2].meta(atom("version")) == std::optional<Term>(Term(3)); }));
  c[2].with_api([](horde::RegistryApi& api) { return api.delete_meta(atom("version")).ok(); });
  BOOST_TEST(eventually([&] { return !c[0].meta(atom("version")).has_value(); }));

  // Listeners see remote registrations too.
  auto events = std::make_shared<std::vector<horde::ListenerEvent>>();
  c[0].with_api([events](horde::RegistryApi& api) {
    return api.add_listener([events](const horde::ListenerEvent& e) { events->push_back(e); }).has_value();
  });

  // Unregister on the owner's node: gone everywhere.
  c[1].with_api([&](horde::RegistryApi& api) { return api.unregister_pid(pb, tuple(atom("user"), 42)).ok(); });
  BOOST_TEST(eventually([&] { return c.everywhere(tuple(atom("user"), 42), std::nullopt); }));
  // The process exits: its name goes everywhere.
  c[2].exit_process(pc, atom("kill"));
  BOOST_TEST(eventually([&] { return c.everywhere(atom("gamma"), std::nullopt); }));
  for (auto& n : c.nodes) BOOST_TEST(eventually([&] { return n->count() == 1u; }));
  BOOST_TEST(c[0].runner->run([events] { return events->size(); }).get() >= 2u);
}

BOOST_AUTO_TEST_CASE(concurrent_registration_has_one_winner_and_the_loser_exits) {
  CppCluster c(2);
  Watcher w0(*c[0].runner), w1(*c[1].runner);
  // Watched before they register: the loser may be told to exit within a
  // sync interval, and a monitor set after that would see only noproc.
  const Pid p0 = c[0].spawn_echo(), p1 = c[1].spawn_echo();
  w0.watch(p0);
  w1.watch(p1);
  // Register on both nodes before either has synced: both succeed locally.
  auto r0 = c[0].register_pid(p0, binary("contended"), Term(0));
  auto r1 = c[1].register_pid(p1, binary("contended"), Term(1));
  BOOST_REQUIRE(r0.ok() && r1.ok());
  std::optional<Pid> winner;
  BOOST_TEST(eventually([&] {
    auto a = c[0].lookup(binary("contended"));
    auto b = c[1].lookup(binary("contended"));
    if (!a || !b || !(a->pid == b->pid)) return false;
    winner = a->pid;
    return true;
  }));
  BOOST_REQUIRE(winner.has_value());
  const bool zero_won = *winner == p0;
  const Pid loser = zero_won ? p1 : p0;
  Watcher& lw = zero_won ? w1 : w0;
  const Term loser_value = zero_won ? Term(1) : Term(0);
  BOOST_TEST(eventually([&] { return lw.reason(loser).has_value(); }));
  BOOST_TEST(*lw.reason(loser) == tuple(atom("name_conflict"), tuple(binary("contended"), loser_value), kReg, *winner));
  BOOST_TEST((zero_won ? c[0] : c[1]).alive(*winner));
}

BOOST_AUTO_TEST_CASE(a_member_that_leaves_loses_its_names_and_a_restarted_node_catches_up) {
  CppCluster c(3);
  auto [p2, r2] = c[2].register_echo(binary("on-c2"), atom("nil"));
  auto [p0, r0] = c[0].register_echo(binary("on-c0"), atom("nil"));
  BOOST_REQUIRE(r2.ok() && r0.ok());
  BOOST_TEST(eventually([&] { return c.everywhere(binary("on-c2"), p2) && c.everywhere(binary("on-c0"), p0); }));

  // Restart node 2 (a new incarnation under the same name): it rejoins, sees
  // the others' names, and the names of its old incarnation disappear.
  c[2].stop();
  c.nodes[2] = std::make_unique<CppRegistryNode>(c.names[2], c.cookie, kReg);
  c[2].start(c.all());
  BOOST_TEST(eventually([&] { return c[2].lookup(binary("on-c0")).has_value(); }, 15s));
  BOOST_TEST(eventually([&] {
    for (auto& n : c.nodes)
      if (n->with_api([](horde::RegistryApi& api) { return api.count(); }) != 1u) return false;
    return true;
  }, 15s));

  // Node 1 leaves (set_members on node 0 without it): its names vanish.
  auto [p1, r1] = c[1].register_echo(binary("on-c1"), atom("nil"));
  BOOST_REQUIRE(r1.ok());
  BOOST_TEST(eventually([&] { return c[0].lookup(binary("on-c1")).has_value(); }));
  c[0].with_api([&](horde::RegistryApi& api) {
    return api.set_members({horde::MemberSpec{kReg, c[0].name()}, horde::MemberSpec{kReg, c[2].name()}}).ok();
  });
  BOOST_TEST(eventually([&] {
    return !c[0].lookup(binary("on-c1")).has_value() && !c[2].lookup(binary("on-c1")).has_value();
  }));
  BOOST_TEST(c[0].members() == 2u);
}

// A plain erl node drives a C++ node through horde_cnode, with the exact
// reply shapes, and throws malformed Horde messages at it.
BOOST_AUTO_TEST_CASE(erl_drives_the_control_process_and_bad_input_is_dropped) {
  const std::string cookie = unique_name("ck");
  CppRegistryNode cpp(unique_name("regc"), cookie, kReg);
  cpp.start({});
  BeamNode erl({unique_name("drv"), cookie, "", {}, true});
  const std::string target = "{horde_cnode, '" + std::string(cpp.name().text()) + "'}";
  const std::string reg = "'" + std::string(kReg.text()) + "'";
  auto ev = [&](const std::string& e) { return erl.eval(e); };

  ev("{ok, Echo} = gen_server:call(" + target + ", {spawn_echo}), ok.");
  BOOST_TEST(ev("is_pid(Echo).") == "true");
  BOOST_TEST(ev("gen_server:call(Echo, hello).") == "hello");
  BOOST_TEST(ev("Echo ! {self(), ping}, receive X -> X after 2000 -> timeout end.") == "ping");
  BOOST_TEST(ev("{ok, R} = gen_server:call(" + target + ", {register, " + reg +
                ", <<\"k\">>, v1, Echo}), is_pid(R).") ==
             "true");
  BOOST_TEST(ev("gen_server:call(" + target + ", {lookup, " + reg + ", <<\"k\">>}) =:= [{Echo, v1}].") == "true");
  BOOST_TEST(ev("{ok, Echo2} = gen_server:call(" + target + ", {spawn_echo}), "
                "{error, {already_registered, H}} = gen_server:call(" + target + ", {register, " + reg +
                ", <<\"k\">>, v2, Echo2}), H =:= Echo.") == "true");
  BOOST_TEST(ev("gen_server:call(" + target + ", {count, " + reg + "}).") == "1");
  // {call, ...}: the C++ node looks the name up and gen_server-calls it.
  BOOST_TEST(ev("gen_server:call(" + target + ", {call, " + reg + ", <<\"k\">>, {hello, 1}}).") ==
             "{ok,{hello,1}}");
  BOOST_TEST(ev("gen_server:call(" + target + ", {call, " + reg + ", <<\"none\">>, x}).") ==
             "{error,{not_registered,<<\"none\">>}}");
  // The registry itself answers Horde's calls.
  BOOST_TEST(ev("gen_server:call({" + reg + ", '" + std::string(cpp.name().text()) + "'}, members).") ==
             "[{'" + std::string(kReg.text()) + "','" + std::string(cpp.name().text()) + "'}]");
  // Stats.
  BOOST_TEST(ev("S = gen_server:call(" + target + ", stats), #{" + reg +
                " := #{keys := 1, crdt_bytes := B}} = maps:get(registries, S), is_integer(B).") == "true");

  // Bad input: malformed calls, stray messages, and CRDT values of the wrong
  // shape arriving through the CRDT sync protocol.
  const std::string regdest = "{" + reg + ", '" + std::string(cpp.name().text()) + "'}";
  const std::string crdtdest = "{'" + std::string(kReg.text()) + ".Crdt', '" + std::string(cpp.name().text()) + "'}";
  BOOST_TEST(ev("gen_server:call(" + regdest + ", {register, only_two}).") ==
             "{error,{bad_request,{register,only_two}}}");
  ev(regdest + " ! garbage, " + regdest + " ! {crdt_update, [{add, {key, x}, notatuple}, junk]}, ok.");
  ev(crdtdest + " ! {diff, not_a_diff}, ok.");
  ev("MapSet = #{'__struct__' => 'Elixir.MapSet', map => #{{777, 1} => []}, version => 2},"
     "Bad = #{'__struct__' => 'Elixir.DeltaCrdt.AWLWWMap', dots => #{777 => 3},"
     "        value => #{{key, <<\"bad\">>} => #{{{not_a_member, 1}, -5} => MapSet},"
     "                   {member, {" + reg + ", 'x@y'}} => #{{2, -5} => MapSet#{map => #{{777, 2} => []}}},"
     "                   weird_key => #{{1, -5} => MapSet#{map => #{{777, 3} => []}}}}},"
     + crdtdest + " ! {diff, Bad, [{key, <<\"bad\">>}, {member, {" + reg + ", 'x@y'}}, weird_key]}, ok.");
  // Still intact and working.
  BOOST_TEST(ev("gen_server:call(" + target + ", {lookup, " + reg + ", <<\"k\">>}) =:= [{Echo, v1}].") == "true");
  BOOST_TEST(cpp.count() == 1u);
  BOOST_TEST(ev("gen_server:call(" + target + ", {register, " + reg + ", <<\"k2\">>, v, Echo2}) =/= error.") == "true");
  BOOST_TEST(eventually([&] { return cpp.count() == 2u; }));

  // Unregister and exit.
  BOOST_TEST(ev("gen_server:call(" + target + ", {unregister, " + reg + ", <<\"k\">>, Echo}).") == "ok");
  BOOST_TEST(ev("gen_server:call(" + target + ", {lookup, " + reg + ", <<\"k\">>}).") == "[]");
  BOOST_TEST(ev("gen_server:call(" + target + ", {exit, Echo2, kill}).") == "ok");
  BOOST_TEST(eventually([&] { return cpp.count() == 0u; }));
  BOOST_TEST(ev("gen_server:call(Echo, stop).") == "ok");
  BOOST_TEST(ev("gen_server:call(" + target + ", {bogus}).") == "{error,{unknown_request,{bogus}}}");
}

BOOST_AUTO_TEST_SUITE_END()
