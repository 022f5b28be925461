#include "crdt/sync_engine.hpp"

#include <boost/test/unit_test.hpp>

#include "sim_cluster.hpp"
#include "sync_actions.hpp"

using namespace hc;
using namespace hc::crdt;
using hc::crdt::test::SimCluster;
using hc::crdt::test::only;

namespace {

SyncEngine make_engine(std::int64_t id = 42) {
  SyncConfig cfg;
  cfg.node_id = id;
  cfg.self = Term(Pid{Atom("me@host"), 1, 0, 1});
  cfg.sync_interval_ms = 300;
  static std::int64_t t = 0;
  return SyncEngine(cfg, [] { return ++t; });
}

Term neighbour(const char* node) { return tuple(Atom("N.Crdt"), Atom(node)); }
// A gen_server call as the host hands it over (it parses the envelope).
SyncActions call(SyncEngine& e, Term req) { return e.handle_call(req, tuple(Term(Pid{Atom("c@h"), 9, 0, 1}), Term(7))); }

}  // namespace

BOOST_AUTO_TEST_SUITE(sync_engine_test)

BOOST_AUTO_TEST_CASE(start_schedules_an_immediate_sync_and_sync_reschedules) {
  auto e = make_engine();
  auto a = e.start();
  BOOST_REQUIRE_EQUAL(only<action::ScheduleSync>(a).size(), 1u);
  BOOST_CHECK_EQUAL(only<action::ScheduleSync>(a)[0].after_ms, 0u);
  auto b = e.handle_message(Term(Atom("sync")));
  BOOST_CHECK_EQUAL(only<action::ScheduleSync>(b).at(0).after_ms, 300u);
  BOOST_CHECK(only<action::Send>(b).empty());  // no neighbours
}

BOOST_AUTO_TEST_CASE(set_neighbours_monitors_and_starts_a_sync) {
  auto e = make_engine();
  auto a = e.handle_message(tuple(Atom("set_neighbours"), list(neighbour("b@h"), neighbour("c@h"))));
  BOOST_CHECK_EQUAL(only<action::Monitor>(a).size(), 2u);
  auto sends = only<action::Send>(a);
  BOOST_REQUIRE_EQUAL(sends.size(), 2u);
  BOOST_CHECK_EQUAL(sends[0].to, neighbour("b@h"));
  BOOST_REQUIRE(sends[0].message.is_record("diff", 2));
  auto d = CausalDiff::from_term(sends[0].message.tuple_elements()[1]);
  BOOST_REQUIRE(d);
  BOOST_CHECK_EQUAL(d->originator, e.config().self);
  BOOST_CHECK_EQUAL(d->from, e.config().self);
  BOOST_CHECK_EQUAL(d->to, neighbour("b@h"));
  // Dropping a neighbour demonitors it; DOWN of the other forgets its monitor
  // and the next sync monitors it again.
  auto b = e.handle_message(tuple(Atom("set_neighbours"), list(neighbour("c@h"))));
  BOOST_REQUIRE_EQUAL(only<action::Demonitor>(b).size(), 1u);
  BOOST_CHECK_EQUAL(only<action::Demonitor>(b)[0].neighbour, neighbour("b@h"));
  auto c = e.handle_down(neighbour("c@h"));  // the host matched the DOWN's ref to this neighbour
  BOOST_CHECK(c.empty());
  BOOST_CHECK(e.monitored().empty());
  auto s = e.on_sync_timer();
  BOOST_CHECK_EQUAL(only<action::Monitor>(s).size(), 1u);
  BOOST_CHECK_EQUAL(only<action::Send>(s).size(), 1u);
}

BOOST_AUTO_TEST_CASE(flow_control_holds_back_ticks_while_a_round_is_unacknowledged) {
  // Default (DeltaCrdt 0.6.4): every tick starts a round, acked or not.
  auto plain = make_engine();
  plain.set_neighbours({neighbour("b@h")});
  for (int i = 0; i < 3; ++i) BOOST_CHECK_EQUAL(only<action::Send>(plain.on_sync_timer()).size(), 1u);

  SyncConfig cfg = make_engine().config();
  cfg.max_skipped_rounds = 2;
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  BOOST_CHECK_EQUAL(only<action::Send>(e.set_neighbours({neighbour("b@h")})).size(), 1u);
  // Unacked: two ticks are held back (and still reschedule), the third goes out.
  for (int i = 0; i < 2; ++i) {
    auto s = e.on_sync_timer();
    BOOST_CHECK(only<action::Send>(s).empty());
    BOOST_CHECK_EQUAL(only<action::ScheduleSync>(s).size(), 1u);
  }
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);
  // Acked: the next tick starts a round at once.
  e.handle_message(tuple(Atom("ack_diff"), neighbour("b@h")));
  BOOST_CHECK(e.awaiting_ack().empty());
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);
  // set_neighbours is held back like a tick while that round is unacknowledged
  // (DeltaCrdt always starts one), and starts a round once it is acknowledged.
  BOOST_CHECK(only<action::Send>(e.set_neighbours({neighbour("b@h")})).empty());
  e.handle_message(tuple(Atom("ack_diff"), neighbour("b@h")));
  BOOST_CHECK_EQUAL(only<action::Send>(e.set_neighbours({neighbour("b@h")})).size(), 1u);
}

