// decode_sync_message (crdt/sync_decode.hpp): a received {diff, Diff} whose
// continuation's trees stay encoded, read in place by PartialDiffWalk, and
// a {diff, Slice, Keys} whose value map stays encoded, read by SliceJoin.
// The message it decodes is the general decoder's but for that one field;
// what it does not recognise, or what is malformed, it leaves to the
// general decoder; and a walk or a join over the encoded part ends as the
// one over the decoded terms, also on corrupted input. Seeded:
//   HC_SEED=<n>              run only that seed
//   HC_PROPERTY_SEEDS=<n>    number of seeds (default 200)
#include "crdt/sync_decode.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

#include "crdt/aw_lww_map.hpp"
#include "crdt/merkle_map.hpp"
#include "crdt/slice_join.hpp"
#include "crdt/sync_messages.hpp"
#include "interop/codec.hpp"
#include "property_seeds.hpp"

using namespace hc;
using namespace hc::crdt;
using Bytes = std::vector<std::uint8_t>;

namespace {

const Term kUs = Term(Pid{Atom("a@h"), 1, 0, 1});
const Term kPeer = Term(Pid{Atom("b@h"), 2, 0, 1});

Term k(std::uint64_t i) { return binary("k" + std::to_string(i)); }

// A replica pair that differs in about a third of `n` keys, and the
// continuation the peer answers our round start with, as a {diff, Diff}.
struct Round {
  AWLWWMap ours, peer;
  Term message;
};
Round round_between(std::mt19937_64& rng, int n) {
  Round r;
  for (int i = 1; i <= n; ++i) {
    const auto pick = rng() % 6;
    if (pick != 0) (void)r.ours.add(k(i), Term(i), 1, i);
    if (pick != 1) (void)r.peer.add(k(i), Term(pick == 2 ? -i : i), 2, i);
  }
  r.ours.enable_merkle();
  r.peer.enable_merkle();
  auto step = r.peer.continue_partial_diff(r.ours.prepare_partial_diff());
  BOOST_REQUIRE(step);
  BOOST_REQUIRE(!step->done);
  r.message = tuple(Atom("diff"),
                    CausalDiff{r.peer.continuation_term(*step), r.ours.context().to_term(), kUs, kPeer, kUs, {}}.to_term());
  return r;
}

Bytes body_of(const Term& t) {
  Bytes b;
  encode_to(b, t);
  return b;
}

const Term& continuation_of(const Term& message) {
  return *message.tuple_elements()[1].map_get(std::string_view("continuation"));
}

// An encoded part decoded (anything else as it is).
Term part_decoded(const Term& t) {
  const Bitstring* b = encoded_part_bytes(t);
  if (!b) return t;
  std::size_t at = 0;
  auto d = decode_body_at(b->bytes, at);
  BOOST_REQUIRE(d);
  BOOST_REQUIRE(at == b->bytes.size());
  return std::move(*d);
}

// The message with its encoded trees and keys decoded: what the general decoder makes.
Term with_parts_decoded(const Term& message) {
  auto d = CausalDiff::from_term(message.tuple_elements()[1]);
  BOOST_REQUIRE(d);
  const Term trees = part_decoded(*d->continuation.map_get(std::string_view("trees")));
  const Term keys = part_decoded(*d->continuation.map_get(std::string_view("keys")));
  d->continuation = merkle_diff_struct(TermVector(trees.list_elements().begin(), trees.list_elements().end()),
                                       TermVector(keys.list_elements().begin(), keys.list_elements().end()));
  return tuple(Atom("diff"), d->to_term());
}

// `body` with one to three bytes changed, mostly into tag bytes (104..111).
Bytes corrupted(std::mt19937_64& rng, const Bytes& body) {
  Bytes bad = body;
  for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n)
    bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : rng() % 8 + 104);
  return bad;
}

// What the general decoder makes of all of `bytes`, nullopt when it refuses them.
std::optional<Term> decode_whole(const Bytes& bytes) {
  std::size_t at = 0;
  auto t = decode_body_at(bytes, at);
  if (!t || at != bytes.size()) return std::nullopt;
  return std::move(*t);
}

bool same_step(const Result<PartialDiffStep>& a, const Result<PartialDiffStep>& b) {
  if (!a || !b) return !a && !b;
  if (a->done != b->done || a->keys != b->keys || a->trees.size() != b->trees.size()) return false;
  for (std::size_t i = 0; i < a->trees.size(); ++i)
    if (a->trees[i].bits != b->trees[i].bits || a->trees[i].len != b->trees[i].len) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sync_decode_test)

