// SyncEngine with SyncConfig::slice_chunk_keys: a slice joined a few keys
// per turn (action::Continue / continue_work), what waits meanwhile and
// what is served at once.
#include "crdt/sync_engine.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>

#include "crdt/sync_decode.hpp"
#include "interop/codec.hpp"
#include "sync_actions.hpp"

using namespace hc;
using namespace hc::crdt;
using hc::crdt::test::only;

namespace {

bool asks_to_continue(const SyncActions& a) { return !only<action::Continue>(a).empty(); }

const Term kSelf = Term(Pid{Atom("me@host"), 1, 0, 1});
const Pid kPeerPid{Atom("b@h"), 5, 0, 1};
const Term kPeer = tuple(Atom("N.Crdt"), Atom("b@h"));  // the neighbour kPeerPid runs as
constexpr std::int64_t kRemoteNode = 222;

SyncEngine make_engine(std::size_t chunk, bool encode = false) {
  SyncConfig cfg;
  cfg.node_id = 42;
  cfg.self = kSelf;
  cfg.slice_chunk_keys = chunk;
  cfg.encode_continuations = encode;
  cfg.encode_slices = encode;
  return SyncEngine(cfg, [t = std::int64_t{0}]() mutable { return ++t; });
}

Term k(int i) { return binary("k" + std::to_string(i)); }

// The peer's replica: k1..kn = 100 + i.
AWLWWMap peer_replica(int n) {
  AWLWWMap r;
  for (int i = 1; i <= n; ++i) (void)r.add(k(i), Term(100 + i), kRemoteNode, i);
  return r;
}

// {diff, Slice, Keys} of `keys` from `r`, as the peer sends it.
Term slice_message(const AWLWWMap& r, std::vector<Term> keys) {
  return tuple(Atom("diff"), r.slice_term(keys, r.context().to_term()), Term::list(TermVector(keys.begin(), keys.end())));
}
Term slice_message(const AWLWWMap& r) { return slice_message(r, r.keys()); }

// A round start of the peer (its replica `r`) towards us.
Term peer_round(const AWLWWMap& r) {
  AWLWWMap m = r.clone();
  m.enable_merkle();
  return tuple(Atom("diff"), CausalDiff{m.prepare_partial_diff(), r.context().to_term(), Term(kPeerPid),
                                        Term(kPeerPid), kSelf, {}}
                                 .to_term());
}

// Runs continue_work until the engine asks for no more; every action, in order.
SyncActions drain(SyncEngine& e, int* turns = nullptr) {
  SyncActions all;
  for (int n = 0;; ++n) {
    BOOST_REQUIRE_MESSAGE(n < 10'000, "the work does not end");
    SyncActions a = e.continue_work();
    all.insert(all.end(), a.begin(), a.end());
    if (!asks_to_continue(a)) {
      if (turns) *turns = n + 1;
      return all;
    }
  }
}

// What a peer holding `peer` answers to our round start (a continuation
// with its subtree for every {partial, Loc} of ours: our tree is deeper
// than a round's depth), as the BEAM's MerkleMap builds it; an empty peer
// by default.
Term peer_answer(SyncEngine& e, AWLWWMap peer = AWLWWMap()) {
  AWLWWMap ours = e.state().clone();
  peer.enable_merkle();
  auto step = peer.continue_partial_diff(ours.prepare_partial_diff());
  BOOST_REQUIRE(step);
  BOOST_REQUIRE(!step->done);
  return tuple(Atom("diff"), CausalDiff{peer.continuation_term(*step), ours.context().to_term(), kSelf,
                                        Term(kPeerPid), kSelf, {}}
                                 .to_term());
}

// The encoded {diff, Diff} sends of `a`, decoded.
std::vector<Term> continuations(const SyncActions& a) {
  std::vector<Term> out;
  for (const auto& s : only<action::Send>(a)) {
    if (s.encoded.empty()) continue;
    std::size_t at = 0;
    auto t = decode_body_at(s.encoded, at);
    BOOST_REQUIRE(t);
    if (t->is_record("diff", 2)) out.push_back(*t);
  }
  return out;
}

// `first` and what the engine does in the turns it then asks for.
SyncActions drain_after(SyncEngine& e, SyncActions first) {
  if (asks_to_continue(first)) {
    SyncActions rest = drain(e);
    first.insert(first.end(), rest.begin(), rest.end());
  }
  return first;
}

std::vector<KeyChange> changes(const SyncActions& a) {
  std::vector<KeyChange> out;
  for (const auto& n : only<action::Notify>(a)) out.insert(out.end(), n.diffs.begin(), n.diffs.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sync_engine_steps_test)

BOOST_AUTO_TEST_CASE(a_stepped_join_ends_like_the_one_turn_join) {
  const AWLWWMap peer = peer_replica(50);
  SyncEngine one = make_engine(0), stepped = make_engine(7);
  for (SyncEngine* e : {&one, &stepped}) {
    for (int i = 1; i <= 50; i += 3) e->put(k(i), Term(i));  // conflicts
    e->remove(k(4));
  }
  SyncActions a = one.handle_message(slice_message(peer));
  BOOST_TEST(!asks_to_continue(a));
  SyncActions first = stepped.handle_message(slice_message(peer));
  BOOST_REQUIRE(asks_to_continue(first));
  BOOST_TEST(stepped.busy());
  int turns = 0;
  SyncActions rest = drain(stepped, &turns);
  BOOST_TEST(turns >= 6);  // 50 keys, 7 a turn
  BOOST_TEST(!stepped.busy());
  BOOST_TEST(stepped.slice_steps() == static_cast<std::uint64_t>(turns + 1));
  first.insert(first.end(), rest.begin(), rest.end());
  BOOST_TEST((stepped.state() == one.state()));
  AWLWWMap x = stepped.state().clone(), y = one.state().clone();
  x.enable_merkle();
  y.enable_merkle();
  BOOST_TEST((x.merkle_root() == y.merkle_root()));
  BOOST_TEST((changes(first) == changes(a)));
}

BOOST_AUTO_TEST_CASE(messages_that_arrive_during_a_join_wait_and_are_handled_in_order_after_it) {
  const AWLWWMap peer = peer_replica(10);
  SyncEngine e = make_engine(2);
  e.set_neighbours({kPeer});
  e.handle_message(tuple(Atom("ack_diff"), kPeer));
  BOOST_REQUIRE(asks_to_continue(e.handle_message(slice_message(peer))));
  const std::size_t joined_at_first = e.state().size();
  BOOST_TEST(joined_at_first < 10u);

  // Remote traffic waits (no action; the Continue asked for is outstanding):
  // the peer's round start, then its get_diff for k1 (we are the originator).
  const Term round = peer_round(AWLWWMap());
  CausalDiff asked{AWLWWMap().prepare_partial_diff(), e.state().context().to_term(), kSelf, Term(kPeerPid), kSelf, {}};
  const Term get_diff = tuple(Atom("get_diff"), asked.to_term(), list(k(1)));
  BOOST_TEST(e.handle_message(round).empty());
  BOOST_TEST(e.handle_message(get_diff).empty());
  // Local work is served at once, between the steps.
  BOOST_TEST(changes(e.put(k(99), Term(1))).size() == 1u);
  auto read = only<action::Reply>(e.handle_call(Term(Atom("read")), tuple(Term(kPeerPid), Term(7))));
  BOOST_REQUIRE(read.size() == 1u);
  BOOST_TEST(read[0].reply.map_size() == joined_at_first + 1);  // half-joined, plus k99
  // An ack is bookkeeping: at once.
  e.handle_message(tuple(Atom("ack_diff"), kPeer));

  // The rest of the join, then the waiting messages in arrival order, each
  // against the fully joined state.
  SyncActions after = drain(e);
  auto sends = only<action::Send>(after);
  BOOST_REQUIRE(sends.size() == 4u);
  BOOST_TEST(sends[0].message.is_record("get_diff", 3));  // the round: we ask the empty peer for all we hold
  BOOST_TEST(sends[0].message.element(2)->list_elements().size() == 11u);
  BOOST_TEST(sends[1].message.is_record("ack_diff", 2));
  BOOST_TEST(sends[2].message.is_record("diff", 3));  // the get_diff: k1's slice
  BOOST_TEST(sends[2].to == Term(kPeerPid));
  BOOST_TEST(*sends[2].message.element(2) == list(k(1)));
  BOOST_TEST(sends[3].message.is_record("ack_diff", 2));
  BOOST_TEST(e.state().context().max(kRemoteNode) == 10);
  BOOST_TEST(!e.busy());
}

BOOST_AUTO_TEST_CASE(a_tick_during_a_join_starts_no_round_and_the_first_after_it_does) {
  const AWLWWMap peer = peer_replica(10);
  SyncEngine e = make_engine(2);
  e.set_neighbours({kPeer});
  e.handle_message(tuple(Atom("ack_diff"), kPeer));
  BOOST_REQUIRE(asks_to_continue(e.handle_message(slice_message(peer))));
  // A round start now would ship a Merkle tree of a half-joined slice.
  SyncActions tick = e.on_sync_timer();
  BOOST_TEST(only<action::Send>(tick).empty());
  BOOST_REQUIRE(only<action::ScheduleSync>(tick).size() == 1u);  // the timer keeps running
  BOOST_TEST(only<action::Send>(e.set_neighbours({kPeer})).empty());
  BOOST_TEST(only<action::Send>(drain(e)).empty());
  auto sends = only<action::Send>(e.on_sync_timer());
  BOOST_REQUIRE(sends.size() == 1u);
  BOOST_TEST(sends[0].message.is_record("diff", 2));
  BOOST_TEST(sends[0].to == kPeer);
}

BOOST_AUTO_TEST_CASE(a_tick_after_a_burst_of_local_changes_hashes_them_in_steps_then_starts_its_round) {
  SyncEngine e = make_engine(10);  // 80 Merkle nodes a step
  SyncEngine one = make_engine(0);  // everything in the tick's turn, as DeltaCrdt
  for (SyncEngine* x : {&e, &one}) {
    x->set_neighbours({kPeer});
    x->handle_message(tuple(Atom("ack_diff"), kPeer));
    for (int i = 1; i <= 500; ++i) x->put(k(i), Term(i));
  }
  SyncActions tick = e.on_sync_timer();
  BOOST_TEST(only<action::Send>(tick).empty());
  BOOST_TEST(asks_to_continue(tick));
  BOOST_TEST(only<action::ScheduleSync>(tick).size() == 1u);  // the timer keeps running
  // A tick meanwhile starts nothing more.
  BOOST_TEST(only<action::Send>(e.on_sync_timer()).empty());
  int turns = 0;
  auto sends = only<action::Send>(drain(e, &turns));
  BOOST_TEST(turns > 3);
  BOOST_REQUIRE(sends.size() == 1u);
  auto expected = only<action::Send>(one.on_sync_timer());
  BOOST_REQUIRE(expected.size() == 1u);
  // The same round start: Merkle tree of the same state, same context.
  BOOST_TEST(sends[0].to == expected[0].to);
  BOOST_TEST(sends[0].message == expected[0].message);
  BOOST_TEST(e.rounds_after_hashing() == 1u);
  BOOST_TEST(one.rounds_after_hashing() == 0u);
}

// A peer's diff compares Merkle hashes: after a burst of local changes it
// waits while they are hashed in steps (not all in its own turn), then is
// answered as the one-turn engine answers it.
BOOST_AUTO_TEST_CASE(a_diff_after_a_burst_of_local_changes_waits_for_their_hashes_in_steps) {
  SyncEngine e = make_engine(10);  // 80 Merkle nodes a step
  SyncEngine one = make_engine(0);
  for (SyncEngine* x : {&e, &one}) {
    x->set_neighbours({kPeer});
    x->handle_message(tuple(Atom("ack_diff"), kPeer));
    for (int i = 1; i <= 500; ++i) x->put(k(i), Term(i));
  }
  const Term round = peer_round(peer_replica(20));
  SyncActions first = e.handle_message(round);
  BOOST_TEST(only<action::Send>(first).empty());
  BOOST_TEST(asks_to_continue(first));
  int turns = 0;
  auto sends = only<action::Send>(drain(e, &turns));
  BOOST_TEST(turns > 3);
  auto expected = only<action::Send>(one.handle_message(round));
  BOOST_REQUIRE(!expected.empty());
  BOOST_REQUIRE(sends.size() == expected.size());
  for (std::size_t i = 0; i < sends.size(); ++i) {
    BOOST_TEST(sends[i].to == expected[i].to);
    BOOST_TEST(sends[i].message == expected[i].message);
  }
}

// SyncConfig::backlogged: a diff from a peer whose node still has too much
// to read is not answered; the round ends.
BOOST_AUTO_TEST_CASE(a_diff_from_a_backlogged_peer_is_not_answered_and_ends_its_round) {
  SyncConfig cfg = make_engine(10).config();
  cfg.max_skipped_rounds = 10;
  bool backlogged = true;
  std::vector<Term> asked;
  cfg.backlogged = [&](const Term& n) {
    asked.push_back(n);
    return backlogged;
  };
  SyncEngine e(cfg, [t = std::int64_t{0}]() mutable { return ++t; });
  for (int i = 1; i <= 300; ++i) e.put(k(i), Term(i));
  // Our round starts while the peer can read.
  backlogged = false;
  BOOST_REQUIRE(only<action::Send>(drain_after(e, e.set_neighbours({kPeer}))).size() == 1u);
  backlogged = true;
  // The peer's round start: acknowledged, not answered.
  auto a = only<action::Send>(drain_after(e, e.handle_message(peer_round(peer_replica(20)))));
  BOOST_REQUIRE(a.size() == 1u);
  BOOST_TEST(a[0].message.is_record("ack_diff", 2));
  BOOST_TEST(a[0].to == Term(kPeerPid));
  BOOST_TEST(e.backlogged_diffs() == 1u);
  // Our round's continuation arrives while the peer cannot read: not
  // answered, and the round no longer awaited (the next tick starts a
  // round at once, max_skipped_rounds notwithstanding).
  BOOST_TEST(only<action::Send>(drain_after(e, e.handle_message(peer_answer(e)))).empty());
  BOOST_TEST(e.backlogged_diffs() == 2u);
  BOOST_TEST(only<action::Send>(drain_after(e, e.on_sync_timer())).empty());  // still backlogged: no round
  BOOST_TEST(e.backlogged_rounds_skipped() == 1u);
  backlogged = false;
  BOOST_TEST(only<action::Send>(drain_after(e, e.on_sync_timer())).size() == 1u);
  // Asked about the peer as the neighbour it is (its pid matched to it).
  BOOST_TEST(std::all_of(asked.begin(), asked.end(), [](const Term& n) { return n == kPeer; }));
  // Not backlogged, the same continuation is answered.
  const auto before = e.backlogged_diffs();
  BOOST_TEST(!only<action::Send>(drain_after(e, e.handle_message(peer_answer(e)))).empty());
  BOOST_TEST(e.backlogged_diffs() == before);
}

BOOST_AUTO_TEST_CASE(a_waiting_round_start_gives_way_to_a_newer_one_of_the_same_peer) {
  const AWLWWMap peer = peer_replica(10);
  SyncEngine e = make_engine(2);
  e.set_neighbours({kPeer});
  BOOST_REQUIRE(asks_to_continue(e.handle_message(slice_message(peer))));
  const Term round = peer_round(peer);
  for (int i = 0; i < 3; ++i) BOOST_TEST(e.handle_message(round).empty());
  auto sends = only<action::Send>(drain(e));
  // One round answered: both hold the same keys now, so only its ack.
  BOOST_REQUIRE(sends.size() == 1u);
  BOOST_TEST(sends[0].message.is_record("ack_diff", 2));
  BOOST_TEST(e.superseded_rounds() == 2u);
}

BOOST_AUTO_TEST_CASE(a_slice_that_arrives_during_a_join_is_joined_after_it) {
  AWLWWMap peer = peer_replica(6);
  SyncEngine e = make_engine(2);
  BOOST_REQUIRE(asks_to_continue(e.handle_message(slice_message(peer))));
  (void)peer.add(k(1), Term(Atom("newer")), kRemoteNode, 1000);
  BOOST_TEST(e.handle_message(slice_message(peer, {k(1)})).empty());
  auto ch = changes(drain(e));
  BOOST_REQUIRE(!ch.empty());
  BOOST_TEST((ch.back() == KeyChange::added(k(1), Term(Atom("newer")))));
  BOOST_TEST((e.state().get(k(1)) == std::optional<Term>(Term(Atom("newer")))));
  BOOST_TEST(e.state().context().max(kRemoteNode) == 7);
}

BOOST_AUTO_TEST_CASE(a_malformed_key_in_a_later_step_ends_the_join_with_a_warning) {
  const AWLWWMap peer = peer_replica(6);
  std::vector<Term> keys = peer.keys();
  Term good = slice_message(peer);
  TermPairs value;
  for (const auto& [key, elems] : good.element(1)->map_get(std::string_view("value"))->map_entries())
    value.emplace_back(key, key == keys.back() ? Term(7) : elems);
  Term slice = make_struct(Atom("Elixir.DeltaCrdt.AWLWWMap"), {{Term(Atom("dots")), *good.element(1)->map_get(std::string_view("dots"))},
                                                               {Term(Atom("value")), Term::map(std::move(value))}});
  SyncEngine e = make_engine(2);
  BOOST_REQUIRE(asks_to_continue(e.handle_message(tuple(Atom("diff"), slice, *good.element(2)))));
  SyncActions rest = drain(e);
  auto w = only<action::Warning>(rest);
  BOOST_REQUIRE(w.size() == 1u);
  BOOST_TEST(w[0].text.rfind("dropped the rest of {diff, _, Keys}: AWLWWMap element set of a key is malformed (in keys", 0) == 0);
  BOOST_TEST(!e.busy());
  BOOST_TEST(e.state().size() == 5u);  // the keys of the steps before the bad key's (the last)
  BOOST_TEST(e.state().context().max(kRemoteNode) == 0);
}

BOOST_AUTO_TEST_CASE(a_slice_smaller_than_a_step_takes_one_turn) {
  // Joined and hashed in its turn: nothing waits behind it.
  SyncEngine e = make_engine(100);
  SyncActions a = e.handle_message(slice_message(peer_replica(20)));
  BOOST_TEST(!asks_to_continue(a));
  BOOST_TEST(!e.busy());
  BOOST_TEST(e.state().size() == 20u);
  BOOST_TEST(e.state().merkle()->hashes_valid());
  BOOST_TEST(e.state().context().max(kRemoteNode) == 20);
}

BOOST_AUTO_TEST_CASE(without_chunks_nothing_waits) {
  // slice_chunk_keys = 0 (DeltaCrdt's behaviour): one turn, no Continue.
  SyncEngine e = make_engine(0);
  SyncActions a = e.handle_message(slice_message(peer_replica(50)));
  BOOST_TEST(!asks_to_continue(a));
  BOOST_TEST(!e.busy());
  BOOST_TEST(e.state().size() == 50u);
  BOOST_TEST(e.continue_work().empty());  // a spurious Continue does nothing
}

// encode_continuations with slice_chunk_keys: a continuation of many
// leaves is written over several turns (512 bytes a turn per chunk key),
// byte for byte what one turn writes, and rounds wait for it as for a join.
BOOST_AUTO_TEST_CASE(a_continuation_is_written_in_steps_as_one_turn_writes_it) {
  SyncEngine whole = make_engine(0, true), stepped = make_engine(1, true);
  // 3 000 keys: the continuation holds subtrees (~60) as well as keys.
  for (int i = 1; i <= 3000; ++i) (void)whole.put(k(i), Term(i)), (void)stepped.put(k(i), Term(i));
  const Term answer = peer_answer(whole);
  auto want = continuations(whole.handle_message(answer));
  BOOST_TEST_REQUIRE(want.size() == 1u);

  SyncActions first = stepped.handle_message(answer);
  BOOST_TEST(continuations(first).empty());  // not written in one turn
  BOOST_TEST(asks_to_continue(first));
  BOOST_TEST(stepped.busy());
  // A tick meanwhile starts no round (the tree must stay as it is).
  BOOST_TEST(only<action::Send>(stepped.on_sync_timer()).empty());
  int turns = 0;
  auto got = continuations(drain(stepped, &turns));
  BOOST_TEST(turns > 10);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST((got[0] == want[0]));
  BOOST_TEST(!stepped.busy());
}

// Keys removed and added between the steps (local operations are served
// at once): the continuation is still well-formed; the leaves of removed
// keys are written empty (the tree is updated only after the write).
BOOST_AUTO_TEST_CASE(keys_removed_while_a_continuation_is_written_leave_empty_leaves) {
  SyncEngine e = make_engine(1, true);
  for (int i = 1; i <= 3000; ++i) (void)e.put(k(i), Term(i));
  (void)drain_after(e, e.on_sync_timer());  // hashed (a diff would wait for that first)
  SyncActions a = e.handle_message(peer_answer(e));
  BOOST_TEST_REQUIRE(asks_to_continue(a));
  for (int i = 1; i <= 3000; ++i) (void)e.remove(k(i));
  for (int i = 3001; i <= 3100; ++i) (void)e.put(k(i), Term(i));  // may reuse the removed keys' slots
  auto got = continuations(drain(e));
  BOOST_TEST_REQUIRE(got.size() == 1u);
  const Term* cont = got[0].tuple_elements()[1].map_get(std::string_view("continuation"));
  BOOST_TEST_REQUIRE(cont);
  const Term* trees = cont->map_get(std::string_view("trees"));
  BOOST_TEST_REQUIRE((trees && trees->is_proper_list() && !trees->list_elements().empty()));
  BOOST_TEST(e.state().size() == 100u);
  BOOST_TEST(trees->list_elements().size() > 20u);
  // Leaves: {Hash, {KeyHash, #{Key => Value}}}; those of removed keys are
  // empty, the others hold a key added since (a reused slot).
  std::size_t empty = 0, held = 0;
  std::function<void(const Term&)> walk = [&](const Term& t) {
    if (t.is_tuple(3)) return walk(t.tuple_elements()[1]), walk(t.tuple_elements()[2]);
    if (!t.is_tuple(2) || !t.tuple_elements()[1].is_tuple(2)) return;  // [] or {partial, Loc}
    const Term& contents = t.tuple_elements()[1].tuple_elements()[1];
    BOOST_TEST_REQUIRE(contents.is_map());
    for (const auto& [key, v] : contents.map_entries()) BOOST_TEST(e.state().contains(key));
    ++(contents.map_entries().empty() ? empty : held);
  };
  for (const Term& item : trees->list_elements())
    walk(*item.tuple_elements()[1].map_get(std::string_view("tree")));
  BOOST_TEST(empty > 100u);  // the leaves of removed keys
  BOOST_TEST(held < empty);  // reused slots (100 keys added), and what the first step wrote
  BOOST_TEST(!e.busy());
}

// The answer to a get_diff for many keys is written in steps too; the ack
// follows the slice, as in one turn.
BOOST_AUTO_TEST_CASE(a_slice_is_written_in_steps_and_acknowledged_after_it) {
  SyncEngine e = make_engine(1, true);
  TermVector keys;
  for (int i = 1; i <= 3000; ++i) keys.push_back(k(i)), (void)e.put(k(i), Term(i));
  const Term want = tuple(Atom("diff"), e.state().slice_term(keys, e.state().context().to_term()), Term::list(keys));
  const Term get_diff = tuple(Atom("get_diff"),
                              CausalDiff{Term(), e.state().context().to_term(), kSelf, Term(kPeerPid), kSelf, {}}.to_term(),
                              Term::list(keys));
  SyncActions first = e.handle_message(get_diff);
  BOOST_TEST(only<action::Send>(first).empty());  // neither slice nor ack yet
  BOOST_TEST(asks_to_continue(first));
  int turns = 0;
  auto sends = only<action::Send>(drain(e, &turns));
  BOOST_TEST(turns > 10);
  BOOST_TEST_REQUIRE(sends.size() == 2u);
  std::size_t at = 0;
  auto slice = decode_body_at(sends[0].encoded, at);
  BOOST_TEST_REQUIRE(static_cast<bool>(slice));
  BOOST_TEST((*slice == want));
  BOOST_TEST(sends[0].to == Term(kPeerPid));
  BOOST_TEST(sends[1].message.is_record("ack_diff", 2));
}

// A received continuation of many trees is compared with ours in steps
// (16 nodes a turn per chunk key); the answer equals the one-turn engine's.
BOOST_AUTO_TEST_CASE(a_continuation_is_walked_in_steps_as_one_turn_walks_it) {
  SyncEngine whole = make_engine(0, true), stepped = make_engine(1, true);
  AWLWWMap peer;
  for (int i = 1; i <= 3000; ++i) {
    (void)whole.put(k(i), Term(i)), (void)stepped.put(k(i), Term(i));
    if (i % 3) (void)peer.add(k(i), Term(-i), kRemoteNode, i);  // differing leaves, and keys only we hold
  }
  const Term answer = peer_answer(whole, std::move(peer));
  SyncActions one = whole.handle_message(answer);
  BOOST_TEST(!asks_to_continue(one));
  auto want = continuations(one);
  BOOST_TEST_REQUIRE(want.size() == 1u);

  SyncActions first = stepped.handle_message(answer);
  BOOST_TEST(only<action::Send>(first).empty());
  BOOST_TEST(asks_to_continue(first));
  int turns = 0;
  auto got = continuations(drain(stepped, &turns));
  BOOST_TEST(turns > 10);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST((got[0] == want[0]));
}

// A continuation as a node decodes it when large (its trees left encoded,
// crdt/sync_decode.hpp) is answered as the decoded one is.
BOOST_AUTO_TEST_CASE(a_continuation_with_encoded_trees_is_answered_as_the_decoded_one) {
  SyncEngine term = make_engine(1, true), viewed = make_engine(1, true);
  AWLWWMap peer;
  for (int i = 1; i <= 3000; ++i) {
    (void)term.put(k(i), Term(i)), (void)viewed.put(k(i), Term(i));
    if (i % 3) (void)peer.add(k(i), Term(-i), kRemoteNode, i);
  }
  const Term answer = peer_answer(term, std::move(peer));
  std::vector<std::uint8_t> body;
  encode_to(body, answer);
  auto decoded = decode_sync_message(body);
  BOOST_TEST_REQUIRE((decoded && *decoded));
  BOOST_TEST(!(**decoded == answer));  // the trees are an encoded part
  SyncActions a = term.handle_message(answer);
  a = drain(term);
  SyncActions b = viewed.handle_message(**decoded);
  b = drain(viewed);
  auto want = continuations(a), got = continuations(b);
  BOOST_TEST_REQUIRE(want.size() == 1u);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST((got[0] == want[0]));
}

// A malformed tree late in a continuation ends a stepped walk as it ends
// the one-turn one: a warning and the ack, nothing else sent.
BOOST_AUTO_TEST_CASE(a_malformed_tree_late_in_a_stepped_walk_is_a_warning_and_an_ack) {
  SyncEngine e = make_engine(1, true);
  for (int i = 1; i <= 3000; ++i) (void)e.put(k(i), Term(i));
  Term answer = peer_answer(e);
  // Break the last tree: {Loc, not_a_tree}.
  auto diff = CausalDiff::from_term(answer.tuple_elements()[1]);
  BOOST_TEST_REQUIRE(static_cast<bool>(diff));
  const Term* trees = diff->continuation.map_get(std::string_view("trees"));
  TermVector items(trees->list_elements().begin(), trees->list_elements().end());
  BOOST_TEST_REQUIRE(items.size() > 20u);
  items.back() = tuple(items.back().tuple_elements()[0], Atom("not_a_tree"));
  diff->continuation = merkle_diff_struct(std::move(items), {});
  SyncActions a = e.handle_message(tuple(Atom("diff"), diff->to_term()));
  BOOST_TEST(asks_to_continue(a));
  SyncActions rest = drain(e);
  BOOST_TEST(only<action::Warning>(rest).size() == 1u);
  auto sends = only<action::Send>(rest);
  BOOST_TEST_REQUIRE(sends.size() == 1u);
  BOOST_TEST(sends[0].message.is_record("ack_diff", 2));
  BOOST_TEST(!e.busy());
}

BOOST_AUTO_TEST_SUITE_END()
