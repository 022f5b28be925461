// Horde.UniformQuorumDistribution, Horde.UniformRandomDistribution and the
// mixed strategy on top of each: decisions against recorded Horde 0.10.0
// output and the edge cases of the Horde source.
#include "horde/uniform_quorum_distribution.hpp"
#include "horde/uniform_random_distribution.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

#include "horde/mixed_distribution.hpp"
#include "etf_file.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::horde;

namespace {

const Atom kSup("Elixir.S");

Member m(std::string_view node, MemberStatus s, std::optional<std::vector<Atom>> kinds = std::nullopt) {
  return Member{tuple(kSup, Atom(node)), s, std::move(kinds)};
}
constexpr auto A = MemberStatus::alive;
constexpr auto D = MemberStatus::dead;
constexpr auto S = MemberStatus::shutting_down;
constexpr auto U = MemberStatus::uninitialized;

Term spec(int k, std::string_view module = "Elixir.MyApp.Worker") {
  return Term::map({{Term(atom("id")), Term(k)}, {Term(atom("start")), tuple(Atom(module), atom("start_link"), list(k))}});
}

using hc::test::read_etf;

// A scripted "random" index: the given values in turn.
RandomIndex scripted(std::vector<std::size_t> picks) {
  auto state = std::make_shared<std::pair<std::vector<std::size_t>, std::size_t>>(std::move(picks), 0);
  return [state](std::size_t n) { return state->first[state->second++ % state->first.size()] % n; };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distribution_strategy_test)

BOOST_AUTO_TEST_CASE(quorum_edge_cases_of_the_horde_source) {
  struct Case {
    std::vector<Member> members;
    bool quorum;
    const char* why;
  };
  const Case cases[] = {
      {{}, false, "has_quorum?([]) is false"},
      {{m("a@h", A)}, true, "one alive member"},
      {{m("a@h", D)}, false, "one dead member"},
      {{m("a@h", A), m("b@h", A)}, true, "even count: a is dropped, b alive"},
      {{m("a@h", A), m("b@h", D)}, false, "even count: a dropped, only dead b counts"},
      {{m("a@h", D), m("b@h", A)}, true, "even count: dead a dropped"},
      {{m("b@h", A), m("a@h", D)}, true, "sorted by name before dropping, not list order"},
      {{m("a@h", A), m("b@h", A), m("c@h", D)}, true, "2 of 3"},
      {{m("a@h", A), m("b@h", D), m("c@h", D)}, false, "1 of 3"},
      {{m("a@h", D), m("b@h", A), m("c@h", A), m("d@h", D)}, true, "4: a dropped, 2 of 3"},
      {{m("a@h", A), m("b@h", A), m("c@h", D), m("d@h", D)}, false, "4: a dropped, 1 of 3"},
      {{m("a@h", S), m("b@h", A)}, true, "shutting_down members do not count at all"},
      {{m("a@h", S), m("b@h", S)}, false, "all shutting down: Horde's nil"},
      {{m("a@h", S), m("b@h", A), m("c@h", D)}, false, "2 active (even): b dropped, c dead"},
      {{m("a@h", U), m("b@h", A), m("c@h", U)}, false, "uninitialized counts against"},
      {{m("a@h", A), m("b@h", A), m("c@h", U)}, true, "2 of 3 with one uninitialized"},
  };
  UniformQuorumDistribution q;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.why) {
      BOOST_TEST(uniform_quorum(c.members) == c.quorum);
      BOOST_TEST(q.has_quorum(c.members) == c.quorum);
      auto r = q.choose_node(spec(1), c.members);
      if (!c.quorum) {
        BOOST_TEST(!r.ok());
        BOOST_TEST(r.error == Term(atom("quorum_not_met")));
      } else {
        // With quorum: exactly Horde.UniformDistribution's choice.
        auto u = UniformDistribution().choose_node(spec(1), c.members);
        BOOST_REQUIRE(r.ok());
        BOOST_TEST(r.member->name == u.member->name);
      }
    }
  }
  BOOST_TEST(q.elixir_module() == Atom("Elixir.Horde.UniformQuorumDistribution"));
}

BOOST_AUTO_TEST_CASE(quorum_golden_matches_real_horde) {
  // {Spec, [Member], has_quorum?(Members) (true | false | nil), choose_node(Spec, Members)}
  const Term golden = read_etf(std::string(HC_SOURCE_DIR) + "/test/horde/data/quorum_distribution_golden.etf");
  UniformQuorumDistribution q;
  std::map<std::string, std::size_t> seen;
  std::size_t n = 0;
  for (const Term& row : golden.list_elements()) {
    std::vector<Member> members;
    for (const Term& t : row.element(1)->list_elements()) members.push_back(*Member::from_term(t));
    const Term& quorum = *row.element(2);
    BOOST_TEST(q.has_quorum(members) == quorum.is_atom("true"), "case " << n << ": Horde says " << quorum);
    auto r = q.choose_node(*row.element(0), members);
    const Term& expected = *row.element(3);
    if (expected.element(0)->is_atom("ok")) {
      BOOST_REQUIRE_MESSAGE(r.ok(), "case " << n << ": " << r.error);
      BOOST_TEST(r.member->to_term() == *expected.element(1));
      ++seen["placed"];
    } else {
      BOOST_TEST(!r.ok());
      BOOST_TEST(r.error == *expected.element(1));
      ++seen[to_string(*expected.element(1))];
    }
    if (quorum.is_atom("nil")) ++seen["nil"];
    if (members.size() % 2 == 0 && !members.empty()) ++seen["even"];
    ++n;
  }
  BOOST_TEST(n == 1000u);
  // The recorded set exercises every branch.
  BOOST_TEST(seen["placed"] > 100u);
  BOOST_TEST(seen["quorum_not_met"] > 100u);
  BOOST_TEST(seen["nil"] > 10u);
  BOOST_TEST(seen["even"] > 200u);
  BOOST_TEST_MESSAGE("quorum golden: " << n << " cases, " << seen["placed"] << " placed, " << seen["quorum_not_met"]
                                       << " quorum_not_met, " << seen["nil"] << " nil");
}

