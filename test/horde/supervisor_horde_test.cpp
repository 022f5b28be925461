// Real-Horde tier: BEAM nodes running Horde 0.10.0's Horde.DynamicSupervisor
// (from ERL_LIBS) and C++ members in one cluster. Exits with 77 (skipped)
// when Horde cannot be loaded.
//
// The BEAM nodes load erlang_harness/supervisor_harness.exs (the `:sup_harness`
// server, an Elixir worker and this repo's elixir/ modules); the test talks
// to them over distribution with typed terms.
#include "supervisor_test_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

#include "horde/control_process.hpp"
#include "horde/supervisor_control.hpp"
#include "horde/strategy_by_name.hpp"

using namespace hc;
using namespace hc::test::sup;
using hc::test::BeamNode;
using hc::test::unique_name;

namespace {

constexpr auto kSync = 100ms;

using hc::test::run_capture;

// ERL_LIBS for the BEAM nodes: the caller's (Horde and its deps) plus
// Elixir's own lib dir (elixir, logger). Exits 77 when Horde is missing.
const std::string& horde_erl_libs() {
  static const std::string libs = hc::test::erl_libs_or_skip("Elixir.Horde.DynamicSupervisor", "horde, delta_crdt, merkle_map, libring and telemetry");
  return libs;
}

// A BEAM member: erl + Horde + the harness.
struct BeamMember {
  std::unique_ptr<BeamNode> beam;
  Atom name;
  BeamMember(const std::string& cookie) {
    beam = std::make_unique<BeamNode>(hc::test::BeamNodeOptions{unique_name("beam"), cookie, horde_erl_libs(), {}, false});
    name = Atom(beam->node_name());
    beam->eval("logger:set_primary_config(level, warning), {ok, _} = application:ensure_all_started(elixir), ok.");
    beam->eval("_ = 'Elixir.Code':require_file(<<\"" + std::string(HC_SOURCE_DIR) +
               "/erlang_harness/supervisor_harness.exs\">>), ok.", 60s);
  }
  void start(Atom sup, const char* strategy, const std::vector<Atom>& members) {
    std::string list = "[";
    for (std::size_t i = 0; i < members.size(); ++i) list += (i ? ",'" : "'") + std::string(members[i].text()) + "'";
    list += "]";
    BOOST_REQUIRE_EQUAL(beam->eval("'Elixir.HordeCnodeTest.Peer':start('" + std::string(sup.text()) + "', " + strategy +
                                   ", " + list + ", " + std::to_string(kSync.count()) + ")."),
                        "ok");
  }
};

// The C++ strategy for a strategy name of HordeCnodeTest.Peer.start/4.
std::shared_ptr<const horde::DistributionStrategy> make_strategy(std::string_view name) {
  auto s = horde::strategy_by_name(name);
  BOOST_REQUIRE_MESSAGE(s, "unknown strategy " << name);
  return s;
}

struct MixedCluster {
  std::string cookie = unique_name("cookie");
  Atom sup{"Elixir.HordeTest." + unique_name("Sup")};
  std::vector<std::unique_ptr<BeamMember>> beams;
  std::vector<std::unique_ptr<CppMember>> cpps;
  const char* strategy;

  std::vector<Atom> all;

  MixedCluster(std::size_t n_beam, std::size_t n_cpp, const char* strategy_name = "mixed") : strategy(strategy_name) {
    horde_erl_libs();
    for (std::size_t i = 0; i < n_cpp; ++i) cpps.push_back(std::make_unique<CppMember>("cpp" + std::to_string(i), cookie, sup));
    for (std::size_t i = 0; i < n_beam; ++i) beams.push_back(std::make_unique<BeamMember>(cookie));
    for (auto& b : beams) all.push_back(b->name);
    for (auto& c : cpps) all.push_back(c->name());
    for (auto& c : cpps) {
      c->start(cpp_options());
      // The control process, as the app runs it.
      c->runner->run([&] {
        auto control = std::make_unique<horde::ControlProcess>();
        horde::install_supervisor_handlers(*control);
        cnode::SpawnOptions so;
        so.register_as = horde::ControlProcess::registered_name();
        c->runner->node().spawn(std::move(control), so);
      }).get();
    }
    for (auto& b : beams) b->start(sup, strategy, all);
    const std::size_t n = all.size();
    for (auto& c : cpps) BOOST_REQUIRE_MESSAGE(eventually([&] { return c->alive_members() == n; }, 20s), "C++ member never saw all alive");
    for (auto& b : beams)
      BOOST_REQUIRE_MESSAGE(eventually([&] { return alive_on_beam(*b) == n; }, 20s), "BEAM member never saw all alive");
  }

