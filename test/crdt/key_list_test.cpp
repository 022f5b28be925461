// KeyListReader: the Keys of a sync message read a piece at a time, from a
// Term list or from the encoded part the node's decoder leaves.
#include "crdt/key_list.hpp"

#include <boost/test/unit_test.hpp>

#include "crdt/aw_lww_map.hpp"
#include "crdt/merkle_map.hpp"
#include "crdt/slice_join.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes body_of(const Term& t) {
  Bytes b;
  encode_to(b, t);
  return b;
}

Term k(int i) { return binary("k" + std::to_string(i)); }

TermVector keys(int n) {
  TermVector v;
  for (int i = 1; i <= n; ++i) v.push_back(k(i));
  return v;
}

// Reads all of `r` in pieces of `piece`.
std::vector<Term> read_all(KeyListReader& r, std::size_t piece, bool* ok = nullptr) {
  std::vector<Term> out;
  bool good = true;
  while (good && !r.done()) good = r.read(piece, out);
  if (ok) *ok = good;
  return out;
}

// The position of the n-th (1-based) element of a LIST_EXT of BINARY_EXT
// keys "k1".."k9" (5 header bytes, 7 bytes per key).
std::size_t element_at(int n) { return 5 + 7 * static_cast<std::size_t>(n - 1); }

}  // namespace

BOOST_AUTO_TEST_SUITE(key_list_test)

BOOST_AUTO_TEST_CASE(a_term_list_and_its_encoded_part_read_the_same_keys_in_pieces) {
  const Term list = Term::list(keys(9));
  for (const Term& form : {list, encoded_part(body_of(list))}) {
    auto r = KeyListReader::open(form);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->size() == 9u);
    BOOST_TEST(KeyListReader::is_key_list(form));
    std::vector<Term> got = read_all(*r, 4);
    BOOST_TEST(r->done());
    BOOST_TEST(r->read_so_far() == 9u);
    BOOST_TEST((Term::list(TermVector(got.begin(), got.end())) == list));
  }
  for (const Term& empty : {Term(), encoded_part(body_of(Term()))}) {
    auto r = KeyListReader::open(empty);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->size() == 0u);
    BOOST_TEST(r->done());
  }
}

BOOST_AUTO_TEST_CASE(what_is_not_a_list_is_refused_at_open) {
  for (const Term& t : {Term(1), tuple(Atom("a")), binary("k"), encoded_part(body_of(Term(1))),
                        encoded_part(body_of(tuple(Atom("a"), Term(1))))}) {
    BOOST_TEST(!KeyListReader::open(t));
    BOOST_TEST(!KeyListReader::is_key_list(t));
  }
  BOOST_TEST(!KeyListReader::open(Term::list({Term(1)}, Term(2))));  // improper, as Terms
}

BOOST_AUTO_TEST_CASE(a_malformed_encoded_list_fails_where_it_is_read_and_says_where) {
  const Bytes good = body_of(Term::list(keys(9)));
  BOOST_REQUIRE(good.size() == element_at(10) + 1);  // the layout element_at assumes, then NIL_EXT
  // Key 7 is no term (an unknown tag): the first six read, then the error.
  Bytes bad = good;
  bad[element_at(7)] = 1;
  auto r = KeyListReader::open(encoded_part(bad));
  BOOST_REQUIRE(r);
  std::vector<Term> out;
  BOOST_TEST(r->read(6, out));
  BOOST_TEST(out.size() == 6u);
  BOOST_TEST(!r->read(3, out));
  BOOST_TEST(r->error().find("key 7 of 9") != std::string::npos, r->error());
  BOOST_TEST(!r->read(3, out));  // nothing more is read
  BOOST_TEST(out.size() == 6u);
  // An improper tail, and bytes after the list, fail the last read.
  Bytes improper(good.begin(), good.end() - 1);
  const Bytes tail_two{97, 2};  // SMALL_INTEGER_EXT 2: [k1, ..., k9 | 2]
  improper.insert(improper.end(), tail_two.begin(), tail_two.end());
  Bytes trailing = good;
  trailing.insert(trailing.end(), good.end() - 1, good.end());  // a second NIL_EXT
  for (const Bytes& b : {improper, trailing}) {
    auto t = KeyListReader::open(encoded_part(b));
    BOOST_REQUIRE(t);
    bool ok = true;
    BOOST_TEST(read_all(*t, 4, &ok).size() == 9u);
    BOOST_TEST(!ok);
    BOOST_TEST(t->error().find("not a proper list") != std::string::npos, t->error());
  }
}

// A slice whose encoded Keys hold a key that does not decode: the steps
// before it stay joined, the failing one joins nothing, and the context is
// not merged (it would cover keys we never joined).
BOOST_AUTO_TEST_CASE(a_slice_join_stops_at_a_key_that_does_not_decode) {
  AWLWWMap peer;
  for (int i = 1; i <= 9; ++i) (void)peer.add(k(i), Term(i), 7, i);
  const std::vector<Term> all = keys(9);
  const Term slice = peer.slice_term(all, peer.context().to_term());
  Bytes bad = body_of(Term::list(keys(9)));
  bad[element_at(7)] = 1;
  auto j = SliceJoin::start(slice, encoded_part(bad));
  BOOST_REQUIRE(j);
  BOOST_TEST(j->keys_total() == 9u);
  AWLWWMap ours;
  BOOST_REQUIRE(j->step(ours, 3));  // the value map indexed, k1..k2 or so joined
  Result<UpdateResult> last = UpdateResult{};
  while (last && !j->done()) last = j->step(ours, 3);
  BOOST_TEST(!last);
  BOOST_TEST(last.what().find("key 7 of 9") != std::string::npos, last.what());
  BOOST_TEST(j->failed());
  BOOST_TEST(j->keys_joined() <= 6u);
  BOOST_TEST(ours.size() == j->keys_joined());
  BOOST_TEST(!ours.get(k(7)));
  BOOST_TEST(ours.context().empty());  // not merged
  // The same Keys, well-formed and encoded, join as the Term list does.
  AWLWWMap a, b;
  auto ja = SliceJoin::start(slice, Term::list(keys(9)));
  auto jb = SliceJoin::start(slice, encoded_part(body_of(Term::list(keys(9)))));
  BOOST_REQUIRE(ja && jb);
  while (!ja->done()) BOOST_REQUIRE(ja->step(a, 2));
  while (!jb->done()) BOOST_REQUIRE(jb->step(b, 2));
  BOOST_TEST((a == b));
  BOOST_TEST(a.size() == 9u);
}

BOOST_AUTO_TEST_SUITE_END()
