// Self-contained tier: clusters of C++ members only (several nodes in this
// process, real distribution over loopback; label beam because the nodes use
// epmd). Same scenarios as the real-Horde tier: placement on every view,
// which/count_children, worker calls, unknown kinds, restarts, failover
// after a kill, graceful hand-off.
#include "supervisor_test_support.hpp"

#include <set>

using namespace hc;
using namespace hc::test::sup;
using hc::test::unique_name;

namespace {

constexpr auto kSync = 100ms;

horde::SupervisorOptions options_for(const std::vector<Atom>& nodes, Atom sup) {
  horde::SupervisorOptions o;
  for (const Atom& n : nodes) o.members.push_back(tuple(sup, n));
  o.sync_interval = kSync;
  o.children_call_timeout = 2s;
  return o;
}

struct Cluster {
  std::string cookie = unique_name("cookie");
  Atom sup{"Elixir.HordeTest." + unique_name("Sup")};
  std::vector<std::unique_ptr<CppMember>> members;

  explicit Cluster(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) members.push_back(std::make_unique<CppMember>("cpp" + std::to_string(i), cookie, sup));
    std::vector<Atom> names;
    for (auto& m : members) names.push_back(m->name());
    for (auto& m : members) m->start(options_for(names, sup));
    for (auto& m : members)
      BOOST_REQUIRE_MESSAGE(eventually([&] { return m->alive_members() == n; }), "members never all alive");
  }
  // Expected owner of a spec among the given alive nodes.
  Atom owner(const Term& spec, const std::vector<Atom>& alive) {
    std::vector<horde::Member> ms;
    for (const Atom& a : alive) ms.push_back({tuple(sup, a), horde::MemberStatus::alive, std::nullopt});
    auto r = horde::UniformDistribution().choose_node(spec, ms);
    return *r.member->name.element(1)->as_atom();
  }
  std::vector<Atom> names() {
    std::vector<Atom> out;
    for (auto& m : members)
      if (m->runner) out.push_back(m->name());
    return out;
  }
};

// Every live member agrees on the children: same ids, owners, pids; `count` of them.
bool views_agree(std::vector<CppMember*> live, std::size_t count) {
  auto first = live[0]->processes();
  if (first.size() != count) return false;
  for (auto* m : live)
    if (!(m->processes() == first)) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(supervisor_cluster_beam_test)

BOOST_AUTO_TEST_CASE(children_run_where_the_ring_says_on_every_view) {
  Cluster c(2);
  auto& a = *c.members[0];
  auto& b = *c.members[1];
  constexpr int kChildren = 40;
  std::set<Atom> used;
  for (int i = 0; i < kChildren; ++i) {
    auto& via = i % 2 ? a : b;  // callers on both members; half are proxied
    auto r = via.call_sup(tuple(atom("start_child"), counter_spec(i)));
    BOOST_REQUIRE_MESSAGE(r.ok(), "start_child call failed: " << r.reason());
    BOOST_REQUIRE_MESSAGE(r.value().is_tuple(2) && r.value().element(0)->is_atom("ok"), r.value());
    const Pid& pid = *r.value().element(1)->as_pid();
    BOOST_TEST(pid.node == c.owner(counter_spec(i), c.names()));
    used.insert(pid.node);
  }
  BOOST_TEST(used.size() == 2u);
  BOOST_TEST(eventually([&] { return views_agree({&a, &b}, kChildren); }));
  for (const auto& [id, e] : a.processes()) {
    BOOST_TEST(e.owner == tuple(c.sup, c.owner(e.spec, c.names())));
    BOOST_TEST(id.is_integer());
  }
  BOOST_TEST(a.running_children() + b.running_children() == std::size_t(kChildren));

  // which_children / count_children from either member cover both.
  auto w = b.call_sup(Term(atom("which_children")));
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(w.value().list_elements().size() == std::size_t(kChildren));
  for (const Term& e : w.value().list_elements()) BOOST_TEST(e.element(0)->is_atom("undefined"));
  auto n = a.call_sup(Term(atom("count_children")));
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n.value().map_get("workers") == Term(kChildren));
  BOOST_TEST(*n.value().map_get("active") == Term(kChildren));

  // The workers answer calls from the other node.
  auto r = a.call_sup(tuple(atom("start_child"), counter_spec(1000)));
  const Pid pid = *r.value().element(1)->as_pid();
  auto& other = pid.node == a.name() ? b : a;
  auto g = call(*other.runner, cnode::Dest(pid), tuple(atom("add"), 5));
  BOOST_REQUIRE(g.ok());
  BOOST_TEST(g.value() == Term(1005));
  BOOST_TEST(call(*other.runner, cnode::Dest(pid), Term(atom("get"))).value() == Term(1005));
}

BOOST_AUTO_TEST_CASE(unknown_kinds_and_bad_specs_get_clear_errors) {
  Cluster c(2);
  auto& a = *c.members[0];
  for (int i = 0; i < 6; ++i) {  // owners on both members (some proxied)
    const Term spec = Term::map({{Term(atom("id")), Term(i)},
                                 {Term(atom("start")), tuple(atom("Elixir.Nope"), atom("start_link"), list(i))}});
    auto r = a.call_sup(tuple(atom("start_child"), spec));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r.value() == tuple(atom("error"), tuple(atom("cpp_worker_kind_not_provided"), atom("Elixir.Nope"),
                                                       c.owner(spec, c.names()))));
  }
  auto bad = a.call_sup(tuple(atom("start_child"), Term::map({{Term(atom("id")), Term(1)},
                                                              {Term(atom("start")), Term(atom("x"))},
                                                              {Term(atom("restart")), Term(atom("always"))}})));
  BOOST_REQUIRE(bad.ok());
  BOOST_TEST(bad.value().element(0)->is_atom("error"));
  BOOST_TEST(a.processes().empty());
}

