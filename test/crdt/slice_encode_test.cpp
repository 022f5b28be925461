// The state slice written straight from the packed records
// (crdt/slice_encode.hpp) against the codec's encoding of the Term message
// that slice_term builds, and the continuations of Merkle rounds written
// straight from the trie (MerkleMap::write_continuation) against the
// encoding of continuation_term: byte for byte, over random states. Seeded:
//   HC_SEED=<n>              run only that seed
//   HC_PROPERTY_SEEDS=<n>    number of seeds (default 200)
#include "crdt/slice_encode.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <memory>  // make_shared
#include <random>
#include <string>

#include "crdt/packed_term.hpp"
#include "crdt/sync_engine.hpp"
#include "interop/codec.hpp"
#include "interop/etf_writer.hpp"
#include "property_seeds.hpp"
#include "support/random_term.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

using hc::crdt::test::seeds;

using Rng = std::mt19937_64;
using hc::test::random_atom;
using hc::test::random_int;
using hc::test::random_pid;
using hc::test::random_term;

// A replica built from a random state term: each key with 1..3 elements of
// random {Value, Ts}, each with 1..3 dots (several elements per key, as
// concurrent writes leave them); then some keys removed and some written.
AWLWWMap random_state(Rng& rng, std::vector<Term>& keys) {
  TermPairs values;
  const std::size_t n = 1 + rng() % 40;
  for (std::size_t i = 0; i < n; ++i) {
    Term key = random_term(rng, 2);
    TermPairs elems;
    std::size_t ne = rng() % 4 == 0 ? 2 + rng() % 2 : 1;
    for (std::size_t j = 0; j < ne; ++j) {
      TermVector dots;
      for (std::size_t d = 0, nd = 1 + rng() % 3; d < nd; ++d)
        dots.push_back(tuple(Term(static_cast<std::int64_t>(1 + rng() % 3)), Term(random_int(rng))));
      Term ts = rng() % 8 == 0 ? random_term(rng, 1) : Term(random_int(rng));
      elems.emplace_back(tuple(random_term(rng, 2), ts), make_mapset(std::move(dots)));
    }
    values.emplace_back(key, Term::map(std::move(elems)));
    keys.push_back(key);
  }
  Term ctx = Term::map({{Term(1), Term(100)}, {Term(2), Term(7)}, {Term(3), Term(1)}});
  Term state = make_struct(elixir_module("DeltaCrdt.AWLWWMap"),
                           {{Term(Atom("dots")), ctx}, {Term(Atom("value")), Term::map(std::move(values))}});
  std::string why;
  auto m = AWLWWMap::from_term(state, &why);
  BOOST_REQUIRE_MESSAGE(m, why);
  for (const Term& k : keys) {
    if (rng() % 6 == 0) m->remove(k);
    if (rng() % 6 == 0) m->add(k, random_term(rng, 2), 9, random_int(rng));
  }
  return std::move(*m);
}

// Two engines syncing with each other until no message is left: every
// Send in order, the encoded ones decoded (what the peer receives), each
// delivered as a Term. `encoded` counts the Sends that came as bytes and
// `answers` those that answered a get_diff.
struct Exchange {
  std::vector<action::Send> sends;  // message decoded, encoded cleared
  std::size_t encoded = 0, answers = 0, continuations = 0;
};
// `depth`: SyncConfig::depth (small: rounds of several continuations).
Exchange sync_pair(AWLWWMap a_state, AWLWWMap b_state, bool encode, int depth = MerkleMap::kSyncDepth) {
  const Term pid_a(Pid{Atom("a@h"), 1, 0, 1}), pid_b(Pid{Atom("b@h"), 1, 0, 1});
  const Term name_a = tuple(Atom("N.Crdt"), Atom("a@h")), name_b = tuple(Atom("N.Crdt"), Atom("b@h"));
  auto make = [&](std::int64_t id, const Term& self, AWLWWMap st) {
    SyncConfig cfg;
    cfg.node_id = id;
    cfg.self = self;
    cfg.encode_slices = encode;
    cfg.encode_continuations = encode;
    cfg.depth = depth;
    auto t = std::make_shared<std::int64_t>(0);
    return SyncEngine(cfg, [t] { return ++*t; }, std::move(st));
  };
  SyncEngine a = make(1, pid_a, std::move(a_state)), b = make(2, pid_b, std::move(b_state));
  Exchange x;
  std::deque<std::pair<bool, Term>> queue;  // (to a?, message)
  auto take = [&](const SyncActions& actions) {
    for (const auto& act : actions) {
      const auto* s = std::get_if<action::Send>(&act);
      if (!s) continue;
      action::Send got = *s;
      if (!s->encoded.empty()) {
        ++x.encoded;
        std::size_t at = 0;
        auto t = decode_body_at(s->encoded, at);
        BOOST_REQUIRE(t);
        BOOST_REQUIRE(at == s->encoded.size());
        got.message = *t;
        got.encoded.clear();
        if (got.message.is_record("diff", 2)) ++x.continuations;
      }
      x.sends.push_back(got);
      queue.emplace_back(got.to == pid_a || got.to == name_a, got.message);
    }
  };
  take(a.set_neighbours({name_b}));
  take(b.set_neighbours({name_a}));
  while (!queue.empty()) {
    auto [to_a, m] = queue.front();
    queue.pop_front();
    if (m.is_record("get_diff", 3)) ++x.answers;
    take((to_a ? a : b).handle_message(m));
  }
  BOOST_TEST((a.state() == b.state()));  // the sync converged
  return x;
}

