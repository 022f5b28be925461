// SliceJoin: a wire slice joined in steps. That the steps add up to the
// one-turn join is a property test (crdt_property_test); here: what the
// steps do on the way, and what a malformed slice leaves behind.
#include "crdt/slice_join.hpp"

#include <boost/test/unit_test.hpp>

using namespace hc;
using namespace hc::crdt;

namespace {

constexpr std::int64_t Local = 111, Remote = 222;

Term k(int i) { return binary("k" + std::to_string(i)); }

// A remote replica holding k1..k6 = 10 * i.
AWLWWMap remote_replica() {
  AWLWWMap r;
  for (int i = 1; i <= 6; ++i) (void)r.add(k(i), Term(10 * i), Remote, i);
  return r;
}

std::vector<Term> keys_1_to_6() {
  std::vector<Term> keys;
  for (int i = 1; i <= 6; ++i) keys.push_back(k(i));
  return keys;
}

// The remote's slice of k1..k6 with the element set of `bad` replaced by a
// non-map (as no DeltaCrdt sends it).
Term slice_with_bad_key(int bad) {
  const AWLWWMap r = remote_replica();
  const auto keys = keys_1_to_6();
  Term slice = r.slice_term(keys, r.context().to_term());
  TermPairs value;
  for (const auto& [key, elems] : slice.map_get(std::string_view("value"))->map_entries())
    value.emplace_back(key, key == k(bad) ? Term(7) : elems);
  return make_struct(Atom("Elixir.DeltaCrdt.AWLWWMap"),
                     {{Term(Atom("dots")), *slice.map_get(std::string_view("dots"))},
                      {Term(Atom("value")), Term::map(std::move(value))}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(slice_join_test)

BOOST_AUTO_TEST_CASE(steps_join_their_keys_and_merge_the_context_last) {
  const AWLWWMap r = remote_replica();
  const auto keys = keys_1_to_6();
  AWLWWMap local;
  auto job = SliceJoin::start(r.slice_term(keys, r.context().to_term()), Term::list(TermVector(keys.begin(), keys.end())));
  BOOST_REQUIRE(job);
  // Budget 2: one unit indexes the 6 entries (up to kIndexedPerUnit), one
  // joins k1; then two keys a step.
  static_assert(SliceJoin::kIndexedPerUnit >= 6);
  auto first = job->step(local, 2);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->keys_changed == 1u);
  BOOST_TEST((local.get(k(1)) == std::optional<Term>(Term(10))));
  BOOST_TEST(!local.contains(k(2)));
  BOOST_TEST(local.context().max(Remote) == 0);  // not merged yet
  BOOST_TEST(!job->done());
  for (int step = 0; step < 2; ++step) {
    auto r2 = job->step(local, 2);
    BOOST_REQUIRE(r2);
    BOOST_TEST(r2->keys_changed == 2u);
    BOOST_TEST(r2->diffs.size() == 2u);
  }
  BOOST_TEST(job->keys_joined() == 5u);
  BOOST_TEST(local.context().max(Remote) == 0);
  auto last = job->step(local, 2);
  BOOST_REQUIRE(last);
  BOOST_TEST(last->keys_changed == 1u);
  BOOST_TEST(job->done());
  BOOST_TEST(local.context().max(Remote) == 6);
  BOOST_TEST(local.size() == 6u);
  // A step after the end does nothing.
  auto after = job->step(local, 2);
  BOOST_REQUIRE(after);
  BOOST_TEST(after->keys_changed == 0u);
}

BOOST_AUTO_TEST_CASE(a_key_repeated_in_a_later_step_is_reported_again) {
  // DeltaCrdt reports every repetition of a key; so does the one-turn join.
  const AWLWWMap r = remote_replica();
  const std::vector<Term> keys = {k(1), k(2), k(1)};
  AWLWWMap one;
  auto atomic = one.join_slice(r.slice_term(keys, r.context().to_term()), keys);
  BOOST_REQUIRE(atomic);
  BOOST_TEST(atomic->keys_changed == 3u);

  AWLWWMap stepped;
  auto job = SliceJoin::start(r.slice_term(keys, r.context().to_term()), Term::list(TermVector(keys.begin(), keys.end())));
  BOOST_REQUIRE(job);
  std::vector<KeyChange> diffs;
  std::size_t changed = 0;
  while (!job->done()) {
    auto s = job->step(stepped, 1);
    BOOST_REQUIRE(s);
    changed += s->keys_changed;
    diffs.insert(diffs.end(), s->diffs.begin(), s->diffs.end());
  }
  BOOST_TEST(changed == 3u);
  BOOST_TEST((diffs == atomic->diffs));
  BOOST_TEST((diffs.back() == KeyChange::added(k(1), Term(10))));
}

BOOST_AUTO_TEST_CASE(a_malformed_key_in_a_later_step_keeps_the_steps_before_and_not_the_context) {
  AWLWWMap local;
  (void)local.add(k(9), Term(9), Local, 1);
  const auto keys = keys_1_to_6();
  auto job = SliceJoin::start(slice_with_bad_key(5), Term::list(TermVector(keys.begin(), keys.end())));
  BOOST_REQUIRE(job);  // the shape of the whole slice is fine
  // Budget 4: index + k1..k3, then k4..k6 (k5 is malformed).
  auto first = job->step(local, 4);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->keys_changed == 3u);
  auto second = job->step(local, 4);
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error() == make_error_code(CrdtErrc::malformed_slice));
  BOOST_TEST(second.what() ==
             "AWLWWMap element set of a key is malformed (in keys 4..6 of 6; the 3 before stay joined, the slice's "
             "context is not merged)");
  BOOST_TEST(job->failed());
  BOOST_TEST(!job->done());
  // k1..k3 stay; nothing of the failed step (k4, before the bad key, too).
  for (int i = 1; i <= 3; ++i) BOOST_TEST((local.get(k(i)) == std::optional<Term>(Term(10 * i))));
  for (int i = 4; i <= 6; ++i) BOOST_TEST(!local.contains(k(i)));
  // The context covers none of the remote's dots: a context claiming k4..k6
  // would make our next sync delete them at the remote.
  BOOST_TEST(local.context().max(Remote) == 0);
  BOOST_TEST(local.context().max(Local) == 1);
  BOOST_TEST(!job->step(local, 4));  // over
}

BOOST_AUTO_TEST_CASE(a_malformed_key_in_the_first_step_changes_nothing) {
  AWLWWMap local;
  (void)local.add(k(9), Term(9), Local, 1);
  const AWLWWMap before = local.clone();
  const auto keys = keys_1_to_6();
  auto job = SliceJoin::start(slice_with_bad_key(2), Term::list(TermVector(keys.begin(), keys.end())));
  BOOST_REQUIRE(job);
  auto r = job->step(local, 0);  // all at once, as join_slice
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.what() == "AWLWWMap element set of a key is malformed");
  BOOST_TEST((local == before));
}

