// Seeded property tests of the CRDT (replayable):
//   HC_SEED=<n>              run only that seed
//   HC_PROPERTY_SEEDS=<n>    number of seeds (default 200)
// Every failure message names the seed.
#include "crdt/sync_engine.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <unordered_map>

#include "crdt/slice_join.hpp"
#include "interop/phash2.hpp"
#include "property_seeds.hpp"
#include "sim_cluster.hpp"

using namespace hc;
using namespace hc::crdt;
using hc::crdt::test::SimCluster;

namespace {

using hc::crdt::test::seeds;

// Key space: a few Horde-shaped keys plus two keys with one 32-bit hash.
const std::vector<Term>& key_space() {
  static const std::vector<Term> keys = [] {
    std::vector<Term> k;
    for (int i = 0; i < 12; ++i) k.push_back(tuple(Atom("key"), binary("name-" + std::to_string(i))));
    k.push_back(tuple(Atom("member"), tuple(Atom("Elixir.R"), Atom("n@h"))));
    std::unordered_map<std::uint32_t, std::int64_t> seen;
    for (std::int64_t i = 0;; ++i) {
      auto [it, fresh] = seen.emplace(phash2_full(Term(i)), i);
      if (!fresh) {
        k.push_back(Term(it->second));
        k.push_back(Term(i));
        break;
      }
    }
    return k;
  }();
  return keys;
}

Term random_value(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return Term(static_cast<std::int64_t>(rng() % 5));
    case 1: return binary("v" + std::to_string(rng() % 5));
    case 2: return tuple(tuple(Atom("Elixir.R"), Atom("n@h")), Term(Pid{Atom("n@h"), static_cast<std::uint32_t>(rng() % 100), 0, 1}), Atom("nil"));
    default: return Term::map({{Term(Atom("role")), Term(static_cast<std::int64_t>(rng() % 3))}});
  }
}

// Replicas converge on their contents (`value`). Their compressed contexts
// may legitimately stay different: DeltaCrdt only ships a context together
// with a state slice, and once the Merkle trees agree nothing is shipped.
Term contents(const AWLWWMap& m) { return *m.to_term().map_get(std::string_view("value")); }

bool all_equal(SimCluster& c) {
  for (std::size_t i = 1; i < c.size(); ++i)
    if (!(contents(c.engine(i).state()) == contents(c.engine(0).state()))) return false;
  return true;
}

std::map<Term, Term> read_map(const AWLWWMap& m) {
  std::map<Term, Term> out;
  Term all = m.read();
  for (const auto& [k, v] : all.map_entries()) out[k] = v;
  return out;
}

// Random state built by `ops` operations on replicas that sync now and then.
std::vector<AWLWWMap> random_states(std::mt19937_64& rng, std::size_t n, int ops) {
  std::vector<AWLWWMap> s(n);
  const auto& keys = key_space();
  std::int64_t ts = 0;
  for (int i = 0; i < ops; ++i) {
    std::size_t r = rng() % n;
    const Term& k = keys[rng() % keys.size()];
    switch (rng() % 5) {
      case 0: s[r].remove(k); break;
      case 1: {
        std::size_t o = rng() % n;
        if (o != r) s[r].join_all(s[o]);
        break;
      }
      default: s[r].add(k, random_value(rng), static_cast<std::int64_t>(r + 1) * 1000, ++ts * 7 % 23); break;
    }
  }
  return s;
}

AWLWWMap joined(const AWLWWMap& a, const AWLWWMap& b) {
  AWLWWMap r = a.clone();
  r.join_all(b);
  return r;
}