  horde::SupervisorOptions cpp_options() {
    horde::SupervisorOptions o;
    for (const Atom& n : all) o.members.push_back(tuple(sup, n));
    o.sync_interval = kSync;
    o.children_call_timeout = 2s;
    o.strategy = make_strategy(strategy);
    return o;
  }
  // Start C++ member i again under the same node name (after kill()).
  void restart_cpp(std::size_t i) {
    const std::string full(all[beams.size() + i].text());
    auto m = std::make_unique<CppMember>("unused", cookie, sup);
    m->runner = std::make_unique<cnode::NodeRunner>(
        hc::test::loopback_node_options(full.substr(0, full.find('@')), cookie));
    BOOST_REQUIRE(!m->runner->start());
    m->start(cpp_options());
    cpps[i] = std::move(m);
  }

  // A call to a BEAM member's :sup_harness (through the first C++ node).
  cnode::CallResult harness(BeamMember& b, Term request, std::chrono::milliseconds timeout = 30s) {
    return call(*cpps.at(0)->runner, cnode::Dest(Atom("sup_harness"), b.name), std::move(request), timeout);
  }
  std::size_t alive_on_beam(BeamMember& b) {
    auto r = harness(b, tuple(atom("member_infos"), sup));
    if (!r.ok()) return 0;
    std::size_t n = 0;
    for (const Term& m : r.value().list_elements()) n += m.map_get("status")->is_atom("alive");
    return n;
  }
  // {Id => {Owner, Spec, Pid}} on a BEAM member (its CRDT's view).
  std::map<Term, Term> beam_processes(BeamMember& b) {
    std::map<Term, Term> out;
    auto r = harness(b, tuple(atom("processes"), sup));
    if (!r.ok()) return out;
    for (const Term& e : r.value().list_elements()) out[*e.element(0)] = *e.element(1);
    return out;
  }
  static std::map<Term, Term> as_values(const std::map<Term, horde::sup::ChildEntry>& ps) {
    std::map<Term, Term> out;
    for (const auto& [id, e] : ps) out[id] = tuple(e.owner, e.spec, e.pid);
    return out;
  }
  // All live members (given) hold the same {process, _} entries, `count` of them.
  bool views_agree(const std::vector<BeamMember*>& bs, const std::vector<CppMember*>& cs, std::size_t count) {
    std::optional<std::map<Term, Term>> ref;
    auto check = [&](std::map<Term, Term> v) {
      if (v.size() != count) return false;
      if (!ref) {
        ref = std::move(v);
        return true;
      }
      return *ref == v;
    };
    for (auto* b : bs)
      if (!check(beam_processes(*b))) return false;
    for (auto* c : cs)
      if (!check(as_values(c->processes()))) return false;
    return true;
  }
  // For failure messages: each view's size and the first differing entry.
  std::string describe(const std::vector<BeamMember*>& bs, const std::vector<CppMember*>& cs) {
    std::ostringstream os;
    std::vector<std::pair<std::string, std::map<Term, Term>>> views;
    for (auto* b : bs) views.emplace_back(std::string(b->name.text()), beam_processes(*b));
    for (auto* c : cs) views.emplace_back(std::string(c->name().text()), as_values(c->processes()));
    for (auto& [n, v] : views) os << n << ": " << v.size() << " entries; ";
    for (auto* b : bs) {
      auto r = harness(*b, tuple(atom("eval"), binary("s = :sys.get_state(:\"" + std::string(sup.text()) +
                                                          ".Crdt\"); {s.neighbours, s.outstanding_syncs, s.neighbour_monitors}")));
      os << "\n" << b->name << " crdt: " << (r.ok() ? r.value() : r.reason());
    }
    for (auto* c : cs) os << "\n" << c->name() << " stats: " << c->with_sup([](horde::SupervisorProcess& sp) { return sp.stats_term(); });
    for (std::size_t i = 1; i < views.size(); ++i)
      for (const auto& [id, val] : views[0].second) {
        auto it = views[i].second.find(id);
        if (it == views[i].second.end()) { os << "\n" << views[i].first << " lacks " << id << " = " << val; break; }
        if (!(it->second == val)) { os << "\n" << views[i].first << " differs at " << id << ": " << it->second << " vs " << val; break; }
      }
    return os.str();
  }
  // The owner (node) the strategy picks among the given alive members.
  Atom expected_owner(const Term& spec, const std::vector<Atom>& beam_nodes, const std::vector<Atom>& cpp_nodes) {
    std::vector<horde::Member> ms;
    auto kinds = horde::WorkerKinds::builtin().modules();
    for (const Atom& a : beam_nodes) ms.push_back({tuple(sup, a), horde::MemberStatus::alive, std::nullopt});
    for (const Atom& a : cpp_nodes) ms.push_back({tuple(sup, a), horde::MemberStatus::alive, kinds});
    horde::ChooseResult r = std::string_view(strategy) == "mixed" ? horde::MixedDistribution().choose_node(spec, ms)
                                                                  : horde::UniformDistribution().choose_node(spec, ms);
    BOOST_REQUIRE(r.ok());
    return *r.member->name.element(1)->as_atom();
  }
  std::vector<Atom> beam_names() {
    std::vector<Atom> v;
    for (auto& b : beams) v.push_back(b->name);
    return v;
  }
  std::vector<Atom> cpp_names() {
    std::vector<Atom> v;
    for (auto& c : cpps) v.push_back(c->name());
    return v;
  }
};

Term echo_spec(int i) {
  const Atom m("Elixir.CppWorkers.Echo");
  return Term::map({{Term(atom("id")), Term(atom("echo"))}, {Term(atom("start")), tuple(m, atom("start_link"), list(i))}});
}

const Pid* ok_pid(const Term& reply) {
  if (reply.is_tuple(2) && reply.element(0)->is_atom("ok")) return reply.element(1)->as_pid();
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(supervisor_horde_test)

BOOST_AUTO_TEST_CASE(beam_starts_cpp_and_elixir_workers_where_the_mixed_strategy_says) {
  MixedCluster c(2, 2);
  auto& b1 = *c.beams[0];
  std::vector<Term> specs;
  for (int i = 0; i < 20; ++i) {
    specs.push_back(counter_spec(i));
    specs.push_back(echo_spec(100 + i));
    specs.push_back(elixir_spec(200 + i));
  }
  std::set<Atom> used;
  std::vector<Pid> counters;
  for (const Term& spec : specs) {
    auto r = c.harness(b1, tuple(atom("start_child"), c.sup, spec));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.reason());
    const Pid* pid = ok_pid(r.value());
    BOOST_REQUIRE_MESSAGE(pid != nullptr, "start_child " << spec << " -> " << r.value());
    BOOST_TEST(pid->node == c.expected_owner(spec, c.beam_names(), c.cpp_names()), spec);
    used.insert(pid->node);
    if (spec.map_get("start")->element(0)->is_atom("Elixir.CppWorkers.Counter")) counters.push_back(*pid);
  }
  BOOST_TEST(used.size() == 4u);  // both groups spread over both of their members
  std::vector<BeamMember*> bs{c.beams[0].get(), c.beams[1].get()};
  std::vector<CppMember*> cs{c.cpps[0].get(), c.cpps[1].get()};
  {
    const bool agreed = eventually([&] { return c.views_agree(bs, cs, specs.size()); }, 20s);
    BOOST_TEST(agreed, (agreed ? std::string() : c.describe(bs, cs)));
  }

  // which_children / count_children from the BEAM include the C++ children and return promptly.
  auto w = c.harness(b1, tuple(atom("which_children"), c.sup));
  BOOST_REQUIRE(w.ok());
  const auto us = *w.value().element(0)->as_int();
  BOOST_TEST(w.value().element(1)->list_elements().size() == specs.size());
  BOOST_TEST(us < 1'000'000, "which_children took " << us << " us");
  auto n = c.harness(b1, tuple(atom("count_children"), c.sup));
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n.value().element(1)->map_get("workers") == Term(static_cast<std::int64_t>(specs.size())));
  BOOST_TEST(*n.value().element(0)->as_int() < 1'000'000);
  BOOST_TEST_MESSAGE("which_children " << us << " us, count_children " << *n.value().element(0) << " us");