BOOST_AUTO_TEST_CASE(start_rejects_a_malformed_shape_before_any_step) {
  const Term keys = list(k(1));
  const Term good_dots = Term::map({{Term(Remote), Term(1)}});
  struct Case {
    Term slice;
    Term keys;
    std::string what;
  };
  const std::vector<Case> cases = {
      {Term(1), keys, "AWLWWMap is not a map"},
      {make_struct(Atom("Elixir.Other"), {{Term(Atom("dots")), good_dots}, {Term(Atom("value")), Term::map({})}}), keys,
       "AWLWWMap has struct Elixir.Other"},
      {Term::map({{Term(Atom("value")), Term::map({})}}), keys, "AWLWWMap without dots/value"},
      {Term::map({{Term(Atom("dots")), good_dots}, {Term(Atom("value")), Term(3)}}), keys, "AWLWWMap value is not a map"},
      {Term::map({{Term(Atom("dots")), good_dots}, {Term(Atom("value")), Term::map({})}}), Term(5), "Keys is not a list"},
  };
  for (const Case& c : cases) {
    auto job = SliceJoin::start(c.slice, c.keys);
    BOOST_REQUIRE(!job);
    BOOST_TEST(job.error() == make_error_code(CrdtErrc::malformed_slice));
    BOOST_TEST(job.what() == c.what);
  }
  // A context that is not the compressed form fails too (its own detail).
  BOOST_TEST(!SliceJoin::start(Term::map({{Term(Atom("dots")), Term(1)}, {Term(Atom("value")), Term::map({})}}), keys));
}

BOOST_AUTO_TEST_SUITE_END()