// The keys a slice is asked for: some of the replica's `keys` (some
// removed since), some never held, some twice, sometimes -0.0 and 0.0 (one
// key in map order), in random order.
TermVector asked_keys(Rng& rng, const std::vector<Term>& keys) {
  TermVector asked;
  for (const Term& k : keys)
    if (rng() % 3) asked.push_back(k);
  for (int i = 0; i < 3; ++i) asked.push_back(random_term(rng, 1));
  for (std::size_t i = 0, n = asked.size(); i < n; ++i)
    if (rng() % 5 == 0) asked.push_back(asked[i]);
  if (rng() % 4 == 0) asked.push_back(Term(-0.0)), asked.push_back(Term(0.0));
  std::shuffle(asked.begin(), asked.end(), rng);
  return asked;
}

std::vector<std::uint8_t> codec_body(const Term& t) {
  std::vector<std::uint8_t> out;
  encode_to(out, t);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(slice_encode_test)

// The converter under the slice: the packed form of a term written as
// external format is the codec's encoding of the term (0.0 for -0.0, which
// packing normalises).
BOOST_AUTO_TEST_CASE(packed_terms_write_the_codec_bytes) {
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    for (int i = 0; i < 20; ++i) {
      Term t = random_term(rng, 3);
      std::string packed = pack_term(t);
      std::vector<std::uint8_t> out{0xAA};  // appends after what is there
      {
        EtfWriter w(out);
        std::string_view in = packed;
        write_packed_etf(in, w);
        BOOST_TEST(in.empty());
      }
      std::vector<std::uint8_t> want{0xAA};
      encode_to(want, unpack_term_all(packed));
      BOOST_TEST_REQUIRE((out == want), "seed " << seed << ": " << t);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_byte_list_is_not_a_string) {
  // STRING_EXT holds at most 65535 bytes; a longer list of small integers is a LIST_EXT.
  for (std::size_t n : {65535u, 65536u}) {
    Term t = Term::list(TermVector(n, Term(7)));
    std::string packed = pack_term(t);
    std::vector<std::uint8_t> out;
    {
      EtfWriter w(out);
      std::string_view in = packed;
      write_packed_etf(in, w);
    }
    BOOST_TEST((out == codec_body(t)));
    BOOST_TEST(out[0] == (n == 65535 ? 107 : 108));
  }
}

BOOST_AUTO_TEST_CASE(slices_are_the_codec_bytes_of_slice_term) {
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    std::vector<Term> keys;
    AWLWWMap state = random_state(rng, keys);
    TermVector asked = asked_keys(rng, keys);
    Term asked_list = Term::list(asked);
    Term dots = rng() % 2 ? state.context().to_term() : random_term(rng, 2);

    std::vector<std::uint8_t> direct{131};
    encode_slice_message(state, asked_list, dots, direct);
    Term message = tuple(Atom("diff"), state.slice_term(asked_list.list_elements(), dots), asked_list);
    BOOST_TEST_REQUIRE((direct == encode(message)), "seed " << seed << ": " << message);
  }
}

// SliceWriter in pieces of a few bytes (a run of one or a few keys per
// lookup, so the merge of many runs and the choice among equal keys of
// different runs are exercised) writes what encode_slice_message writes.
BOOST_AUTO_TEST_CASE(a_slice_written_in_pieces_is_the_slice_written_at_once) {
  std::size_t multi_step = 0;
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    std::vector<Term> keys;
    AWLWWMap state = random_state(rng, keys);
    TermVector asked = asked_keys(rng, keys);
    const Term asked_list = Term::list(asked), dots = state.context().to_term();
    std::vector<std::uint8_t> whole;
    encode_slice_message(state, asked_list, dots, whole);

    const std::size_t budget = 1 + rng() % 400;
    SliceWriter writer(state, asked, dots);
    std::vector<std::uint8_t> pieces;
    int calls = 0;
    for (bool done = false; !done; ++calls) {
      BOOST_TEST_REQUIRE(calls < 100'000);
      EtfWriter w(pieces);
      done = writer.write(w, budget);
    }
    multi_step += calls > 3;
    BOOST_TEST_REQUIRE((pieces == whole), "seed " << seed << " budget " << budget << " calls " << calls);
  }
  BOOST_TEST(multi_step > 50u);
}

// A key changed or removed after it was looked up keeps, in the slice, what
// it held then (the record was copied): each key is one moment's value.
BOOST_AUTO_TEST_CASE(keys_changed_during_a_stepped_slice_keep_the_value_they_had_when_looked_up) {
  AWLWWMap state;
  TermVector asked;
  for (int i = 0; i < 2000; ++i) {
    asked.push_back(tuple(Atom("key"), binary("n" + std::to_string(i))));
    (void)state.add(asked.back(), Term(i), 7, i + 1);
  }
  const Term asked_list = Term::list(asked), dots = state.context().to_term();
  std::vector<std::uint8_t> before;
  encode_slice_message(state, asked_list, dots, before);

  SliceWriter writer(state, asked, dots);
  std::vector<std::uint8_t> got;
  bool done = false;
  for (int calls = 0; !done; ++calls) {
    BOOST_TEST_REQUIRE(calls < 100'000);
    {
      EtfWriter w(got);
      done = writer.write(w, 4096);  // 32 keys looked up a call
    }
    // Every key looked up so far changes or goes (slots freed and reused).
    if (calls == 0)
      for (int i = 0; i < 2000; ++i) {
        if (i % 2) {
          (void)state.remove(asked[i]);
        } else {
          (void)state.add(asked[i], Term(-i), 7, 100'000 + i);
        }
      }
  }
  // The first call's keys kept their old values; the rest are the new
  // state's: decoded, the slice holds the old value or the new one per key.
  std::size_t at = 0;
  auto slice = decode_body_at(got, at);
  BOOST_TEST_REQUIRE(static_cast<bool>(slice));
  const Term& value = *slice->tuple_elements()[1].map_get(std::string_view("value"));
  std::size_t old_values = 0, new_values = 0;
  for (const auto& [k, elements] : value.map_entries()) {
    const int i = std::stoi(std::string(k.tuple_elements()[1].as_binary()->substr(1)));
    BOOST_TEST_REQUIRE(elements.map_entries().size() == 1u);
    const std::int64_t v = *elements.map_entries()[0].first.tuple_elements()[0].as_int();
    if (v == i && i != 0) {
      ++old_values;  // looked up before the change
    } else {
      BOOST_TEST((v == -i && i % 2 == 0), "key " << i << " holds " << v);  // the new value of a kept key
      ++new_values;
    }
  }
  BOOST_TEST(old_values >= 31u);   // the first call's 32 keys, as they were
  BOOST_TEST(new_values >= 900u);  // the even keys looked up later
  BOOST_TEST(value.map_entries().size() < 2000u - 500u);  // the odd keys gone when looked up
  BOOST_TEST(!(got == before));
}

BOOST_AUTO_TEST_CASE(an_empty_request_is_an_empty_slice) {
  AWLWWMap state;
  state.add(Term(1), Term(2), 5, 10);
  std::vector<std::uint8_t> direct;
  encode_slice_message(state, Term(), state.context().to_term(), direct);
  BOOST_TEST((direct == codec_body(tuple(Atom("diff"), state.slice_term({}, state.context().to_term()), Term()))));
}

// The engine with SyncConfig::encode_slices and encode_continuations sends
// the same messages, the slices and continuations as bytes: the answers to
// a get_diff, the last step of a peer's round (which of the two ends a
// round depends on the depth of the trees: several sizes give both) and
// the continuations of rounds (depth 1-3: rounds of several steps).
BOOST_AUTO_TEST_CASE(an_engine_encoding_slices_sends_what_the_term_engine_sends) {
  std::size_t encoded = 0, answers = 0, continuations = 0;
  for (std::uint64_t seed : seeds()) {
    if (seed % 4) continue;  // a quarter of the seeds: each runs two whole syncs
    Rng rng(seed);
    std::vector<Term> keys_a, keys_b;
    AWLWWMap a = random_state(rng, keys_a), b = random_state(rng, keys_b);
    const int depth = seed % 8 == 0 ? MerkleMap::kSyncDepth : 1 + static_cast<int>(rng() % 3);
    Exchange off = sync_pair(a.clone(), b.clone(), false, depth);
    Exchange on = sync_pair(std::move(a), std::move(b), true, depth);
    BOOST_TEST_REQUIRE(off.encoded == 0u);
    BOOST_TEST_REQUIRE(on.sends.size() == off.sends.size(), "seed " << seed);
    for (std::size_t i = 0; i < on.sends.size(); ++i) {
      BOOST_TEST_REQUIRE(on.sends[i].to == off.sends[i].to, "seed " << seed << " send " << i);
      BOOST_TEST_REQUIRE(on.sends[i].message == off.sends[i].message, "seed " << seed << " send " << i);
    }
    encoded += on.encoded;
    answers += on.answers;
    continuations += on.continuations;
  }
  BOOST_TEST(answers > 0u);                       // get_diff answers were encoded
  BOOST_TEST(continuations > 0u);                 // continuations were
  BOOST_TEST(encoded > answers + continuations);  // and slices that ended a round
}

// Every continuation of a ping-pong between two random replicas, written
// from the trie, is the codec's encoding of continuation_term.
BOOST_AUTO_TEST_CASE(continuations_are_the_codec_bytes_of_continuation_term) {
  std::size_t with_trees = 0, with_keys = 0;
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    std::vector<Term> keys_a, keys_b;
    AWLWWMap a = random_state(rng, keys_a), b = random_state(rng, keys_b);
    const int depth = 1 + static_cast<int>(rng() % 3);
    Term cont = a.prepare_partial_diff(depth);
    AWLWWMap* side[2] = {&b, &a};
    for (int i = 0;; ++i) {
      BOOST_TEST_REQUIRE(i < 64, "seed " << seed << ": the ping-pong does not end");
      auto step = side[i % 2]->continue_partial_diff(cont, depth);
      BOOST_TEST_REQUIRE(static_cast<bool>(step), "seed " << seed << ": " << step.what());
      if (step->done) break;
      cont = side[i % 2]->continuation_term(*step);
      std::vector<std::uint8_t> direct{0xAA};  // appends after what is there
      {
        EtfWriter w(direct);
        side[i % 2]->encode_continuation(*step, w);
      }
      std::vector<std::uint8_t> want{0xAA};
      encode_to(want, cont);
      BOOST_TEST_REQUIRE((direct == want), "seed " << seed << " step " << i << ": " << cont);
      with_trees += !step->trees.empty();
      with_keys += !step->keys.empty();
    }
  }
  BOOST_TEST(with_trees > 0u);
  BOOST_TEST(with_keys > 0u);
}

// list_of writes what the codec writes for the list: LIST_EXT, NIL_EXT for
// none, STRING_EXT for up to 65535 small integers.
BOOST_AUTO_TEST_CASE(list_of_writes_the_codec_bytes_of_the_list) {
  const std::vector<TermVector> lists = {{},
                                         {Term(1), Term(255)},
                                         {Term(1), Term(256)},
                                         {tuple(Atom("key"), binary("a")), Term(-1)},
                                         TermVector(65535, Term(7)),
                                         TermVector(65536, Term(7))};
  for (const TermVector& l : lists) {
    std::vector<std::uint8_t> out;
    {
      EtfWriter w(out);
      w.list_of(l);
    }
    BOOST_TEST((out == codec_body(Term::list(l))), l.size() << " elements");
  }
}

BOOST_AUTO_TEST_SUITE_END()
