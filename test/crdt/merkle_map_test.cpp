#include "crdt/merkle_map.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>

#include "interop/phash2.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

// A plain Key => Value map as Merkle content; EntryId = insertion index.
struct MapContent : MerkleContent {
  std::vector<std::pair<Term, Term>> entries;
  std::map<Term, EntryId> ids;
  MerkleMap tree;

  Term merkle_key(EntryId id) const override { return entries[id].first; }
  Term merkle_value(EntryId id) const override { return entries[id].second; }

  void put(const Term& k, const Term& v) {
    auto it = ids.find(k);
    entries.emplace_back(k, v);
    EntryId id = static_cast<EntryId>(entries.size() - 1);
    if (it == ids.end()) {
      tree.put(merkle_key_hash(k), id);
    } else {
      tree.put(merkle_key_hash(k), id, it->second);
    }
    ids[k] = id;
  }
  void erase(const Term& k) {
    auto it = ids.find(k);
    if (it == ids.end()) return;
    tree.remove(merkle_key_hash(k), it->second);
    ids.erase(it);
  }
  Term tree_term() {
    tree.update_hashes(*this);
    return tree.tree_term(*this);
  }
  std::optional<std::uint32_t> root() {
    tree.update_hashes(*this);
    return tree.root_hash();
  }
};

// One random change of `m` and of `model`, the plain map it should hold: a
// key in 0..keys-1 erased (one time in `erase_one_in`) or set to 0..999.
void random_change(std::mt19937_64& rng, MapContent& m, std::map<Term, Term>& model, std::uint64_t keys,
                   std::uint64_t erase_one_in) {
  Term key(static_cast<std::int64_t>(rng() % keys));
  if (rng() % erase_one_in == 0) {
    m.erase(key);
    model.erase(key);
  } else {
    Term v(static_cast<std::int64_t>(rng() % 1000));
    m.put(key, v);
    model[key] = v;
  }
}