  // A C++ worker answers the BEAM.
  auto g = c.harness(b1, tuple(atom("call"), counters[0], tuple(atom("add"), 2)));
  BOOST_REQUIRE(g.ok());
  BOOST_TEST(g.value().is_integer());

  // Through the control process: exactly what Horde.DynamicSupervisor.start_child/2 returns.
  auto ctl = call(*c.cpps[0]->runner, cnode::Dest(Atom("horde_cnode")),
                  tuple(atom("start_child"), c.sup, elixir_spec(999)));
  BOOST_REQUIRE(ctl.ok());
  const Pid* p = ok_pid(ctl.value());
  BOOST_REQUIRE_MESSAGE(p != nullptr, ctl.value());
  BOOST_TEST(p->node == c.expected_owner(elixir_spec(999), c.beam_names(), c.cpp_names()));
  auto cw = call(*c.cpps[1]->runner, cnode::Dest(Atom("horde_cnode")), tuple(atom("count_children"), c.sup));
  BOOST_REQUIRE(cw.ok());
  BOOST_TEST(eventually([&] {
    auto r = call(*c.cpps[1]->runner, cnode::Dest(Atom("horde_cnode")), tuple(atom("count_children"), c.sup));
    return r.ok() && *r.value().map_get("workers") == Term(static_cast<std::int64_t>(specs.size() + 1));
  }));
}