BOOST_AUTO_TEST_CASE(flow_control_defers_a_peers_rounds_while_ours_is_unacknowledged) {
  SyncConfig cfg = make_engine().config();
  cfg.max_deferred_peer_rounds = 2;
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  const Pid b_pid{Atom("b@h"), 5, 0, 1};
  // b's round start, as DeltaCrdt sends it to us. We hold a key b lacks:
  // an answered round is {get_diff, _, [Key]} plus {ack_diff, _} to b; a
  // deferred one only the {ack_diff, _}.
  e.put(Term(Atom("k")), Term(1));
  AWLWWMap empty;
  empty.enable_merkle();
  const Term b_round = tuple(Atom("diff"), CausalDiff{empty.prepare_partial_diff(), DotContext().to_term(), Term(b_pid),
                                                      Term(b_pid), e.config().self, {}}
                                               .to_term());
  auto answered = [&](const SyncActions& a) {
    auto sends = only<action::Send>(a);
    BOOST_CHECK(!sends.empty() && sends.back().message.is_record("ack_diff", 2));  // acked either way
    return sends.size() == 2 && sends.front().message.is_record("get_diff", 3);
  };
  // Without a round of ours in flight, b's rounds are answered.
  BOOST_CHECK(answered(e.handle_message(b_round)));
  e.set_neighbours({neighbour("b@h")});  // our round to b, unacknowledged
  BOOST_CHECK(!answered(e.handle_message(b_round)));
  BOOST_CHECK(!answered(e.handle_message(b_round)));
  BOOST_CHECK(answered(e.handle_message(b_round)));  // at most 2 in a row
  BOOST_CHECK(!answered(e.handle_message(b_round)));
  BOOST_CHECK_EQUAL(e.deferred_peer_rounds(), 3u);
  // Our round acknowledged, but the round of b answered last is still
  // open here (we asked for its keys): b's next start waits for its slice.
  e.handle_message(tuple(Atom("ack_diff"), neighbour("b@h")));
  BOOST_CHECK(!answered(e.handle_message(b_round)));
  // b's slice (carrying the round's dots) closes it: the next is answered.
  e.handle_message(tuple(Atom("diff"), empty.slice_term(std::vector<Term>{Term(Atom("k"))}, DotContext().to_term()),
                         list(Term(Atom("k")))));
  BOOST_CHECK(answered(e.handle_message(b_round)));
}

BOOST_AUTO_TEST_CASE(flow_control_answers_a_peer_with_news_while_ours_is_unacknowledged) {
  SyncConfig cfg = make_engine().config();
  cfg.max_deferred_peer_rounds = 3;
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  const Pid b_pid{Atom("b@h"), 5, 0, 1};
  // b holds a key we lack (its context has a dot ours does not).
  AWLWWMap b;
  b.enable_merkle();
  b.add(Term(Atom("x")), Term(1), 7, 1);
  const Term b_round = tuple(Atom("diff"), CausalDiff{b.prepare_partial_diff(), b.context().to_term(), Term(b_pid),
                                                      Term(b_pid), e.config().self, {}}
                                               .to_term());
  e.set_neighbours({neighbour("b@h")});  // our round to b, unacknowledged
  auto a = only<action::Send>(e.handle_message(b_round));
  BOOST_REQUIRE(!a.empty());
  BOOST_CHECK(a.front().message.is_record("get_diff", 3));  // answered: we ask b for the key
  BOOST_CHECK_EQUAL(e.deferred_peer_rounds(), 0u);
}

