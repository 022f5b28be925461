#include "crdt/aw_lww_map.hpp"

#include <boost/test/unit_test.hpp>

#include <unordered_map>

#include "crdt/packed_term.hpp"
#include "interop/error_condition.hpp"
#include "interop/phash2.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

constexpr std::int64_t A = 111, B = 222;

Term k(const char* s) { return binary(s); }

// Replica-to-replica state transfer as the sync protocol does it: the whole
// sender state sliced to `keys`, with the sender's context.
void send_keys(const AWLWWMap& from, AWLWWMap& to, std::vector<Term> keys) {
  auto delta = AWLWWMap::from_term(from.slice_term(keys, from.context().to_term()));
  BOOST_REQUIRE(delta);
  to.join(*delta, keys);
}

void sync_all(AWLWWMap& a, AWLWWMap& b) {
  auto da = AWLWWMap::from_term(a.to_term());
  auto db = AWLWWMap::from_term(b.to_term());
  a.join_all(*db);
  b.join_all(*da);
}

// Two distinct keys with the same phash2(Key, 2^32), found by search.
std::pair<Term, Term> colliding_keys() {
  std::unordered_map<std::uint32_t, std::int64_t> seen;
  for (std::int64_t i = 0;; ++i) {
    Term key = tuple(Atom("key"), i);
    auto [it, fresh] = seen.emplace(phash2_full(key), i);
    if (!fresh) return {tuple(Atom("key"), it->second), key};
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(aw_lww_map_test)

BOOST_AUTO_TEST_CASE(add_reads_back_and_advances_the_context) {
  AWLWWMap m;
  auto r = m.add(k("a"), Term(1), A, -100);
  BOOST_CHECK_EQUAL(r.keys_changed, 1u);
  BOOST_REQUIRE_EQUAL(r.diffs.size(), 1u);
  BOOST_CHECK(r.diffs[0] == (KeyChange{KeyChange::Kind::add, k("a"), Term(1)}));
  BOOST_CHECK(m.get(k("a")) == Term(1));
  BOOST_CHECK_EQUAL(m.context().max(A), 1);
  m.add(k("a"), Term(2), A, -90);
  BOOST_CHECK(m.get(k("a")) == Term(2));
  BOOST_CHECK_EQUAL(m.context().max(A), 2);
  auto els = m.elements(k("a"));
  BOOST_REQUIRE(els && els->size() == 1);
  BOOST_CHECK(((*els)[0].dots == std::vector<Dot>{Dot{A, 2}}));
}

BOOST_AUTO_TEST_CASE(term_shape_is_exactly_deltacrdts) {
  AWLWWMap m;
  m.add(k("a"), Term(1), A, -5);
  Term expected = make_struct(
      elixir_module("DeltaCrdt.AWLWWMap"),
      {{Term(Atom("dots")), Term::map({{Term(A), Term(1)}})},
       {Term(Atom("value")),
        Term::map({{k("a"), Term::map({{tuple(1, -5), make_struct(elixir_module("MapSet"),
                                                                   {{Term(Atom("map")), Term::map({{tuple(A, 1), Term()}})},
                                                                    {Term(Atom("version")), Term(2)}})}})}})}});
  BOOST_CHECK_EQUAL(m.to_term(), expected);
  auto back = AWLWWMap::from_term(expected);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == m);
}

BOOST_AUTO_TEST_CASE(remove_drops_the_key_and_keeps_the_context) {
  AWLWWMap m;
  m.add(k("a"), Term(1), A, 1);
  auto r = m.remove(k("a"));
  BOOST_REQUIRE_EQUAL(r.diffs.size(), 1u);
  BOOST_CHECK(r.diffs[0].kind == KeyChange::Kind::remove);
  BOOST_CHECK(!m.get(k("a")));
  BOOST_CHECK_EQUAL(m.context().max(A), 1);
  BOOST_CHECK_EQUAL(m.remove(k("a")).keys_changed, 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_adds_coexist_and_the_largest_timestamp_wins) {
  AWLWWMap a, b;
  a.add(k("x"), binary("from-a"), A, 10);
  b.add(k("x"), binary("from-b"), B, 20);
  sync_all(a, b);
  BOOST_CHECK(a == b);
  BOOST_CHECK_EQUAL(a.elements(k("x"))->size(), 2u);
  BOOST_CHECK(a.get(k("x")) == binary("from-b"));
  // A later write on either side replaces both elements.
  a.add(k("x"), binary("again"), A, 5);  // smaller ts, but it supersedes causally
  sync_all(a, b);
  BOOST_CHECK_EQUAL(b.elements(k("x"))->size(), 1u);
  BOOST_CHECK(b.get(k("x")) == binary("again"));
}

BOOST_AUTO_TEST_CASE(timestamp_ties_pick_the_first_element_in_map_order) {
  AWLWWMap a, b;
  a.add(k("x"), Term(Atom("zeta")), A, 7);
  b.add(k("x"), Term(Atom("alpha")), B, 7);
  sync_all(a, b);
  BOOST_CHECK(a.get(k("x")) == Term(Atom("alpha")));
  BOOST_CHECK(b.get(k("x")) == Term(Atom("alpha")));
}

BOOST_AUTO_TEST_CASE(add_wins_over_a_concurrent_remove) {
  AWLWWMap a, b;
  a.add(k("x"), Term(1), A, 1);
  sync_all(a, b);
  b.remove(k("x"));        // removes dot {A,1}
  a.add(k("x"), Term(2), A, 2);  // concurrent: new dot {A,2}
  sync_all(a, b);
  BOOST_CHECK(a == b);
  BOOST_CHECK(a.get(k("x")) == Term(2));
}

BOOST_AUTO_TEST_CASE(removing_a_value_added_by_another_node_propagates) {
  AWLWWMap a, b;
  a.add(k("x"), Term(1), A, 1);
  send_keys(a, b, {k("x")});
  BOOST_CHECK(b.get(k("x")) == Term(1));
  b.remove(k("x"));
  send_keys(b, a, {k("x")});
  BOOST_CHECK(!a.get(k("x")));
  BOOST_CHECK(a == b);
}

BOOST_AUTO_TEST_CASE(join_only_touches_the_given_keys) {
  AWLWWMap a, b;
  a.add(k("x"), Term(1), A, 1);
  a.add(k("y"), Term(2), A, 2);
  auto delta = AWLWWMap::from_term(a.to_term());
  auto r = b.join(*delta, std::vector<Term>{k("y")});
  BOOST_CHECK_EQUAL(r.keys_changed, 1u);
  BOOST_CHECK(!b.get(k("x")));
  BOOST_CHECK(b.get(k("y")) == Term(2));
  // The context is merged whole, as DeltaCrdt does: x is now "seen" by b,
  // so a later slice of x without it would not resurrect it on a.
  BOOST_CHECK_EQUAL(b.context().max(A), 2);
}

BOOST_AUTO_TEST_CASE(diffs_report_read_changes_only) {
  AWLWWMap a, b;
  a.add(k("x"), Term(1), A, 10);
  b.add(k("x"), Term(1), B, 5);  // same read value, other element
  auto da = AWLWWMap::from_term(a.to_term());
  auto r = b.join(*da, std::vector<Term>{k("x")});
  BOOST_CHECK_EQUAL(r.keys_changed, 1u);
  BOOST_CHECK(r.diffs.empty());  // DeltaCrdt still calls on_diffs with []
}

BOOST_AUTO_TEST_CASE(keys_with_colliding_hashes_stay_apart) {
  auto [k1, k2] = colliding_keys();
  BOOST_REQUIRE(!(k1 == k2));
  BOOST_REQUIRE_EQUAL(phash2_full(k1), phash2_full(k2));
  AWLWWMap a, b;
  a.enable_merkle();
  b.enable_merkle();
  a.add(k1, Term(1), A, 1);
  a.add(k2, Term(2), A, 2);
  BOOST_CHECK(a.get(k1) == Term(1));
  BOOST_CHECK(a.get(k2) == Term(2));
  Term tree = a.merkle_tree_term();  // one leaf holding both keys
  BOOST_REQUIRE(tree.is_tuple(2));
  BOOST_CHECK_EQUAL(tree.tuple_elements()[1].tuple_elements()[1].map_size(), 2u);
  b.add(k2, Term(2), A, 2);
  BOOST_CHECK(a.merkle_root() != b.merkle_root());
  a.remove(k1);
  auto da = AWLWWMap::from_term(a.to_term());
  b = std::move(*da);
  b.enable_merkle();
  BOOST_CHECK(a.merkle_root() == b.merkle_root());
  BOOST_CHECK(!a.get(k1));
}

BOOST_AUTO_TEST_CASE(from_term_rejects_malformed_states) {
  std::string why;
  BOOST_CHECK(!AWLWWMap::from_term(Term(1), &why));
  BOOST_CHECK(!AWLWWMap::from_term(Term::map({{Term(Atom("dots")), Term::map({})}}), &why));
  BOOST_CHECK(!AWLWWMap::from_term(
      Term::map({{Term(Atom("dots")), Term::map({{Term(Atom("x")), Term(1)}})}, {Term(Atom("value")), Term::map({})}}), &why));
  BOOST_CHECK(!AWLWWMap::from_term(
      Term::map({{Term(Atom("dots")), Term::map({})},
                 {Term(Atom("value")), Term::map({{k("a"), Term::map({{tuple(1, 2), Term(3)}})}})}}),
      &why));
  BOOST_CHECK(!why.empty());
}

// A malformed wire slice is CrdtErrc::malformed_slice (a protocol
// violation) with the part that was wrong as detail, and changes nothing.
BOOST_AUTO_TEST_CASE(join_slice_rejects_malformed_slices_with_a_detail) {
  AWLWWMap a;
  (void)a.add(k("x"), Term(1), A, 1);
  const Term keys[] = {k("x")};
  auto not_a_map = a.join_slice(Term(1), keys);
  BOOST_TEST(!not_a_map.ok());
  BOOST_TEST(not_a_map.error() == make_error_code(CrdtErrc::malformed_slice));
  BOOST_TEST((not_a_map.error() == errc::protocol_violation));
  BOOST_TEST(not_a_map.what() == "AWLWWMap is not a map");
  BOOST_TEST(not_a_map.message() == "malformed AWLWWMap slice: AWLWWMap is not a map");
  // A key's element set that is not a map fails in the join itself.
  Term bad_elements = Term::map({{Term(Atom("dots")), Term::map({})}, {Term(Atom("value")), Term::map({{k("x"), Term(7)}})}});
  auto bad = a.join_slice(bad_elements, keys);
  BOOST_TEST(bad.error() == make_error_code(CrdtErrc::malformed_slice));
  BOOST_TEST(bad.what() == "AWLWWMap element set of a key is malformed");
  BOOST_CHECK(a.get(k("x")) == std::optional<Term>(Term(1)));
}

BOOST_AUTO_TEST_CASE(packed_terms_round_trip) {
  std::vector<Term> samples = {
      Term(0), Term(-576460752303423488LL), Term(std::numeric_limits<std::int64_t>::max()),
      Term(BigInt{true, {1, 2, 3, 4, 5, 6, 7, 8, 9}}), Term(2.5), Term(Atom("héllo")), binary("bytes"),
      Term::bitstring(std::vector<std::uint8_t>{0xa0}, 3), Term::list({Term(1), Term(2)}, Term(3)),
      Term::map({{Term(1), Term::tuple({})}, {binary("k"), list(Term(1))}}),
      Term(Pid{Atom("n@h"), 5, 6, 7}), Term(Reference{Atom("n@h"), 3, {1, 2, 3}}),
      Term(Port{Atom("n@h"), 99, 1}), Term::tuple({Term(1), Term(2), Term(3), Term(4), Term(5), Term(6), Term(7), Term(8), Term(9)})};
  for (const Term& t : samples) {
    std::string p = pack_term(t);
    BOOST_CHECK_MESSAGE(unpack_term_all(p) == t, to_string(t));
  }
  BOOST_CHECK(pack_term(Term(-0.0)) == pack_term(Term(0.0)));
}

BOOST_AUTO_TEST_CASE(beam_monotonic_clock_starts_near_the_beam_origin) {
  std::int64_t t = beam_monotonic_ns();
  BOOST_CHECK_LT(t, kBeamMonotonicOrigin + std::int64_t{3600} * 1'000'000'000);
  BOOST_CHECK_GE(t, kBeamMonotonicOrigin);
  BOOST_CHECK_GE(beam_monotonic_ns(), t);
}

BOOST_AUTO_TEST_SUITE_END()
