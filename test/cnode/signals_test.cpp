// Links, monitors and exit signals on their own: local processes in a
// ProcessTable, remote peers behind a fake transport that records every
// control message, so each signal's local effect and wire message is checked.
#include "cnode/signals.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/flags.hpp"
#include "fake_transport.hpp"
#include "manual_turns.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {

const Atom kSelf("signals_self@127.0.0.1");
const Atom kPeer("signals_peer@127.0.0.1");

struct Fixture {
  test::ManualTurns turns;
  std::vector<std::pair<Pid, Term>> inbox;  // {process, message} in handling order
  std::vector<std::pair<Pid, Term>> ended;
  Signals* signals_ = nullptr;
  ProcessTable procs{turns.post(), [this](ProcessEntry& e, const Term& r) {
                       ended.emplace_back(e.proc->self(), r);
                       if (auto rem = procs.finish(e, r)) signals_->process_ended(*rem, r);
                     }};
  test::FakeTransport wire;
  Router router{procs, wire};
  Signals signals{procs, router, wire};
  Fixture() {
    procs.set_identity(kSelf, 1);
    signals_ = &signals;
    wire.connected[kPeer] = dflag::HC_ADVERTISED;
  }
  Pid spawn(bool trap = false) {
    const Pid pid = procs.allocate_pid();
    procs.run_init(procs.insert(
        pid, std::make_unique<FunctionProcess>([this](Process& p, const Term& m) { inbox.emplace_back(p.self(), m); }),
        trap, nullptr, nullptr));
    return pid;
  }
  void run_all() { turns.run_all(); }
  template <class T>
  const T* last_sent() const {
    return wire.sent.empty() ? nullptr : std::get_if<T>(&wire.sent.back().second);
  }
};

const Term kNormal{Atom("normal")}, kNoproc{Atom("noproc")}, kNoconnection{Atom("noconnection")};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(signals_test, Fixture)

BOOST_AUTO_TEST_CASE(exit_signal_rules) {
  const Pid from = spawn(), plain = spawn(), trapper = spawn(true), self_exiting = spawn();
  // normal from another process: ignored; from itself: it exits.
  signals.exit_signal(from, plain, kNormal, false);
  BOOST_TEST(procs.live(plain) != nullptr);
  signals.exit_signal(self_exiting, self_exiting, kNormal, false);
  BOOST_TEST(procs.live(self_exiting) == nullptr);
  // a trapping process gets {'EXIT', From, Reason}; kill is untrappable (killed).
  signals.exit_signal(from, trapper, Term(Atom("boom")), false);
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{trapper, make_exit_message(from, Term(Atom("boom")))}}));
  signals.exit_signal(from, trapper, Term(Atom("kill")), false);
  BOOST_TEST(procs.live(trapper) == nullptr);
  BOOST_TEST(ended.back().second == Term(Atom("killed")));
  // a link signal from a process that is not linked is ignored
  signals.exit_signal(from, plain, Term(Atom("boom")), true);
  BOOST_TEST(procs.live(plain) != nullptr);
  signals.exit_signal(from, plain, Term(Atom("boom")), false);
  BOOST_TEST(procs.live(plain) == nullptr);
  // to a remote pid: EXIT2 on the wire
  const Pid remote{kPeer, 9, 0, 1};
  signals.exit_signal(from, remote, Term(Atom("bye")), false);
  BOOST_REQUIRE(last_sent<ctrl::Exit2>());
  BOOST_TEST(last_sent<ctrl::Exit2>()->reason == Term(Atom("bye")));
}

BOOST_AUTO_TEST_CASE(links_propagate_exits_both_ways_and_to_dead_targets_at_once) {
  const Pid a = spawn(), b = spawn(true);
  signals.link(a, b);
  procs.exit(*procs.entry(a), Term(Atom("crash")));
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{b, make_exit_message(a, Term(Atom("crash")))}}));
  // linking to a dead local process: exit noproc at once
  inbox.clear();
  signals.link(b, a);
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{b, make_exit_message(a, kNoproc)}}));
}