BOOST_AUTO_TEST_CASE(flow_control_skips_rounds_that_cannot_carry_anything) {
  SyncConfig cfg = make_engine().config();
  cfg.max_idle_rounds = 2;
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  e.put(Term(Atom("k")), Term(1));
  BOOST_CHECK_EQUAL(only<action::Send>(e.set_neighbours({neighbour("b@h")})).size(), 1u);
  // Unacknowledged: every tick starts a round.
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);
  // Acknowledged, and nothing changed since that round started: b holds
  // everything we have, so the next ticks have nothing to carry.
  e.handle_message(tuple(Atom("ack_diff"), neighbour("b@h")));
  BOOST_CHECK(only<action::Send>(e.on_sync_timer()).empty());
  BOOST_CHECK(only<action::Send>(e.on_sync_timer()).empty());
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);  // at most 2 in a row
  BOOST_CHECK_EQUAL(e.idle_rounds_skipped(), 2u);
  e.handle_message(tuple(Atom("ack_diff"), neighbour("b@h")));
  BOOST_CHECK(only<action::Send>(e.on_sync_timer()).empty());
  // A local change is news for b: the next tick carries it.
  e.remove(Term(Atom("k")));
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);
}

BOOST_AUTO_TEST_CASE(flow_control_starts_no_round_with_a_backlogged_neighbour) {
  SyncConfig cfg = make_engine().config();
  cfg.max_skipped_rounds = 1;
  bool b_backlogged = true;
  std::vector<Term> asked;
  cfg.backlogged = [&](const Term& n) {
    asked.push_back(n);
    return b_backlogged && n == neighbour("b@h");
  };
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  e.put(Term(Atom("k")), Term(1));
  auto to = [](const std::vector<action::Send>& sends) {
    std::vector<Term> t;
    for (const auto& s : sends) t.push_back(s.to);
    return t;
  };
  // b's connection still holds what we queued for it: only c gets a round,
  // tick after tick, and the held-back ticks count as no skip (a skip
  // bound of 1 would otherwise force one out every other tick).
  BOOST_CHECK(to(only<action::Send>(e.set_neighbours({neighbour("b@h"), neighbour("c@h")}))) ==
              std::vector<Term>{neighbour("c@h")});
  for (int i = 0; i < 3; ++i) {
    e.handle_message(tuple(Atom("ack_diff"), neighbour("c@h")));
    e.put(Term(Atom("k")), Term(i));  // news for both
    BOOST_CHECK(to(only<action::Send>(e.on_sync_timer())) == std::vector<Term>{neighbour("c@h")});
  }
  BOOST_CHECK_EQUAL(e.backlogged_rounds_skipped(), 4u);
  BOOST_CHECK(std::find(asked.begin(), asked.end(), neighbour("b@h")) != asked.end());
  // Drained: the next tick starts b's round.
  b_backlogged = false;
  e.handle_message(tuple(Atom("ack_diff"), neighbour("c@h")));
  const auto targets = to(only<action::Send>(e.on_sync_timer()));
  BOOST_CHECK_EQUAL(targets.size(), 2u);
  BOOST_CHECK(std::find(targets.begin(), targets.end(), neighbour("b@h")) != targets.end());
  BOOST_CHECK_EQUAL(e.backlogged_rounds_skipped(), 4u);
}

// An empty replica (no key, no dot seen) has nothing a round could carry:
// with flow control it starts none, neither on set_neighbours nor on ticks,
// but monitors its neighbours; its first key starts them. Without flow
// control it sends DeltaCrdt's rounds.
BOOST_AUTO_TEST_CASE(an_empty_replica_starts_no_rounds_under_flow_control) {
  SyncConfig cfg = make_engine().config();
  cfg.max_idle_rounds = 2;
  SyncEngine e(cfg, [] { return std::int64_t{1}; });
  SyncActions a = e.set_neighbours({neighbour("b@h")});
  BOOST_CHECK(only<action::Send>(a).empty());
  BOOST_CHECK_EQUAL(only<action::Monitor>(a).size(), 1u);
  for (int i = 0; i < 5; ++i) BOOST_CHECK(only<action::Send>(e.on_sync_timer()).empty());
  e.put(Term(Atom("k")), Term(1));
  BOOST_CHECK_EQUAL(only<action::Send>(e.on_sync_timer()).size(), 1u);
  // A key added and removed leaves a dot in the context: that is news (the removal).
  SyncEngine f(cfg, [] { return std::int64_t{1}; });
  (void)f.set_neighbours({neighbour("b@h")});
  f.put(Term(Atom("k")), Term(1));
  f.remove(Term(Atom("k")));
  BOOST_CHECK_EQUAL(only<action::Send>(f.on_sync_timer()).size(), 1u);

  SyncEngine plain = make_engine();  // max_idle_rounds = 0: DeltaCrdt's behaviour
  BOOST_CHECK_EQUAL(only<action::Send>(plain.set_neighbours({neighbour("b@h")})).size(), 1u);
}

