// Horde.ProcessesSupervisor's exit handling and restart intensity, with an
// injected clock; plus child spec validation and Horde's id randomisation.
#include "horde/restart_policy.hpp"

#include <boost/test/unit_test.hpp>

#include "horde/child_spec.hpp"

using namespace hc;
using namespace hc::horde;
using namespace std::chrono_literals;

namespace {
RestartIntensity::Clock::time_point at(std::chrono::milliseconds ms) {
  return RestartIntensity::Clock::time_point(std::chrono::duration_cast<RestartIntensity::Clock::duration>(ms + 1000s));
}
Term spec_with(TermPairs extra) {
  TermPairs p{{Term(atom("id")), Term(atom("w"))},
              {Term(atom("start")), tuple(atom("Elixir.W"), atom("start_link"), list(1))}};
  for (auto& e : extra) p.push_back(e);
  return Term::map(std::move(p));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(restart_policy_test)

BOOST_AUTO_TEST_CASE(exit_actions_follow_horde_clause_order) {
  const Term normal{atom("normal")}, shutdown{atom("shutdown")}, killed{atom("killed")};
  const Term shutdown_x = tuple(atom("shutdown"), atom("x"));
  const Term redistribution = tuple(atom("shutdown"), atom("process_redistribution"));
  struct Row { RestartType r; Term reason; ChildExitAction expected; };
  const std::vector<Row> rows{
      {RestartType::permanent, normal, ChildExitAction::restart},
      {RestartType::permanent, shutdown, ChildExitAction::restart},
      {RestartType::permanent, killed, ChildExitAction::restart},
      {RestartType::permanent, redistribution, ChildExitAction::relinquish},
      {RestartType::transient, normal, ChildExitAction::remove},
      {RestartType::transient, shutdown, ChildExitAction::remove},
      {RestartType::transient, shutdown_x, ChildExitAction::remove},
      {RestartType::transient, killed, ChildExitAction::restart},
      {RestartType::transient, redistribution, ChildExitAction::relinquish},
      {RestartType::temporary, normal, ChildExitAction::remove},
      {RestartType::temporary, killed, ChildExitAction::remove},
      {RestartType::temporary, tuple(atom("badarith"), list()), ChildExitAction::remove},
      {RestartType::temporary, redistribution, ChildExitAction::relinquish},
  };
  for (const auto& row : rows) BOOST_TEST((on_child_exit(row.r, row.reason) == row.expected), row.reason);
}

BOOST_AUTO_TEST_CASE(intensity_allows_max_restarts_within_max_seconds) {
  RestartIntensity in(3, 5);
  BOOST_TEST(in.add_restart(at(0ms)));
  BOOST_TEST(in.add_restart(at(100ms)));
  BOOST_TEST(in.add_restart(at(200ms)));
  BOOST_TEST(!in.add_restart(at(300ms)));  // 4th within 5 s
}

BOOST_AUTO_TEST_CASE(old_restarts_are_forgotten_after_max_seconds) {
  RestartIntensity in(2, 5);
  BOOST_TEST(in.add_restart(at(0s)));
  BOOST_TEST(in.add_restart(at(1s)));
  // At t = 5 s both are still inside (now <= then + 5).
  BOOST_TEST(!in.add_restart(at(5s)));
  RestartIntensity in2(2, 5);
  BOOST_TEST(in2.add_restart(at(0s)));
  BOOST_TEST(in2.add_restart(at(1s)));
  BOOST_TEST(in2.add_restart(at(6s)));  // t=0 dropped (6 > 0 + 5)
  BOOST_TEST(in2.recent_restarts() == 2u);
  BOOST_TEST(in2.add_restart(at(20s)));
  BOOST_TEST(in2.recent_restarts() == 1u);
}

BOOST_AUTO_TEST_CASE(zero_max_restarts_gives_up_at_once) {
  RestartIntensity in(0, 5);
  BOOST_TEST(!in.add_restart(at(0s)));
}

BOOST_AUTO_TEST_CASE(child_spec_defaults_like_validate_child) {
  auto r = parse_child_spec(spec_with({}));
  BOOST_REQUIRE(std::holds_alternative<ChildSpec>(r));
  const auto& c = std::get<ChildSpec>(r);
  BOOST_TEST((c.restart == RestartType::permanent));
  BOOST_TEST((c.type == ChildType::worker));
  BOOST_TEST((c.shutdown == Shutdown{Shutdown::Kind::timeout, 5000ms}));
  BOOST_TEST(c.modules == list(atom("Elixir.W")));
  BOOST_TEST(c.args.size() == 1u);
  auto s = parse_child_spec(spec_with({{Term(atom("type")), Term(atom("supervisor"))}}));
  BOOST_TEST((std::get<ChildSpec>(s).shutdown.kind == Shutdown::Kind::infinity));
  auto b = parse_child_spec(spec_with({{Term(atom("shutdown")), Term(atom("brutal_kill"))},
                                       {Term(atom("restart")), Term(atom("temporary"))}}));
  BOOST_TEST((std::get<ChildSpec>(b).shutdown.kind == Shutdown::Kind::brutal_kill));
  BOOST_TEST((std::get<ChildSpec>(b).restart == RestartType::temporary));
}

BOOST_AUTO_TEST_CASE(child_spec_errors_are_horde_reasons) {
  struct Row { Term spec; Term reason; };
  const Term bad_start = tuple(atom("Elixir.W"), atom("start_link"));
  const std::vector<Row> rows{
      {Term(atom("nope")), tuple(atom("invalid_child_spec"), atom("nope"))},
      {Term::map({{Term(atom("id")), Term(1)}}), tuple(atom("invalid_child_spec"), Term::map({{Term(atom("id")), Term(1)}}))},
      {Term::map({{Term(atom("id")), Term(1)}, {Term(atom("start")), bad_start}}), tuple(atom("invalid_mfa"), bad_start)},
      {spec_with({{Term(atom("restart")), Term(atom("sometimes"))}}), tuple(atom("invalid_restart_type"), atom("sometimes"))},
      {spec_with({{Term(atom("shutdown")), Term(0)}}), tuple(atom("invalid_shutdown"), 0)},
      {spec_with({{Term(atom("shutdown")), Term(-5)}}), tuple(atom("invalid_shutdown"), -5)},
      {spec_with({{Term(atom("type")), Term(atom("thing"))}}), tuple(atom("invalid_child_type"), atom("thing"))},
      {spec_with({{Term(atom("modules")), list(1)}}), tuple(atom("invalid_modules"), list(1))},
  };
  for (const auto& row : rows) {
    auto r = parse_child_spec(row.spec);
    BOOST_REQUIRE(std::holds_alternative<Term>(r));
    BOOST_TEST(std::get<Term>(r) == row.reason);
  }
}

BOOST_AUTO_TEST_CASE(random_ids_are_in_1_to_2_pow_128) {
  // All-ones bits: 2^128 - 1 + 1 = 2^128 exactly.
  auto ones = [] { return ~std::uint64_t{0}; };
  BigInt two128;
  two128.magnitude.assign(16, 0);
  two128.magnitude.push_back(1);
  BOOST_TEST(random_child_id(ones) == Term(two128));
  auto zeros = [] { return std::uint64_t{0}; };
  BOOST_TEST(random_child_id(zeros) == Term(1));
  std::uint64_t n = 0;
  auto seq = [&n] { return ++n * 0x9E3779B97F4A7C15ULL; };
  const Term spec = spec_with({});
  const Term a = randomize_child_id(spec, seq), b = randomize_child_id(spec, seq);
  BOOST_TEST(!(*a.map_get("id") == *b.map_get("id")));
  BOOST_TEST(a.map_size() == spec.map_size());
  BOOST_TEST(default_child_spec(Atom("Elixir.CppWorkers.Counter"), Term(5)) ==
             Term::map({{Term(atom("id")), Term(atom("Elixir.CppWorkers.Counter"))},
                        {Term(atom("start")), tuple(atom("Elixir.CppWorkers.Counter"), atom("start_link"), list(5))}}));
}

BOOST_AUTO_TEST_SUITE_END()