BOOST_AUTO_TEST_CASE(a_continuation_keeps_its_trees_encoded_and_the_rest_decoded) {
  std::mt19937_64 rng(5);
  Round r = round_between(rng, 2000);
  const Bytes body = body_of(r.message);
  auto decoded = decode_sync_message(body);
  BOOST_REQUIRE(decoded);
  BOOST_REQUIRE(*decoded);
  const Term& m = **decoded;
  BOOST_REQUIRE(m.is_record("diff", 2));
  const Bitstring* trees = encoded_part_bytes(*continuation_of(m).map_get(std::string_view("trees")));
  BOOST_REQUIRE(trees);
  BOOST_CHECK(trees->bytes == body_of(*continuation_of(r.message).map_get(std::string_view("trees"))));
  BOOST_CHECK(with_parts_decoded(m) == r.message);
  BOOST_CHECK(is_round_start(continuation_of(m)) == is_round_start(continuation_of(r.message)));
}

BOOST_AUTO_TEST_CASE(other_messages_are_left_to_the_general_decoder) {
  AWLWWMap a;
  (void)a.add(k(1), Term(1), 1, 1);
  a.enable_merkle();
  const std::vector<Term> none;
  const Term empty_slice = tuple(Atom("diff"), a.slice_term(none, a.context().to_term()), Term());
  const Term ack = tuple(Atom("ack_diff"), kPeer);
  const Term nothing = tuple(Atom("diff"), CausalDiff{merkle_diff_struct({}, {}), a.context().to_term(), kUs,
                                                       kPeer, kUs, {}}.to_term());
  const Term no_continuation = tuple(Atom("diff"), Term::map({{Term(Atom("dots")), Term()}}));
  for (const Term& t : {empty_slice, ack, nothing, no_continuation, Term(Atom("diff"))})
    BOOST_CHECK_MESSAGE(!decode_sync_message(body_of(t)), "claimed " << t);
  // Keys and no trees (the last continuation of a round): the keys are kept.
  const Term keys_only = tuple(Atom("diff"), CausalDiff{merkle_diff_struct({}, {k(1), k(2)}), a.context().to_term(),
                                                         kUs, kPeer, kUs, {}}.to_term());
  auto kept = decode_sync_message(body_of(keys_only));
  BOOST_REQUIRE(kept && *kept);
  BOOST_CHECK(encoded_part_bytes(*continuation_of(**kept).map_get(std::string_view("keys"))));
  BOOST_CHECK(with_parts_decoded(**kept) == keys_only);
  // A round start (one tree) is claimed, and still a round start.
  const Term start = tuple(Atom("diff"), CausalDiff{a.prepare_partial_diff(), a.context().to_term(), kUs, kUs,
                                                    kPeer, {}}.to_term());
  auto d = decode_sync_message(body_of(start));
  BOOST_REQUIRE(d && *d);
  BOOST_CHECK(is_round_start(continuation_of(**d)));
}

BOOST_AUTO_TEST_CASE(malformed_or_truncated_messages_are_left_to_the_general_decoder) {
  std::mt19937_64 rng(9);
  Round r = round_between(rng, 300);
  const Bytes body = body_of(r.message);
  for (std::size_t cut = 0; cut < body.size(); cut += 1 + cut / 64) {
    const Bytes part(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(cut));
    BOOST_REQUIRE_MESSAGE(!decode_sync_message(part), "claimed " << cut << " of " << body.size() << " bytes");
  }
  Bytes longer = body;
  longer.push_back(106);
  BOOST_CHECK(!decode_sync_message(longer));
  // A map with a repeated key: the general decoder says duplicate_map_key.
  const Bytes dup = {104, 2, 119, 4, 'd', 'i', 'f', 'f', 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2};
  BOOST_CHECK(!decode_sync_message(dup));
}

BOOST_AUTO_TEST_CASE(a_walk_over_encoded_trees_finds_what_the_walk_over_decoded_ones_finds) {
  for (std::uint64_t seed : crdt::test::seeds()) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937_64 rng(seed);
      Round r = round_between(rng, 50 + static_cast<int>(rng() % 3000));
      const Bytes body = body_of(r.message);
      auto viewed = decode_sync_message(body);
      BOOST_REQUIRE(viewed && *viewed);
      auto a = r.ours.continue_partial_diff(continuation_of(r.message));
      auto b = r.ours.continue_partial_diff(continuation_of(**viewed));
      BOOST_REQUIRE(a);
      BOOST_CHECK(same_step(a, b));
      // A stepped walk with a small budget, as the engine runs it.
      auto walk = r.ours.partial_diff_walk(continuation_of(**viewed));
      int steps = 0;
      while (!walk->step(64)) BOOST_REQUIRE(++steps < 1'000'000);
      BOOST_REQUIRE(!walk->failed());
      BOOST_CHECK(same_step(a, walk->take()));
    }
  }
}