BOOST_AUTO_TEST_CASE(uniform_cluster_owners_agree_with_horde) {
  // Under Horde.UniformDistribution the C++ member must pick exactly the
  // owner Horde picks, or starts bounce: every start from the BEAM either
  // runs on the predicted member or fails there (C++ kinds on a BEAM member).
  MixedCluster c(1, 1, "uniform");
  auto& b1 = *c.beams[0];
  std::size_t on_cpp = 0;
  for (int i = 0; i < 40; ++i) {
    const Term spec = counter_spec(i);
    const Atom owner = c.expected_owner(spec, c.beam_names(), c.cpp_names());
    auto r = c.harness(b1, tuple(atom("start_child"), c.sup, spec));
    BOOST_REQUIRE(r.ok());
    if (owner == c.cpp_names()[0]) {
      const Pid* pid = ok_pid(r.value());
      BOOST_REQUIRE_MESSAGE(pid != nullptr, r.value());
      BOOST_TEST(pid->node == owner);
      ++on_cpp;
    } else {
      BOOST_TEST(r.value().element(0)->is_atom("error"), r.value());  // the Elixir stub refuses
    }
    // The same spec started through the C++ member lands on the same member.
    auto r2 = c.cpps[0]->call_sup(tuple(atom("start_child"), spec));
    BOOST_REQUIRE(r2.ok());
    if (const Pid* pid = ok_pid(r2.value())) BOOST_TEST(pid->node == owner);
  }
  BOOST_TEST(on_cpp > 0u);
  BOOST_TEST(on_cpp < 40u);
}