BOOST_AUTO_TEST_CASE(random_picks_only_alive_members) {
  std::vector<Member> members{m("a@h", A), m("b@h", D), m("c@h", A), m("d@h", S), m("e@h", A)};
  UniformRandomDistribution r(scripted({0, 1, 2, 3}));
  std::vector<std::string> picked;
  for (int k = 0; k < 4; ++k) {
    auto c = r.choose_node(spec(k), members);
    BOOST_REQUIRE(c.ok());
    picked.emplace_back(c.member->name.element(1)->as_atom()->text());
  }
  // Indices over the alive ones, in member order: a, c, e, then a again.
  BOOST_TEST(picked == (std::vector<std::string>{"a@h", "c@h", "e@h", "a@h"}));
  auto none = r.choose_node(spec(1), std::vector<Member>{m("a@h", D), m("b@h", S)});
  BOOST_TEST(!none.ok());
  BOOST_TEST(none.error == Term(atom("no_alive_nodes")));
  BOOST_TEST(r.has_quorum(std::vector<Member>{}));  // never enforced
  // The default source spreads over all alive members.
  UniformRandomDistribution real;
  std::map<Term, int> count;
  for (int k = 0; k < 3000; ++k) ++count[real.choose_node(spec(1), members).member->name];
  BOOST_TEST(count.size() == 3u);
  for (auto& [_, c] : count) BOOST_TEST((c > 800 && c < 1200), c);
}

BOOST_AUTO_TEST_CASE(mixed_variants_keep_their_groups) {
  const Atom echo("Elixir.CppWorkers.Echo");
  std::vector<Member> members{m("beam1@h", A), m("beam2@h", A), m("cpp1@h", A, std::vector<Atom>{echo}),
                              m("cpp2@h", D, std::vector<Atom>{echo}), m("cpp3@h", A, std::vector<Atom>{})};
  MixedDistribution quorum({.base = MixedBase::quorum});
  MixedDistribution random({.base = MixedBase::random, .random = scripted({1})});
  MixedDistribution plain;
  BOOST_TEST(quorum.elixir_module() == Atom("Elixir.HordeCnode.MixedQuorumDistribution"));
  BOOST_TEST(random.elixir_module() == Atom("Elixir.HordeCnode.MixedRandomDistribution"));
  // With quorum (4 of 5 alive) the quorum variant places as the plain one.
  BOOST_TEST(quorum.has_quorum(members));
  for (int k = 0; k < 50; ++k) {
    for (auto mod : {"Elixir.MyApp.Worker", "Elixir.CppWorkers.Echo"}) {
      auto a = quorum.choose_node(spec(k, mod), members);
      auto b = plain.choose_node(spec(k, mod), members);
      BOOST_REQUIRE(a.ok());
      BOOST_TEST(a.member->name == b.member->name);
    }
  }
  // Random: inside the group only (C++ kind -> the one alive provider; else BEAM members).
  BOOST_TEST(*random.choose_node(spec(1, "Elixir.CppWorkers.Echo"), members).member->name.element(1) ==
             Term(Atom("cpp1@h")));
  BOOST_TEST(*random.choose_node(spec(1), members).member->name.element(1) == Term(Atom("beam2@h")));
  BOOST_TEST(random.choose_node(spec(1, "Elixir.CppWorkers.Counter"), members).error ==
             tuple(atom("no_alive_nodes_providing"), Atom("Elixir.CppWorkers.Counter")));
  // Quorum lost over ALL members (not per group): 2 of 5 alive.
  std::vector<Member> split{m("beam1@h", A), m("beam2@h", D), m("cpp1@h", A, std::vector<Atom>{echo}),
                            m("cpp2@h", D, std::vector<Atom>{echo}), m("cpp3@h", D, std::vector<Atom>{})};
  BOOST_TEST(!quorum.has_quorum(split));
  BOOST_TEST(quorum.choose_node(spec(1, "Elixir.CppWorkers.Echo"), split).error == Term(atom("quorum_not_met")));
  BOOST_TEST(plain.choose_node(spec(1, "Elixir.CppWorkers.Echo"), split).ok());
}

BOOST_AUTO_TEST_SUITE_END()