BOOST_AUTO_TEST_CASE(corrupted_trees_are_walked_as_their_decoded_terms_are) {
  // Bytes of the trees changed at random: where the general decoder still
  // decodes the message, the walk over the encoded trees ends as the walk
  // over the decoded ones (the same keys and trees, or both fail).
  std::mt19937_64 rng(77);
  Round r = round_between(rng, 400);
  const Bytes body = body_of(r.message);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    const Bytes bad = corrupted(rng, body);
    auto general = decode_whole(bad);
    auto viewed = decode_sync_message(bad);
    // What the general decoder refuses may still be claimed when only the
    // trees are bad: skipping checks their structure, not every atom's
    // UTF-8 (etf_view.hpp); the walk reads what it compares.
    if (!general) continue;
    if (!viewed || !general->is_record("diff", 2)) continue;
    BOOST_REQUIRE(*viewed);
    const Term* gc = general->tuple_elements()[1].map_get(std::string_view("continuation"));
    if (!gc) continue;
    auto a = r.ours.continue_partial_diff(*gc);
    auto b = r.ours.continue_partial_diff(continuation_of(**viewed));
    BOOST_CHECK_MESSAGE(same_step(a, b), "corruption " << i << ": " << (a ? "ok" : a.message()) << " vs "
                                                       << (b ? "ok" : b.message()));
    ++compared;
  }
  BOOST_TEST_MESSAGE(compared << " corrupted messages compared");
  BOOST_CHECK_GT(compared, 100);
}

// A replica pair and the slice the peer sends for `keys` (some it holds,
// some it does not, one twice), as a {diff, Slice, Keys}.
struct SliceCase {
  AWLWWMap ours, peer;
  Term message;
};
SliceCase slice_between(std::mt19937_64& rng, int n) {
  SliceCase c;
  std::vector<Term> keys;
  for (int i = 1; i <= n; ++i) {
    const auto pick = rng() % 6;
    if (pick != 0) (void)c.ours.add(k(i), Term(i), 1, i);
    if (pick != 1) (void)c.peer.add(k(i), Term(pick == 2 ? -i : i), 2, i);
    if (pick == 3) (void)c.peer.remove(k(i));
    if (rng() % 2) keys.push_back(k(i));
  }
  keys.push_back(k(n + 7));  // held by nobody
  if (!keys.empty()) keys.push_back(keys.front());
  c.message = tuple(Atom("diff"), c.peer.slice_term(keys, c.peer.context().to_term()),
                    Term::list(TermVector(keys.begin(), keys.end())));
  return c;
}

// Joins the slice message `m` into a copy of `ours` in steps of `budget`.
struct Joined {
  Result<UpdateResult> last = UpdateResult{};
  std::vector<KeyChange> diffs;
  std::size_t changed = 0;
  AWLWWMap state;
};
Joined join(const AWLWWMap& ours, const Term& m, std::size_t budget) {
  Joined out{UpdateResult{}, {}, 0, ours.clone()};
  auto j = SliceJoin::start(m.tuple_elements()[1], m.tuple_elements()[2]);
  if (!j) {
    out.last = j.error();
    return out;
  }
  for (int n = 0; !j->done() && n < 1'000'000; ++n) {
    out.last = j->step(out.state, budget);
    if (!out.last) return out;
    out.changed += out.last->keys_changed;
    out.diffs.insert(out.diffs.end(), out.last->diffs.begin(), out.last->diffs.end());
  }
  return out;
}

bool same_join(const Joined& a, const Joined& b) {
  if (!a.last || !b.last) return !a.last && !b.last && a.state == b.state;
  return a.state == b.state && a.changed == b.changed && a.diffs == b.diffs;
}

BOOST_AUTO_TEST_CASE(a_slice_keeps_its_value_encoded_and_joins_as_the_decoded_one) {
  for (std::uint64_t seed : crdt::test::seeds()) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937_64 rng(seed);
      SliceCase c = slice_between(rng, 20 + static_cast<int>(rng() % 1500));
      const Bytes body = body_of(c.message);
      auto viewed = decode_sync_message(body);
      BOOST_REQUIRE(viewed && *viewed);
      const Term& vs = (*viewed)->tuple_elements()[1];
      BOOST_REQUIRE(encoded_part_bytes(*vs.map_get(std::string_view("value"))));
      const Term& keys = (*viewed)->tuple_elements()[2];
      BOOST_CHECK(encoded_part_bytes(keys) || keys.is_nil());  // kept unless []
      BOOST_CHECK(part_decoded(keys) == c.message.tuple_elements()[2]);
      const std::size_t budget = 1 + rng() % 300;
      Joined a = join(c.ours, c.message, budget), b = join(c.ours, **viewed, budget);
      BOOST_REQUIRE_MESSAGE(a.last, a.last.message());
      BOOST_CHECK(same_join(a, b));
      BOOST_CHECK(same_join(a, join(c.ours, **viewed, 0)));
    }
  }
}