BOOST_AUTO_TEST_CASE(placement_agrees_with_horde_for_10000_random_specs_and_member_sets) {
  MixedCluster c(1, 1, "uniform");
  auto& b1 = *c.beams[0];
  std::mt19937_64 rng(20261121);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<Atom> modules{Atom("Elixir.CppWorkers.Counter"), Atom("Elixir.CppWorkers.Echo"),
                                  Atom("Elixir.MyApp.Worker"), Atom("Elixir.CppWorkers.Other"), Atom("gen_server")};
  const std::vector<Atom> kinds{Atom("Elixir.CppWorkers.Counter"), Atom("Elixir.CppWorkers.Echo")};
  auto random_arg = [&]() -> Term {
    switch (pick(6)) {
      case 0: return Term(static_cast<std::int64_t>(rng() % 100000) - 50000);
      case 1: return binary("arg" + std::to_string(rng() % 10000));
      case 2: return tuple(atom("k"), static_cast<std::int64_t>(rng() % 1000), list(1.5, atom("x")));
      case 3: return Term::map({{Term(atom("name")), binary("w" + std::to_string(rng() % 100))}, {Term(atom("n")), Term(static_cast<std::int64_t>(pick(9)))}});
      case 4: return Term(static_cast<double>(rng() % 1000) / 7.0);
      default: return Term(static_cast<std::uint64_t>(rng()));  // bignums too
    }
  };
  const std::vector<const char*> statuses{"alive", "alive", "alive", "dead", "shutting_down", "uninitialized"};
  // Every strategy: deterministic ones must pick the same member; random ones
  // the same eligible set (alive, in the child's group) and the same errors;
  // quorum ones the same has_quorum? on every member set.
  const std::pair<const char*, const char*> strategies[] = {
      {"Elixir.Horde.UniformDistribution", "uniform"},
      {"Elixir.HordeCnode.MixedDistribution", "mixed"},
      {"Elixir.Horde.UniformQuorumDistribution", "uniform_quorum"},
      {"Elixir.HordeCnode.MixedQuorumDistribution", "mixed_quorum"},
      {"Elixir.Horde.UniformRandomDistribution", "uniform_random"},
      {"Elixir.HordeCnode.MixedRandomDistribution", "mixed_random"},
  };
  for (auto [strategy, short_name] : strategies) {
    const bool mixed = std::string_view(strategy).find("Mixed") != std::string_view::npos;
    const bool random = std::string_view(short_name).ends_with("random");
    const bool quorum = std::string_view(short_name).ends_with("quorum");
    const auto mine_strategy = make_strategy(short_name);
    std::size_t quorum_checked = 0;
    std::size_t compared = 0, errors = 0;
    for (int chunk = 0; chunk < 10; ++chunk) {
      TermVector cases;
      std::vector<std::pair<Term, std::vector<horde::Member>>> local;
      for (int k = 0; k < 1000; ++k) {
        const Atom m = modules[pick(modules.size())];
        TermPairs spec{{Term(atom("id")), Term(static_cast<std::int64_t>(rng() % 1000))},
                       {Term(atom("start")), tuple(m, atom("start_link"), list(random_arg()))}};
        if (pick(3) == 0) spec.emplace_back(atom("restart"), atom(pick(2) ? "transient" : "temporary"));
        if (pick(4) == 0) spec.emplace_back(atom("shutdown"), Term(static_cast<std::int64_t>(1 + pick(10000))));
        const Term spec_t = Term::map(std::move(spec));
        const Atom sup("Elixir.Golden" + std::to_string(pick(3)));
        std::vector<horde::Member> members;
        TermVector member_terms;
        const std::size_t n = 1 + pick(8);
        for (std::size_t j = 0; j < n; ++j) {
          horde::Member mem{tuple(sup, Atom("n" + std::to_string(rng() % 100000) + "@127.0.0." + std::to_string(1 + pick(3)))),
                            *horde::member_status_from_atom(Term(atom(statuses[pick(statuses.size())]))), std::nullopt};
          if (mixed && pick(2) == 0) {
            std::vector<Atom> ks;
            for (const Atom& kk : kinds)
              if (pick(3) != 0) ks.push_back(kk);
            mem.cpp_worker_kinds = ks;
          }
          member_terms.push_back(mem.to_term());
          members.push_back(mem);
        }
        cases.push_back(tuple(spec_t, Term::list(member_terms)));
        local.emplace_back(spec_t, members);
      }
      auto r = c.harness(b1, tuple(atom("choose_many"), Atom(strategy), Term::list(cases)), 60s);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.reason());
      const auto results = r.value().list_elements();
      BOOST_REQUIRE_EQUAL(results.size(), local.size());
      if (quorum) {
        TermVector lists;
        for (const Term& cs : cases) lists.push_back(*cs.element(1));
        auto q = c.harness(b1, tuple(atom("quorum_many"), Atom(strategy), Term::list(lists)), 60s);
        BOOST_REQUIRE_MESSAGE(q.ok(), q.reason());
        const auto qs = q.value().list_elements();
        BOOST_REQUIRE_EQUAL(qs.size(), local.size());
        for (std::size_t k = 0; k < local.size(); ++k) {
          BOOST_TEST(mine_strategy->has_quorum(local[k].second) == qs[k].is_atom("true"), "case " << k);
          ++quorum_checked;
        }
      }
      for (std::size_t k = 0; k < local.size(); ++k) {
        const auto& [spec_t, members] = local[k];
        auto mine = mine_strategy->choose_node(spec_t, members);
        const Term& theirs = results[k];
        if (theirs.element(0)->is_atom("ok")) {
          BOOST_REQUIRE_MESSAGE(mine.ok(), "case " << k << ": Horde chose " << theirs << ", we failed with " << mine.error);
          if (!random) {
            BOOST_TEST(mine.member->name == *theirs.element(1)->map_get("name"), "case " << k << " " << spec_t);
          } else {
            // Both picks are alive and in the child's group.
            auto their_member = horde::Member::from_term(*theirs.element(1));
            BOOST_REQUIRE(their_member);
            BOOST_TEST(their_member->is_alive());
            BOOST_TEST(mine.member->is_alive());
            if (mixed) {
              auto mod = horde::start_module(spec_t);
              bool cpp_child = mod && horde::in_cpp_namespace(*mod, {Atom("Elixir.CppWorkers")});
              for (const horde::Member* chosen : {static_cast<const horde::Member*>(&*their_member), mine.member})
                BOOST_TEST((cpp_child ? chosen->provides(*mod) : !chosen->is_cpp()), "case " << k);
            }
          }
        } else {
          BOOST_TEST(!mine.ok());
          BOOST_TEST(mine.error == *theirs.element(1));
          ++errors;
        }
        ++compared;
      }
    }
    BOOST_TEST(compared == 10000u);
    BOOST_TEST_MESSAGE(strategy << ": " << compared << " placements compared (" << errors << " errors agreed"
                                << (quorum ? ", " + std::to_string(quorum_checked) + " has_quorum? agreed" : std::string())
                                << ")");
  }
}