BOOST_AUTO_TEST_CASE(gen_server_calls_behave_like_deltacrdt) {
  auto e = make_engine();
  auto r = call(e, tuple(Atom("operation"), tuple(Atom("add"), list(binary("k"), Term(1)))));
  BOOST_REQUIRE_EQUAL(only<action::Reply>(r).size(), 1u);
  BOOST_CHECK_EQUAL(only<action::Reply>(r)[0].reply, Term(Atom("ok")));
  BOOST_REQUIRE_EQUAL(only<action::Notify>(r).size(), 1u);
  BOOST_CHECK_EQUAL(changes_to_term(only<action::Notify>(r)[0].diffs), list(tuple(Atom("add"), binary("k"), Term(1))));
  r = call(e, tuple(Atom("bulk_operation"),
                                      list(tuple(Atom("add"), list(binary("j"), Term(2))), tuple(Atom("remove"), list(binary("k"))))));
  BOOST_CHECK_EQUAL(only<action::Notify>(r).size(), 2u);
  BOOST_CHECK_EQUAL(only<action::Reply>(r).at(0).reply, Term(Atom("ok")));
  r = call(e, Term(Atom("read")));
  BOOST_CHECK_EQUAL(only<action::Reply>(r).at(0).reply, Term::map({{binary("j"), Term(2)}}));
  r = call(e, tuple(Atom("read"), list(binary("j"), binary("zz"))));
  BOOST_CHECK_EQUAL(only<action::Reply>(r).at(0).reply, Term::map({{binary("j"), Term(2)}}));
  r = call(e, tuple(Atom("read"), Term()));
  BOOST_CHECK_EQUAL(only<action::Reply>(r).at(0).reply, Term::map({}));
  // Removing an absent key changes nothing: no notification.
  r = call(e, tuple(Atom("operation"), tuple(Atom("remove"), list(binary("nope")))));
  BOOST_CHECK(only<action::Notify>(r).empty());
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_dropped_with_a_warning) {
  auto e = make_engine();
  e.put(binary("k"), Term(1));
  std::vector<Term> bad = {
      Term(1),
      tuple(Atom("diff"), Term(1)),
      tuple(Atom("diff"), Term::map({}), list(binary("k"))),
      tuple(Atom("diff"), make_struct(elixir_module("DeltaCrdt.AWLWWMap"), {{Term(Atom("dots")), Term(1)}, {Term(Atom("value")), Term::map({})}}), list(binary("k"))),
      tuple(Atom("diff"), make_struct(elixir_module("DeltaCrdt.AWLWWMap"), {{Term(Atom("dots")), Term::map({})}, {Term(Atom("value")), Term::map({})}}), Term(3)),
      tuple(Atom("get_diff"), Term(1), Term()),
      tuple(Atom("set_neighbours"), Term(1)),
      tuple(Atom("DOWN"), Term(1), Atom("process"), neighbour("x@h"), Atom("normal")),
      tuple(Atom("$gen_cast"), tuple(Atom("operation"), tuple(Atom("clear"), Term()))),
  };
  for (const Term& m : bad) {
    auto a = e.handle_message(m);
    BOOST_CHECK_MESSAGE(!only<action::Warning>(a).empty(), "no warning for " << to_string(m));
    BOOST_CHECK(only<action::Send>(a).empty());
  }
  // A call we cannot serve is answered, so that the caller never hangs.
  auto r = call(e, tuple(Atom("operation"), tuple(Atom("clear"), Term())));
  BOOST_REQUIRE_EQUAL(only<action::Reply>(r).size(), 1u);
  BOOST_CHECK(only<action::Reply>(r)[0].reply.is_record("error", 2));
  BOOST_CHECK(e.state().get(binary("k")) == Term(1));
}

// The warnings keep the detail of what was wrong (logged as is by the roles).
BOOST_AUTO_TEST_CASE(warnings_say_what_was_malformed) {
  auto e = make_engine();
  auto text = [&](const Term& m) {
    auto w = only<action::Warning>(e.handle_message(m));
    return w.empty() ? std::string() : w[0].text;
  };
  BOOST_CHECK_EQUAL(text(tuple(Atom("diff"), Term(1))), "dropped {diff, _}: not a %DeltaCrdt.CausalCrdt.Diff{}");
  BOOST_CHECK_EQUAL(text(tuple(Atom("get_diff"), make_struct(causal_diff_module(), {}), list())),
                    "dropped {get_diff, _, _}: %DeltaCrdt.CausalCrdt.Diff{} lacks a field");
  BOOST_CHECK_EQUAL(text(tuple(Atom("diff"), Term(1), list(binary("k")))), "dropped {diff, _, Keys}: AWLWWMap is not a map");
  BOOST_CHECK_EQUAL(text(tuple(Atom("$gen_cast"), tuple(Atom("operation"), Term(1)))),
                    "dropped cast {operation,1}: operation is not {Function, Args}");
  auto r = call(e, tuple(Atom("bulk_operation"), list(tuple(Atom("add"), list(binary("a"), Term(1))), tuple(Atom("clear"), list()))));
  BOOST_REQUIRE_EQUAL(only<action::Warning>(r).size(), 1u);
  BOOST_CHECK_EQUAL(only<action::Warning>(r)[0].text.rfind(": unsupported operation {clear,[]}"),
                    only<action::Warning>(r)[0].text.size() - std::string(": unsupported operation {clear,[]}").size());
}

