// A C++ 'N.Crdt' and a BEAM node running the real DeltaCrdt 0.6.4 (from
// ERL_LIBS) replicate one AWLWWMap both ways: puts, deletes, concurrent
// writes of one key on both sides, and no key traffic once converged.
// Exits with 77 (skipped) when DeltaCrdt cannot be loaded from ERL_LIBS.
#include "crdt_net_support.hpp"

#include <cstdio>
#include <cstdlib>

#include "support/beam_node.hpp"

using namespace hc;
using namespace hc::test::crdtnet;
using hc::test::BeamNode;
using hc::test::unique_name;

namespace {

const Atom kCrdt("Elixir.NetTest.Crdt");

// ERL_LIBS holding delta_crdt (and merkle_map, telemetry); exits 77 if absent.
const std::string& delta_crdt_libs() {
  static const std::string libs = hc::test::erl_libs_or_skip("Elixir.DeltaCrdt", "delta_crdt 0.6.4, merkle_map and telemetry");
  return libs;
}

// As Horde starts it: max_sync_size :infinite. (DeltaCrdt's own default of
// 200 loses keys when more than 200 differ: the truncated slice still
// carries the sender's whole context, so the receiver takes the keys left
// out as removed; see crdt/sync_engine.hpp.)
struct BeamCrdtNode {
  std::unique_ptr<BeamNode> beam;
  explicit BeamCrdtNode(const std::string& cookie) {
    beam = std::make_unique<BeamNode>(hc::test::BeamNodeOptions{unique_name("dc"), cookie, delta_crdt_libs(), {}, false});
    beam->eval("logger:set_primary_config(level, warning), {ok, _} = application:ensure_all_started(delta_crdt), ok.");
    beam->eval("Holder = spawn(fun() -> {ok, _} = 'Elixir.DeltaCrdt':start_link('Elixir.DeltaCrdt.AWLWWMap', "
               "[{name, '" + std::string(kCrdt.text()) + "'}, {sync_interval, 50}, {max_sync_size, infinite}]), "
               "receive stop -> ok end end), ok.");
    BOOST_REQUIRE(eventually([&] { return beam->eval("is_pid(whereis('" + std::string(kCrdt.text()) + "')).") == "true"; }));
  }
  Atom node() { return Atom(beam->node_name()); }
  std::string crdt() { return "'" + std::string(kCrdt.text()) + "'"; }
  void put(const std::string& k, const std::string& v) { beam->eval("'Elixir.DeltaCrdt':put(" + crdt() + ", " + k + ", " + v + ")."); }
  void remove(const std::string& k) { beam->eval("'Elixir.DeltaCrdt':delete(" + crdt() + ", " + k + ")."); }
  void neighbours(const std::string& list) { beam->eval("'Elixir.DeltaCrdt':set_neighbours(" + crdt() + ", " + list + ")."); }
  // phash2 of the read view and of the replicated contents.
  std::string read_hash() { return beam->eval("erlang:phash2('Elixir.DeltaCrdt':to_map(" + crdt() + "), 4294967296)."); }
  std::string contents_hash() {
    return beam->eval("erlang:phash2(maps:get(value, maps:get(crdt_state, sys:get_state(" + crdt() + "))), 4294967296).");
  }
  std::string get(const std::string& k) { return beam->eval("'Elixir.DeltaCrdt':get(" + crdt() + ", " + k + ")."); }
};

std::string hash_of(const Term& t) { return std::to_string(phash2_full(t)); }

bool converged(CppCrdtNode& c, BeamCrdtNode& b) {
  return hash_of(c.contents()) == b.contents_hash() && hash_of(c.read()) == b.read_hash();
}

struct Pair {
  std::string cookie = unique_name("cookie");
  BeamCrdtNode beam{cookie};
  CppCrdtNode cpp{unique_name("crdt_cpp"), cookie, kCrdt};
  void connect() {
    cpp.neighbours({tuple(kCrdt, beam.node())}, {beam.node()});
    beam.neighbours("[{" + beam.crdt() + ", '" + std::string(cpp.node_name().text()) + "'}]");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crdt_net_horde_test)

BOOST_AUTO_TEST_CASE(puts_and_deletes_replicate_both_ways) {
  Pair p;
  p.connect();
  p.beam.put("{key, <<\"from_beam\">>}", "{{'Elixir.R', node()}, self(), #{role => admin}}");
  p.cpp.put(tuple(Atom("key"), binary("from_cpp")), tuple(Atom("x"), 2.5, list(Term(1), binary("y"))));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return converged(p.cpp, p.beam); }), "no convergence after puts");
  BOOST_CHECK_EQUAL(p.cpp.read().map_size(), 2u);
  BOOST_CHECK_EQUAL(p.beam.get("{key, <<\"from_cpp\">>}"), "{x,2.5,[1,<<\"y\">>]}");

  // Each side deletes the other's key.
  p.beam.remove("{key, <<\"from_cpp\">>}");
  p.cpp.remove(tuple(Atom("key"), binary("from_beam")));
  BOOST_REQUIRE_MESSAGE(eventually([&] { return converged(p.cpp, p.beam) && p.cpp.read().map_size() == 0; }),
                        "no convergence after deletes");

  // Many keys from both sides.
  for (int i = 0; i < 200; ++i) p.cpp.put(Term(i), binary("c" + std::to_string(i)));
  p.beam.beam->eval("[ 'Elixir.DeltaCrdt':put(" + p.beam.crdt() + ", I, I * 2) || I <- lists:seq(150, 400) ], ok.");
  BOOST_REQUIRE_MESSAGE(eventually([&] { return converged(p.cpp, p.beam); }), "no convergence with 400 keys");
  BOOST_CHECK_EQUAL(p.cpp.read().map_size(), 401u);
}