BOOST_AUTO_TEST_CASE(killing_a_cpp_node_restarts_its_cpp_children_on_the_other_cpp_node) {
  MixedCluster c(1, 2);
  auto& b1 = *c.beams[0];
  constexpr int kChildren = 40;
  for (int i = 0; i < kChildren; ++i) {
    auto r = c.harness(b1, tuple(atom("start_child"), c.sup, counter_spec(i)));
    BOOST_REQUIRE(r.ok() && ok_pid(r.value()));
  }
  {
    const bool agreed = eventually([&] { return c.views_agree({&b1}, {c.cpps[0].get(), c.cpps[1].get()}, kChildren); }, 20s);
    BOOST_REQUIRE_MESSAGE(agreed, (agreed ? std::string() : c.describe({&b1}, {c.cpps[0].get(), c.cpps[1].get()})));
  }
  const Atom victim = c.cpps[1]->name(), survivor = c.cpps[0]->name();
  std::size_t moved = 0;
  for (const auto& [id, e] : c.cpps[0]->processes()) moved += (*e.owner.element(1) == Term(victim));
  BOOST_REQUIRE_GT(moved, 0u);

  const auto t0 = std::chrono::steady_clock::now();
  c.cpps[1]->kill();
  auto settled = [&] {
    auto ps = c.cpps[0]->processes();
    if (ps.size() != std::size_t(kChildren)) return false;
    std::set<Term> args;
    for (const auto& [id, e] : ps) {
      if (!(*e.owner.element(1) == Term(survivor))) return false;
      args.insert(spec_arg(e.spec));
    }
    return args.size() == std::size_t(kChildren) && c.cpps[0]->running_children() == std::size_t(kChildren);
  };
  BOOST_TEST(eventually(settled, 20s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  BOOST_TEST_MESSAGE("C++ failover of " << moved << " children: " << took.count() << " ms");
  // The BEAM agrees: same entries, none lost, none duplicated.
  BOOST_TEST(eventually([&] { return c.beam_processes(b1) == MixedCluster::as_values(c.cpps[0]->processes()); }, 10s));
}

BOOST_AUTO_TEST_CASE(killing_a_beam_node_restarts_its_elixir_children_on_the_other_beam_node) {
  MixedCluster c(2, 1);
  auto& b1 = *c.beams[0];
  auto& b2 = *c.beams[1];
  constexpr int kChildren = 30;
  for (int i = 0; i < kChildren; ++i) {
    auto r = c.cpps[0]->call_sup(tuple(atom("start_child"), elixir_spec(i)));  // proxied by the C++ node
    BOOST_REQUIRE_MESSAGE(r.ok() && ok_pid(r.value()), r.value());
    BOOST_TEST(ok_pid(r.value())->node != c.cpps[0]->name());
  }
  {
    const bool agreed = eventually([&] { return c.views_agree({&b1, &b2}, {c.cpps[0].get()}, kChildren); }, 20s);
    BOOST_REQUIRE_MESSAGE(agreed, (agreed ? std::string() : c.describe({&b1, &b2}, {c.cpps[0].get()})));
  }
  const auto t0 = std::chrono::steady_clock::now();
  b2.beam->kill();
  auto settled = [&] {
    auto theirs = c.beam_processes(b1);
    if (theirs.size() != std::size_t(kChildren)) return false;
    std::set<Term> args;
    for (const auto& [id, v] : theirs) {
      if (!(*v.element(0) == tuple(c.sup, b1.name))) return false;
      args.insert(spec_arg(*v.element(1)));
    }
    return args.size() == std::size_t(kChildren) && MixedCluster::as_values(c.cpps[0]->processes()) == theirs;
  };
  BOOST_TEST(eventually(settled, 30s));
  BOOST_TEST_MESSAGE("BEAM failover: " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms");
}

BOOST_AUTO_TEST_CASE(graceful_shutdown_of_a_cpp_member_hands_children_off) {
  MixedCluster c(1, 2);
  auto& b1 = *c.beams[0];
  constexpr int kChildren = 30;
  for (int i = 0; i < kChildren; ++i)
    BOOST_REQUIRE(c.harness(b1, tuple(atom("start_child"), c.sup, counter_spec(i))).ok());
  {
    const bool agreed = eventually([&] { return c.views_agree({&b1}, {c.cpps[0].get(), c.cpps[1].get()}, kChildren); }, 20s);
    BOOST_REQUIRE_MESSAGE(agreed, (agreed ? std::string() : c.describe({&b1}, {c.cpps[0].get(), c.cpps[1].get()})));
  }
  BOOST_REQUIRE_GT(c.cpps[1]->running_children(), 0u);
  auto stop = call(*c.cpps[1]->runner, cnode::Dest(Atom("horde_cnode")), tuple(atom("stop_supervisor"), c.sup), 20s);
  BOOST_REQUIRE(stop.ok());
  BOOST_TEST(stop.value() == Term(atom("ok")));
  const Atom survivor = c.cpps[0]->name();
  BOOST_TEST(eventually([&] {
    auto theirs = c.beam_processes(b1);
    if (theirs.size() != std::size_t(kChildren)) return false;
    std::set<Term> args;
    for (const auto& [id, v] : theirs) {
      if (!(*v.element(0) == tuple(c.sup, survivor))) return false;
      args.insert(spec_arg(*v.element(1)));
    }
    return args.size() == std::size_t(kChildren) && c.cpps[0]->running_children() == std::size_t(kChildren);
  }, 20s));
}

BOOST_AUTO_TEST_CASE(quorum_loss_on_a_cpp_member_shuts_its_children_down_as_horde_does) {
  // 1 BEAM + 2 C++ under HordeCnode.MixedQuorumDistribution: C++ kinds on the
  // C++ members, Elixir workers on the BEAM.
  MixedCluster c(1, 2, "mixed_quorum");
  auto& b1 = *c.beams[0];
  std::vector<Pid> on_cpp0;
  for (int i = 0; i < 16; ++i) {
    auto r = c.harness(b1, tuple(atom("start_child"), c.sup, i % 4 ? counter_spec(i) : elixir_spec(i)));
    BOOST_REQUIRE(r.ok());
    const Pid* pid = ok_pid(r.value());
    BOOST_REQUIRE_MESSAGE(pid, r.value());
    if (pid->node == c.cpps[0]->name()) on_cpp0.push_back(*pid);
  }
  BOOST_REQUIRE(!on_cpp0.empty());
  // The BEAM member and the other C++ member go: cpp0 is alone, 1 of 3 alive.
  b1.beam->kill();
  c.cpps[1]->kill();
  auto& a = *c.cpps[0];
  BOOST_TEST(eventually([&] { return !a.with_sup([](horde::SupervisorProcess&) { return true; }, false); }, 15s));
  BOOST_TEST(a.runner->run([&] {
    for (const Pid& p : on_cpp0)
      if (a.runner->node().is_alive(p)) return false;
    return true;
  }).get());
}

BOOST_AUTO_TEST_CASE(a_beam_member_without_quorum_waits_until_a_cpp_member_returns) {
  MixedCluster c(1, 2, "mixed_quorum");  // Elixir workers stay on the BEAM member
  auto& beam = *c.beams[0]->beam;
  const std::string sup = "'" + std::string(c.sup.text()) + "'";
  const std::string spec = "#{id => w, start => {'Elixir.HordeCnodeTest.ElixirWorker', start_link, [1]}}";
  BOOST_TEST(beam.eval("'Elixir.Horde.DynamicSupervisor':wait_for_quorum(" + sup + ", 5000).") == "ok");
  // Both C++ members go: the BEAM member has 1 of 3 (no children, so it stays up).
  c.cpps[0]->kill();
  c.cpps[1]->kill();
  BOOST_REQUIRE(eventually([&] {
    return beam.eval("length([M || M = #{status := alive} <- maps:values(element(2, maps:find(members_info, "
                     "sys:get_state(" + sup + "))))]).") == "1";
  }, 15s));
  BOOST_TEST(beam.eval("'Elixir.Horde.DynamicSupervisor':start_child(" + sup + ", " + spec + ").") ==
             "{error,quorum_not_met}");
  beam.eval("spawn(fun() -> R = 'Elixir.Horde.DynamicSupervisor':wait_for_quorum(" + sup +
            ", 30000), hc_inbox ! {waited, R} end), ok.");
  BOOST_TEST(beam.eval("node_harness:take(500).") == "timeout");  // still waiting
  // One C++ member comes back under its name: 2 of 3 alive.
  c.restart_cpp(0);
  BOOST_TEST(beam.eval("node_harness:take(20000).", 25s) == "{ok,{waited,ok}}");
  auto r = beam.eval("'Elixir.Horde.DynamicSupervisor':start_child(" + sup + ", " + spec + ").");
  BOOST_TEST(r.find("{ok,") == 0u, r);
  // And the C++ member places again too.
  BOOST_TEST(c.cpps[0]->call_sup(Term(atom("wait_for_quorum"))).value() == Term(atom("ok")));
}

// Issue 11 fault 1 against real Horde: the C++ supervisor role restarts
// after {'EXIT', self(), kill} sent to its 'N.Crdt' from a BEAM node; its C++
// children keep running under the same pids and every member's view agrees
// again. When its ProcessesSupervisor dies (the children with it), each
// child is started exactly once more, under its id.
BOOST_AUTO_TEST_CASE(cpp_children_come_back_after_a_role_restart) {
  MixedCluster c(1, 1);
  auto& b1 = *c.beams[0];
  auto& cpp = *c.cpps[0];
  constexpr int kChildren = 20;
  for (int i = 0; i < kChildren; ++i) {
    auto r = c.harness(b1, tuple(atom("start_child"), c.sup, counter_spec(i)));
    BOOST_REQUIRE(r.ok() && ok_pid(r.value()));
  }
  auto agreed = [&] { return c.views_agree({&b1}, {&cpp}, kChildren); };
  BOOST_REQUIRE_MESSAGE(eventually(agreed, 20s), c.describe({&b1}, {&cpp}));
  auto cpp_owned = [&] {
    std::map<Term, Term> out;  // id -> pid
    for (const auto& [id, e] : cpp.processes())
      if (*e.owner.element(1) == Term(cpp.name())) out[id] = e.pid;
    return out;
  };
  const auto owned = cpp_owned();
  BOOST_REQUIRE_GT(owned.size(), 0u);
  BOOST_REQUIRE_EQUAL(cpp.running_children(), owned.size());

  auto host = [&] { return cpp.runner->run([&] { return cpp.runner->node().whereis(c.sup); }).get(); };
  const auto before = host();
  c.harness(b1, tuple(atom("eval"), binary("send({:\"" + std::string(c.sup.text()) + ".Crdt\", :\"" +
                                           std::string(cpp.name().text()) + "\"}, {:EXIT, self(), :kill})")));
  BOOST_TEST(eventually([&] {
    auto now = host();
    return now && before && !(*now == *before);
  }));
  BOOST_TEST_MESSAGE("host restarted");
  BOOST_TEST(eventually([&] { return agreed() && cpp_owned() == owned; }, 20s), c.describe({&b1}, {&cpp}));
  BOOST_TEST(cpp.running_children() == owned.size());

  // The ProcessesSupervisor dies: its children with it; each restarts once.
  cpp.runner->run([&] {
    auto& n = cpp.runner->node();
    n.exit_signal(n.null_pid(), *n.whereis(horde::sup::processes_supervisor_name_of(c.sup)), Term(atom("kill")));
  }).get();
  BOOST_TEST(eventually([&] {
    auto now = cpp_owned();
    if (now.size() != owned.size() || cpp.running_children() != owned.size()) return false;
    for (const auto& [id, pid] : now)
      if (!owned.count(id) || owned.at(id) == pid) return false;  // same ids, new pids
    return agreed();
  }, 20s), c.describe({&b1}, {&cpp}));
}

BOOST_AUTO_TEST_SUITE_END()