BOOST_AUTO_TEST_CASE(a_bad_continuation_from_a_peer_is_still_acknowledged) {
  auto e = make_engine();
  Term peer = Term(Pid{Atom("p@h"), 5, 0, 1});
  CausalDiff d{Term(Atom("garbage")), Term::map({}), peer, peer, e.config().self, {}};
  auto a = e.handle_message(tuple(Atom("diff"), d.to_term()));
  BOOST_REQUIRE_EQUAL(only<action::Warning>(a).size(), 1u);
  const std::string text = only<action::Warning>(a)[0].text;
  const std::string prefix = "dropped {diff, _} with a bad continuation: ";
  BOOST_CHECK_MESSAGE(text.rfind(prefix, 0) == 0 && text.size() > prefix.size(), text);  // with what was wrong
  auto s = only<action::Send>(a);
  BOOST_REQUIRE_EQUAL(s.size(), 1u);
  BOOST_CHECK_EQUAL(s[0].to, peer);
  BOOST_CHECK_EQUAL(s[0].message, tuple(Atom("ack_diff"), e.config().self));
}

BOOST_AUTO_TEST_CASE(two_replicas_converge_through_the_protocol) {
  SimCluster c(2, 1);
  c.connect_all();
  c.deliver_all();
  c.put(0, binary("a"), Term(1));
  c.put(1, binary("b"), Term(2));
  c.put(1, binary("a"), Term(3));
  c.tick_all();
  c.deliver_all();
  BOOST_CHECK(c.engine(0).state() == c.engine(1).state());
  BOOST_CHECK(c.engine(0).state().get(binary("a")) == Term(3));
  c.remove(0, binary("b"));
  c.tick_all();
  c.deliver_all();
  BOOST_CHECK(c.engine(0).state() == c.engine(1).state());
  BOOST_CHECK(!c.engine(1).state().contains(binary("b")));
  BOOST_CHECK(c.at(1).owner_view == (std::map<Term, Term>{{binary("a"), Term(3)}}));
  // Converged: a round exchanges only diffs and acks, no key.
  std::size_t before = c.delivered;
  c.tick_all();
  c.deliver_all();
  BOOST_CHECK_LE(c.delivered - before, 4u);  // per direction: {diff, _} + ack
}

BOOST_AUTO_TEST_CASE(max_sync_size_truncates_the_keys) {
  auto make = [](std::int64_t id, std::uint32_t pid) {
    SyncConfig cfg;
    cfg.node_id = id;
    cfg.self = Term(Pid{Atom("r@host"), pid, 0, 1});
    cfg.max_sync_size = 2;
    return SyncEngine(cfg, [] { return std::int64_t{1}; });
  };
  SyncEngine sender = make(5, 1), receiver = make(6, 2);
  for (int i = 0; i < 10; ++i) sender.put(Term(i), Term(i));
  Term cont = sender.mutable_state().prepare_partial_diff();
  CausalDiff d{cont, sender.state().context().to_term(), sender.config().self, sender.config().self,
               receiver.config().self, {}};
  // Ping-pong until one side has the keys: it sends them (truncated) + ack.
  Term msg = tuple(Atom("diff"), d.to_term());
  SyncEngine* side[2] = {&receiver, &sender};
  std::vector<action::Send> sends;
  for (int round = 0; round < 10; ++round) {
    sends = only<action::Send>(side[round % 2]->handle_message(msg));
    if (sends.size() != 1) break;
    msg = sends[0].message;
  }
  BOOST_REQUIRE_EQUAL(sends.size(), 2u);
  const Term& m = sends[0].message;
  BOOST_REQUIRE(m.is_record("get_diff", 3) || m.is_record("diff", 3));
  BOOST_CHECK_EQUAL(m.tuple_elements()[2].list_elements().size(), 2u);
  BOOST_CHECK(sends[1].message.is_record("ack_diff", 2));
}

BOOST_AUTO_TEST_SUITE_END()