// Random operations on n replicas under message loss, duplication and
// reordering; then healing rounds: every replica must hold the same
// contents and Merkle root, its owner view must add up to its state, and a
// further round must move no key.
void check_convergence(std::uint64_t seed, std::function<void(SyncConfig&)> configure = {}) {
  std::mt19937_64 rng(seed);
  const std::size_t n = 3 + rng() % 3;
  SimCluster c(n, seed * 31 + 7, 1 + static_cast<std::uint32_t>(seed % 100000), std::move(configure));
  c.faults = {0.05 + 0.3 * (rng() % 100) / 100.0, 0.2 * (rng() % 100) / 100.0, true};
  c.connect_all();
  const auto& keys = key_space();
  const int ops = 30 + static_cast<int>(rng() % 90);
  for (int i = 0; i < ops; ++i) {
    std::size_t r = rng() % n;
    const Term& k = keys[rng() % keys.size()];
    switch (rng() % 10) {
      case 0: case 1: c.remove(r, k); break;
      case 2: c.tick(r); break;
      case 3: case 4: for (int s = 0; s < 5; ++s) c.step(); break;
      default: c.put(r, k, random_value(rng)); break;
    }
  }
  // Heal: no more faults, deliver what is in flight, then sync rounds.
  c.faults = {};
  c.deliver_all();
  int rounds = 0;
  while (!all_equal(c) && rounds < 10) {
    c.tick_all();
    c.deliver_all();
    ++rounds;
  }
  if (!all_equal(c))
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST_MESSAGE("replica " << i << ": " << to_string(c.engine(i).state().to_term()));
  BOOST_REQUIRE_MESSAGE(all_equal(c), "seed " << seed << ": no convergence after " << rounds << " rounds");
  auto root = c.engine(0).mutable_state().merkle_root();
  for (std::size_t i = 0; i < n; ++i) {
    BOOST_REQUIRE_MESSAGE(c.engine(i).mutable_state().merkle_root() == root, "seed " << seed << ": Merkle roots differ");
    BOOST_REQUIRE_MESSAGE(c.at(i).owner_view == read_map(c.engine(i).state()),
                          "seed " << seed << ": owner notifications do not add up to the state on replica " << i);
    BOOST_REQUIRE_MESSAGE(c.at(i).warnings == 0, "seed " << seed << ": engine warnings");
  }
  // Converged: a full round moves no key (no endless resend).
  auto slices = c.sent_slices, gets = c.sent_get_diffs;
  c.tick_all();
  c.deliver_all();
  BOOST_REQUIRE_MESSAGE(c.sent_slices == slices && c.sent_get_diffs == gets,
                        "seed " << seed << ": keys resent after convergence");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crdt_property_test)

BOOST_AUTO_TEST_CASE(replicas_converge_under_loss_duplication_and_reordering) {
  auto ss = seeds();
  BOOST_TEST_MESSAGE("convergence: " << ss.size() << " seeds (HC_SEED / HC_PROPERTY_SEEDS to change)");
  for (std::uint64_t seed : ss) check_convergence(seed);
}

BOOST_AUTO_TEST_CASE(replicas_converge_with_slices_joined_in_steps) {
  // The same with every slice joined a few keys per turn: messages that
  // arrive during a join wait for it, ticks start no round meanwhile, and
  // local operations run between the steps.
  for (std::uint64_t seed : seeds())
    check_convergence(seed, [seed](SyncConfig& cfg) { cfg.slice_chunk_keys = 1 + seed % 3; });
}

BOOST_AUTO_TEST_CASE(synchronous_replication_matches_a_plain_map) {
  for (std::uint64_t seed : seeds()) {
    std::mt19937_64 rng(seed);
    SimCluster c(3, seed);
    c.connect_all();
    c.deliver_all();
    std::map<Term, Term> model;
    const auto& keys = key_space();
    for (int i = 0; i < 40; ++i) {
      std::size_t r = rng() % 3;
      const Term& k = keys[rng() % keys.size()];
      if (rng() % 4 == 0) {
        c.remove(r, k);
        model.erase(k);
      } else {
        Term v = random_value(rng);
        c.put(r, k, v);
        model[k] = v;
      }
      for (int round = 0; round < 2; ++round) {
        c.tick_all();
        c.deliver_all();
      }
    }
    for (std::size_t i = 0; i < 3; ++i)
      BOOST_REQUIRE_MESSAGE(read_map(c.engine(i).state()) == model, "seed " << seed << ": replica " << i << " differs from the model");
  }
}