BOOST_AUTO_TEST_CASE(concurrent_writes_of_one_key_agree) {
  Pair p;
  // Both write the same key before they sync: two concurrent elements.
  p.cpp.put(binary("k"), binary("cpp"));
  p.beam.put("<<\"k\">>", "<<\"beam\">>");
  p.connect();
  BOOST_REQUIRE_MESSAGE(eventually([&] { return converged(p.cpp, p.beam); }), "no convergence");
  auto els = p.cpp.with([](horde::CrdtProcess& c) { return c.engine().state().elements(binary("k"))->size(); });
  BOOST_CHECK_EQUAL(els, 2u);
  Term winner = *p.cpp.read().map_get(binary("k"));
  BOOST_CHECK_EQUAL(p.beam.get("<<\"k\">>"), winner == binary("cpp") ? "<<\"cpp\">>" : "<<\"beam\">>");
  // A later write on either side supersedes both.
  p.beam.put("<<\"k\">>", "<<\"last\">>");
  BOOST_REQUIRE(eventually([&] { return p.cpp.read() == Term::map({{binary("k"), binary("last")}}); }));
  BOOST_REQUIRE(eventually([&] { return converged(p.cpp, p.beam); }));
}

BOOST_AUTO_TEST_CASE(no_key_traffic_after_convergence) {
  Pair p;
  p.connect();
  for (int i = 0; i < 100; ++i) p.cpp.put(tuple(Atom("key"), Term(i)), Term(i));
  p.beam.beam->eval("[ 'Elixir.DeltaCrdt':put(" + p.beam.crdt() + ", {meta, I}, I) || I <- lists:seq(1, 100) ], ok.");
  BOOST_REQUIRE(eventually([&] { return converged(p.cpp, p.beam); }));
  // Let in-flight rounds finish, then watch >= 10 rounds each way.
  auto rounds_in = p.cpp.stat("diffs_in"), rounds_out = p.cpp.stat("diffs_out");
  BOOST_REQUIRE(eventually([&] { return p.cpp.stat("diffs_out") >= rounds_out + 3; }));
  std::uint64_t traffic = p.cpp.key_traffic();
  rounds_in = p.cpp.stat("diffs_in");
  rounds_out = p.cpp.stat("diffs_out");
  BOOST_REQUIRE(eventually([&] { return p.cpp.stat("diffs_out") >= rounds_out + 10 && p.cpp.stat("diffs_in") >= rounds_in + 10; }));
  BOOST_CHECK_EQUAL(p.cpp.key_traffic(), traffic);
  BOOST_CHECK(converged(p.cpp, p.beam));
}

BOOST_AUTO_TEST_SUITE_END()