BOOST_AUTO_TEST_CASE(remote_links_and_monitors_go_on_the_wire_and_the_exit_follows) {
  const Pid a = spawn();
  const Pid remote{kPeer, 9, 0, 1};
  const Reference ref = procs.make_ref();
  signals.link(a, remote);
  BOOST_REQUIRE(last_sent<ctrl::Link>());
  signals.monitor(a, Dest(Atom("srv"), kPeer), ref);
  BOOST_REQUIRE(last_sent<ctrl::MonitorP>());
  BOOST_TEST(last_sent<ctrl::MonitorP>()->to_proc == Term(Atom("srv")));
  // a remote process watching ours
  const Reference theirs = procs.make_ref();
  signals.incoming_monitor(kPeer, ctrl::MonitorP{remote, Term(a), theirs});
  wire.sent.clear();
  procs.exit(*procs.entry(a), Term(Atom("done")));
  // EXIT to the linked pid, MONITOR_P_EXIT to the watcher, DEMONITOR_P for our own monitor
  BOOST_REQUIRE(wire.sent.size() == 3u);
  BOOST_TEST(std::holds_alternative<ctrl::Exit>(wire.sent[0].second));
  BOOST_TEST(std::holds_alternative<ctrl::MonitorPExit>(wire.sent[1].second));
  BOOST_TEST(std::holds_alternative<ctrl::DemonitorP>(wire.sent[2].second));
}

BOOST_AUTO_TEST_CASE(monitors_of_dead_or_unknown_targets_fire_noproc_as_a_message) {
  const Pid w = spawn(), gone = spawn();
  procs.exit(*procs.entry(gone), kNormal);
  const Reference r1 = procs.make_ref(), r2 = procs.make_ref();
  signals.monitor(w, gone, r1);
  signals.monitor(w, Atom("nobody"), r2);
  BOOST_TEST(inbox.empty());
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{w, make_down(r1, Term(gone), kNoproc)},
                                                         {w, make_down(r2, tuple(Atom("nobody"), kSelf), kNoproc)}}));
}

BOOST_AUTO_TEST_CASE(a_local_monitor_by_name_says_name_and_node_and_demonitor_flushes) {
  const Pid w = spawn(), t = spawn();
  BOOST_REQUIRE(procs.register_name(Atom("target"), t));
  const Reference r = procs.make_ref(), r2 = procs.make_ref();
  signals.monitor(w, Atom("target"), r);
  signals.monitor(w, t, r2);
  procs.exit(*procs.entry(t), Term(Atom("bye")));
  BOOST_TEST(signals.demonitor(w, r2) == false);  // already fired; its queued DOWN is flushed
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{w, make_down(r, tuple(Atom("target"), kSelf), Term(Atom("bye")))}}));
}

BOOST_AUTO_TEST_CASE(node_down_fires_noconnection_for_links_and_monitors_of_that_node) {
  const Pid w = spawn(true);
  const Pid remote{kPeer, 9, 0, 1}, elsewhere{Atom("other@127.0.0.1"), 9, 0, 1};
  wire.connected[elsewhere.node] = dflag::HC_ADVERTISED;
  const Reference r1 = procs.make_ref(), r2 = procs.make_ref();
  signals.link(w, remote);
  signals.monitor(w, remote, r1);
  signals.monitor(w, elsewhere, r2);
  signals.node_down(kPeer, kNoconnection);
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{w, make_down(r1, Term(remote), kNoconnection)},
                                                         {w, make_exit_message(remote, kNoconnection)}}));
  BOOST_TEST(procs.entry(w)->lm.monitors.count(Term(r2)) == 1u);  // the other node's monitor stays
}

BOOST_AUTO_TEST_CASE(an_unconnected_target_waits_for_the_connection_and_fails_with_it) {
  const Pid w = spawn(true);
  const Pid ghost{Atom("ghost@127.0.0.1"), 1, 0, 1};
  const Reference r = procs.make_ref();
  signals.monitor(w, ghost, r);
  signals.link(w, ghost);
  BOOST_REQUIRE(wire.connects.size() == 2u);
  for (auto& [n, done] : wire.connects) done(make_error_code(Errc::dial_timeout));
  run_all();
  BOOST_TEST(inbox == (std::vector<std::pair<Pid, Term>>{{w, make_down(r, Term(ghost), kNoconnection)},
                                                         {w, make_exit_message(ghost, kNoconnection)}}));
}

BOOST_AUTO_TEST_CASE(incoming_link_to_a_dead_process_answers_exit_noproc) {
  const Pid remote{kPeer, 9, 0, 1};
  const Pid dead = spawn();
  procs.exit(*procs.entry(dead), kNormal);
  signals.incoming_link(kPeer, ctrl::Link{remote, dead});
  BOOST_REQUIRE(last_sent<ctrl::Exit>());
  BOOST_TEST(last_sent<ctrl::Exit>()->reason == kNoproc);
  BOOST_TEST((last_sent<ctrl::Exit>()->to == remote));
}

BOOST_AUTO_TEST_SUITE_END()