BOOST_AUTO_TEST_CASE(restart_policies_on_a_live_member) {
  Cluster c(1);
  auto& a = *c.members[0];
  auto start = [&](int i, const char* restart) {
    Term spec = counter_spec(i);
    TermPairs p(spec.map_entries().begin(), spec.map_entries().end());
    p.emplace_back(atom("restart"), atom(restart));
    auto r = a.call_sup(tuple(atom("start_child"), Term::map(std::move(p))));
    BOOST_REQUIRE(r.ok() && r.value().element(0)->is_atom("ok"));
    return *r.value().element(1)->as_pid();
  };
  const Pid perm = start(1, "permanent"), temp = start(2, "temporary"), trans = start(3, "transient");
  auto kill = [&](const Pid& p, Term reason) {
    a.runner->run([&] { a.runner->node().exit_signal(a.runner->node().null_pid(), p, reason); }).get();
  };
  kill(perm, Term(atom("kill")));
  kill(temp, Term(atom("kill")));
  // A transient child stopping normally is not restarted.
  BOOST_TEST(call(*a.runner, cnode::Dest(trans), tuple(atom("stop"), atom("normal"))).value() == Term(atom("ok")));
  BOOST_TEST(eventually([&] {
    auto ps = a.processes();
    if (ps.size() != 1) return false;
    const auto& e = ps.begin()->second;
    return spec_arg(e.spec) == Term(1) && !(e.pid == Term(perm));
  }));
  BOOST_TEST(a.running_children() == 1u);
  // The restarted counter starts again from its spec.
  const Pid now = *a.processes().begin()->second.pid.as_pid();
  BOOST_TEST(call(*a.runner, cnode::Dest(now), Term(atom("get"))).value() == Term(1));
}

BOOST_AUTO_TEST_CASE(killing_a_member_restarts_its_children_elsewhere) {
  Cluster c(3);
  constexpr int kChildren = 60;
  for (int i = 0; i < kChildren; ++i) {
    auto r = c.members[i % 3]->call_sup(tuple(atom("start_child"), counter_spec(i)));
    BOOST_REQUIRE(r.ok() && r.value().element(0)->is_atom("ok"));
  }
  auto& a = *c.members[0];
  auto& b = *c.members[1];
  BOOST_REQUIRE(eventually([&] { return views_agree({&a, &b, c.members[2].get()}, kChildren); }));
  const Atom victim = c.members[2]->name();
  std::size_t on_victim = 0;
  for (const auto& [id, e] : a.processes()) on_victim += (*e.owner.element(1) == Term(victim));
  BOOST_REQUIRE_GT(on_victim, 0u);

  const auto t0 = std::chrono::steady_clock::now();
  c.members[2]->kill();
  const std::vector<Atom> survivors{a.name(), b.name()};
  auto settled = [&] {
    auto ps = a.processes();
    if (ps.size() != std::size_t(kChildren) || !views_agree({&a, &b}, kChildren)) return false;
    std::set<Term> args;
    for (const auto& [id, e] : ps) {
      const Atom owner = *e.owner.element(1)->as_atom();
      if (owner == victim) return false;
      args.insert(spec_arg(e.spec));
    }
    return args.size() == std::size_t(kChildren) &&
           a.running_children() + b.running_children() == std::size_t(kChildren);
  };
  BOOST_TEST(eventually(settled, 20s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  BOOST_TEST_MESSAGE("failover of " << on_victim << " children took " << took.count() << " ms");
  // Every child is where the ring over the survivors puts it.
  for (const auto& [id, e] : a.processes())
    BOOST_TEST(*e.owner.element(1)->as_atom() == c.owner(e.spec, survivors));
}

BOOST_AUTO_TEST_CASE(graceful_shutdown_hands_children_off) {
  Cluster c(2);
  auto& a = *c.members[0];
  auto& b = *c.members[1];
  constexpr int kChildren = 30;
  for (int i = 0; i < kChildren; ++i)
    BOOST_REQUIRE(a.call_sup(tuple(atom("start_child"), counter_spec(i))).ok());
  BOOST_REQUIRE(eventually([&] { return views_agree({&a, &b}, kChildren); }));
  BOOST_REQUIRE_GT(b.running_children(), 0u);
  std::promise<void> stopped;
  b.runner->run([&] {
    horde::SupervisorProcess::find(b.runner->node(), c.sup)->graceful_stop([&] { stopped.set_value(); });
  }).get();
  BOOST_REQUIRE(stopped.get_future().wait_for(10s) == std::future_status::ready);
  BOOST_TEST(eventually([&] {
    auto ps = a.processes();
    if (ps.size() != std::size_t(kChildren)) return false;
    std::set<Term> args;
    for (const auto& [id, e] : ps) {
      if (!(e.owner == tuple(c.sup, a.name()))) return false;
      args.insert(spec_arg(e.spec));
    }
    return args.size() == std::size_t(kChildren) && a.running_children() == std::size_t(kChildren);
  }, 10s));
  // b's member info says shutting_down or dead on a.
  auto info = a.with_sup([&](horde::SupervisorProcess& sp) {
    const auto* m = sp.state().member_info(tuple(c.sup, b.name()));
    return m ? m->status : horde::MemberStatus::alive;
  });
  BOOST_TEST((info == horde::MemberStatus::shutting_down || info == horde::MemberStatus::dead));
}

BOOST_AUTO_TEST_SUITE_END()