// Runs MerkleMap's ping-pong between two trees until one side has the keys.
std::set<Term> diff_keys(MapContent& a, MapContent& b, int depth = 8, int* rounds = nullptr) {
  a.tree.update_hashes(a);
  b.tree.update_hashes(b);
  Term cont = a.tree.prepare_partial_diff(depth, a);
  MapContent* side[2] = {&b, &a};
  for (int i = 0;; ++i) {
    auto step = side[i % 2]->tree.continue_partial_diff(cont, depth, *side[i % 2]);
    BOOST_REQUIRE(step);
    if (step->done) {
      if (rounds) *rounds = i + 1;
      return {step->keys.begin(), step->keys.end()};
    }
    cont = side[i % 2]->tree.continuation_term(*step, *side[i % 2]);
    BOOST_REQUIRE_LT(i, 20);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(merkle_map_test)

BOOST_AUTO_TEST_CASE(empty_tree_continuation_is_an_empty_root) {
  MapContent c;
  c.tree.update_hashes(c);
  Term d = c.tree.prepare_partial_diff(8, c);
  Term expected = make_struct(
      elixir_module("MerkleMap.MerkleTree.Diff"),
      {{Term(Atom("keys")), Term()},
       {Term(Atom("trees")),
        list(tuple(Term::bitstring({}, 0), make_struct(elixir_module("MerkleMap.MerkleTree"), {{Term(Atom("tree")), Term()}})))}});
  BOOST_CHECK_EQUAL(d, expected);
}

BOOST_AUTO_TEST_CASE(single_leaf_shape_and_hashes) {
  MapContent c;
  c.put(Term(Atom("a")), Term(1));
  Term contents = Term::map({{Term(Atom("a")), Term(1)}});
  Term expected = tuple(hash_binary(phash2_full(contents)), tuple(hash_binary(phash2_full(Term(Atom("a")))), contents));
  BOOST_CHECK_EQUAL(c.tree_term(), expected);
}

BOOST_AUTO_TEST_CASE(inner_hash_covers_child_hashes_with_empty_as_nil) {
  MapContent c;
  for (int i = 0; i < 50; ++i) c.put(Term(i), Term(i * 2));
  Term t = c.tree_term();
  // Verify every inner node's hash from its children, recursively.
  std::function<Term(const Term&)> check = [&](const Term& n) -> Term {
    if (n.is_nil()) return Term();
    if (n.is_tuple(2)) {
      BOOST_CHECK_EQUAL(n.tuple_elements()[0], hash_binary(phash2_full(n.tuple_elements()[1].tuple_elements()[1])));
      return n.tuple_elements()[0];
    }
    Term hl = check(n.tuple_elements()[1]);
    Term hr = check(n.tuple_elements()[2]);
    BOOST_CHECK_EQUAL(n.tuple_elements()[0], hash_binary(phash2_full(tuple(hl, hr))));
    return n.tuple_elements()[0];
  };
  check(t);
}

BOOST_AUTO_TEST_CASE(shape_is_canonical_whatever_the_history) {
  std::mt19937_64 rng(42);
  MapContent a, b;
  std::map<Term, Term> model;
  for (int i = 0; i < 3000; ++i) {
    random_change(rng, a, model, 500, 3);
    if (i % 97 == 0) a.tree.update_hashes(a);  // interleave incremental updates
  }
  for (auto& [k, v] : model) b.put(k, v);
  BOOST_CHECK_EQUAL(a.tree_term(), b.tree_term());
  BOOST_CHECK(a.root() == b.root());
  for (auto& [k, v] : model) a.erase(k);
  BOOST_CHECK(a.tree_term().is_nil());
  BOOST_CHECK_EQUAL(a.tree.node_count(), 0u);
}

// update_hashes(content, max_nodes) applies a large queue of changes in
// pieces (at most max(max_nodes, 4 096) a call), with changes queued in
// between (of the same keys too, which must keep their order), and ends
// with the tree a single update builds.
BOOST_AUTO_TEST_CASE(a_large_queue_of_changes_is_applied_in_pieces) {
  std::mt19937_64 rng(9);
  MapContent a, b;
  std::map<Term, Term> model;
  auto change = [&](MapContent& m) { random_change(rng, m, model, 20'000, 4); };
  for (int i = 0; i < 30'000; ++i) change(a);
  int calls = 0;
  std::size_t nodes_after_first = 0;
  while (!a.tree.update_hashes(a, 1)) {
    BOOST_TEST_REQUIRE(++calls < 100'000);
    if (calls == 1) nodes_after_first = a.tree.node_count();
    if (calls % 2 == 0 && calls < 20)
      for (int i = 0; i < 500; ++i) change(a);  // queued while the earlier ones are applied
  }
  // The first call put in at most 4 096 of the ~14 000 keys (~2.4 nodes a key).
  BOOST_TEST(nodes_after_first <= 4096u * 3);
  BOOST_TEST(a.tree.node_count() > 2 * nodes_after_first);
  BOOST_TEST(a.tree.hashes_valid());
  for (auto& [k, v] : model) b.put(k, v);
  BOOST_CHECK_EQUAL(a.tree_term(), b.tree_term());
  BOOST_CHECK(a.root() == b.root());
}

BOOST_AUTO_TEST_CASE(partial_diff_finds_exactly_the_differing_keys) {
  std::mt19937_64 rng(7);
  for (int n : {0, 1, 10, 1000, 5000}) {
    MapContent a, b;
    std::set<Term> expected;
    for (int i = 0; i < n; ++i) {
      a.put(Term(i), Term(i));
      b.put(Term(i), Term(i));
    }
    for (int i = 0; i < 25 && n > 0; ++i) {
      Term key(static_cast<std::int64_t>(rng() % n));
      switch (rng() % 3) {
        case 0: a.put(key, Term(-1)); break;
        case 1: b.erase(key); break;
        default: a.erase(key); break;
      }
    }
    for (int i = 0; i < n; ++i) {
      Term key(i);
      auto ia = a.ids.find(key), ib = b.ids.find(key);
      bool in_a = ia != a.ids.end(), in_b = ib != b.ids.end();
      if (in_a != in_b || (in_a && !(a.entries[ia->second].second == b.entries[ib->second].second)))
        expected.insert(key);
    }
    int rounds = 0;
    BOOST_CHECK(diff_keys(a, b, 8, &rounds) == expected);
    BOOST_CHECK_EQUAL(a.root() == b.root(), expected.empty());
    BOOST_TEST_MESSAGE(n << " keys, " << expected.size() << " differ: " << rounds << " rounds");
  }
}

BOOST_AUTO_TEST_CASE(truncate_keeps_keys_first_then_trees) {
  Term t1 = tuple(Term::bitstring({}, 0), Term());
  Term d = merkle_diff_struct({t1, t1, t1}, {Term(1), Term(2)});
  Term r = MerkleMap::truncate_diff(d, 3);
  BOOST_CHECK_EQUAL(r, merkle_diff_struct({t1}, {Term(1), Term(2)}));
  r = MerkleMap::truncate_diff(d, 1);
  BOOST_CHECK_EQUAL(r, merkle_diff_struct({}, {Term(1)}));
}

BOOST_AUTO_TEST_CASE(malformed_continuations_are_errors_not_crashes) {
  MapContent c;
  for (int i = 0; i < 20; ++i) c.put(Term(i), Term(i));
  c.tree.update_hashes(c);
  auto tree = [](Term t) { return make_struct(elixir_module("MerkleMap.MerkleTree"), {{Term(Atom("tree")), t}}); };
  std::vector<Term> bad = {
      Term(1),
      merkle_diff_struct({Term(1)}, {}),
      merkle_diff_struct({tuple(Term(1), tree(Term()))}, {}),
      merkle_diff_struct({tuple(Term::bitstring({}, 0), Term(3))}, {}),
      merkle_diff_struct({tuple(Term::bitstring({}, 0), tree(tuple(Term(1), Term(2), Term(3), Term(4))))}, {}),
      merkle_diff_struct({tuple(Term::bitstring({}, 0), tree(tuple(binary("abcd"), Term(1), Term(2))))}, {}),
      merkle_diff_struct({tuple(Term::bitstring({}, 0), tree(tuple(binary("abcd"), tuple(Term(5), Term::map({})))))}, {}),
      merkle_diff_struct({tuple(Term::bitstring({}, 0), tree(tuple(Term(), Term(), Term())))}, {}),
  };
  for (const Term& t : bad) {
    std::string why;
    auto r = c.tree.continue_partial_diff(t, 8, c, &why);
    BOOST_CHECK_MESSAGE(!r && !why.empty(), "accepted " << to_string(t));
  }
}

BOOST_AUTO_TEST_SUITE_END()