BOOST_AUTO_TEST_CASE(corrupted_slices_join_as_their_decoded_terms_do) {
  // Where the general decoder still decodes a corrupted slice, joining it
  // with its value kept encoded ends as joining the decoded one: the same
  // state and changes, or both refused (a repeated key, a malformed
  // element set) with nothing joined past the failing step.
  std::mt19937_64 rng(91);
  SliceCase c = slice_between(rng, 200);
  const Bytes body = body_of(c.message);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    const Bytes bad = corrupted(rng, body);
    auto general = decode_whole(bad);
    if (!general || !general->is_record("diff", 3)) continue;
    auto viewed = decode_sync_message(bad);
    if (!viewed) continue;
    BOOST_REQUIRE(*viewed);
    Joined a = join(c.ours, *general, 50), b = join(c.ours, **viewed, 50);
    BOOST_CHECK_MESSAGE(same_join(a, b), "corruption " << i << ": " << (a.last ? "ok" : a.last.message()) << " vs "
                                                       << (b.last ? "ok" : b.last.message()));
    ++compared;
  }
  BOOST_TEST_MESSAGE(compared << " corrupted slices compared");
  BOOST_CHECK_GT(compared, 100);
}

BOOST_AUTO_TEST_CASE(a_repeated_key_in_an_encoded_value_refuses_the_slice) {
  // The BEAM never writes one (the general decoder refuses the message:
  // duplicate_map_key); a peer that does gets its slice refused before
  // any key is joined.
  AWLWWMap peer, ours;
  (void)peer.add(k(1), Term(1), 2, 1);
  const std::vector<Term> one{k(1)};
  const Term slice = peer.slice_term(one, peer.context().to_term());
  Bytes value = body_of(*slice.map_get(std::string_view("value")));
  BOOST_REQUIRE_EQUAL(value[0], 116);
  value[4] = 2;  // MAP_EXT of 2 pairs: the one pair twice
  const Bytes pair(value.begin() + 5, value.end());
  value.insert(value.end(), pair.begin(), pair.end());
  TermPairs fields(slice.map_entries().begin(), slice.map_entries().end());
  for (auto& [key, v] : fields)
    if (key == Term(Atom("value"))) v = encoded_part(value);
  const Term m = tuple(Atom("diff"), Term::map(std::move(fields)), Term::list({k(1)}));
  Joined j = join(ours, m, 0);
  BOOST_REQUIRE(!j.last);
  BOOST_CHECK_MESSAGE(j.last.message().find("repeated key") != std::string::npos, j.last.message());
  BOOST_CHECK(j.state == ours);
}

// A received tree nested far deeper than a 32-bit trie can be (here a
// chain of 200 000 inner nodes, 2.6 MB) is refused by an empty replica,
// which lists every key in it, without recursing that deep; a replica with
// keys compares it only down to its round's depth, where its own side is
// cut to {partial, Loc}, and skips the rest (iteratively).
BOOST_AUTO_TEST_CASE(a_tree_nested_beyond_the_trie_depth_is_refused_without_deep_recursion) {
  constexpr int kDepth = 200'000;
  Bytes trees = {108, 0, 0, 0, 1, 104, 2};  // [{<<>>, %MerkleMap.MerkleTree{tree: Chain}}]
  encode_to(trees, Term::binary(""));
  trees.insert(trees.end(), {116, 0, 0, 0, 2});
  encode_to(trees, Term(Atom("__struct__")));
  encode_to(trees, Term(elixir_module("MerkleMap.MerkleTree")));
  encode_to(trees, Term(Atom("tree")));
  for (int i = 0; i < kDepth; ++i) trees.insert(trees.end(), {104, 3, 109, 0, 0, 0, 4, 1, 2, 3, 4});
  trees.push_back(106);
  trees.insert(trees.end(), kDepth, 106);  // the right children
  trees.push_back(106);                    // the list's tail
  const Term cont = make_struct(elixir_module("MerkleMap.MerkleTree.Diff"),
                                {{Term(Atom("trees")), encoded_part(trees)}, {Term(Atom("keys")), Term()}});
  AWLWWMap empty, full;
  for (int i = 1; i <= 500; ++i) (void)full.add(k(i), Term(i), 1, i);
  empty.enable_merkle();
  auto refused = empty.continue_partial_diff(cont);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK_MESSAGE(refused.message().find("deeper than 64 levels") != std::string::npos, refused.message());
  full.enable_merkle();
  auto compared = full.continue_partial_diff(cont);
  BOOST_REQUIRE_MESSAGE(compared, compared.message());
  BOOST_CHECK(!compared->done);
  BOOST_CHECK(!compared->trees.empty());  // our subtrees cut at the round depth
}

BOOST_AUTO_TEST_SUITE_END()