BOOST_AUTO_TEST_CASE(join_is_commutative_associative_and_idempotent) {
  for (std::uint64_t seed : seeds()) {
    std::mt19937_64 rng(seed);
    auto s = random_states(rng, 3, 60);
    const AWLWWMap &a = s[0], &b = s[1], &c = s[2];
    BOOST_REQUIRE_MESSAGE(joined(a, b) == joined(b, a), "seed " << seed << ": not commutative");
    BOOST_REQUIRE_MESSAGE(joined(joined(a, b), c) == joined(a, joined(b, c)), "seed " << seed << ": not associative");
    BOOST_REQUIRE_MESSAGE(joined(a, a) == a, "seed " << seed << ": not idempotent");
    BOOST_REQUIRE_MESSAGE(joined(joined(a, b), b) == joined(a, b), "seed " << seed << ": re-joining changes the state");
  }
}

BOOST_AUTO_TEST_CASE(a_slice_joined_in_steps_equals_the_one_turn_join) {
  for (std::uint64_t seed : seeds()) {
    std::mt19937_64 rng(seed);
    auto s = random_states(rng, 3, 80);  // concurrent adds, removals, partial joins
    const AWLWWMap& local = s[0];
    const AWLWWMap remote = joined(s[1], s[2]);
    // Keys: part of the key space (some the remote lacks: removals), in a
    // random order, some given twice.
    std::vector<Term> keys;
    for (const Term& k : key_space())
      if (rng() % 4 != 0) keys.push_back(k);
    for (std::size_t d = rng() % 4; d > 0 && !keys.empty(); --d) keys.push_back(keys[rng() % keys.size()]);
    std::shuffle(keys.begin(), keys.end(), rng);
    const Term slice = remote.slice_term(keys, remote.context().to_term());

    AWLWWMap atomic = local.clone();
    atomic.enable_merkle();
    auto one = atomic.join_slice(slice, keys);
    BOOST_REQUIRE_MESSAGE(one, "seed " << seed << ": " << one.what());

    AWLWWMap stepped = local.clone();
    stepped.enable_merkle();
    auto job = SliceJoin::start(slice, Term::list(TermVector(keys.begin(), keys.end())));
    BOOST_REQUIRE(job);
    UpdateResult sum;
    for (int steps = 0; !job->done(); ++steps) {
      BOOST_REQUIRE_MESSAGE(steps < 1000, "seed " << seed << ": the join does not end");
      BOOST_REQUIRE_MESSAGE(stepped.context() == local.context(), "seed " << seed << ": context merged before the last step");
      auto r = job->step(stepped, 1 + rng() % 3);
      BOOST_REQUIRE_MESSAGE(r, "seed " << seed << ": " << r.what());
      sum.keys_changed += r->keys_changed;
      sum.diffs.insert(sum.diffs.end(), r->diffs.begin(), r->diffs.end());
    }
    BOOST_REQUIRE_MESSAGE(stepped == atomic, "seed " << seed << ": states (or contexts) differ");
    BOOST_REQUIRE_MESSAGE(stepped.merkle_root() == atomic.merkle_root(), "seed " << seed << ": Merkle roots differ");
    BOOST_REQUIRE_MESSAGE(sum.keys_changed == one->keys_changed, "seed " << seed << ": keys_changed differs");
    BOOST_REQUIRE_MESSAGE(sum.diffs == one->diffs, "seed " << seed << ": the reported changes differ");
  }
}

BOOST_AUTO_TEST_CASE(merkle_roots_are_equal_exactly_when_contents_are) {
  for (std::uint64_t seed : seeds()) {
    std::mt19937_64 rng(seed);
    auto s = random_states(rng, 4, 40);
    // Add pairs that are equal by construction.
    s.push_back(joined(s[0], s[1]));
    s.push_back(joined(s[1], s[0]));
    for (auto& x : s) x.enable_merkle();
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (std::size_t j = 0; j < s.size(); ++j) {
        const bool same_contents =
            *s[i].to_term().map_get(std::string_view("value")) == *s[j].to_term().map_get(std::string_view("value"));
        const bool same_root = s[i].merkle_root() == s[j].merkle_root();
        BOOST_REQUIRE_MESSAGE(same_contents == same_root, "seed " << seed << ": states " << i << "," << j);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
