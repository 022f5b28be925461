// The connection manager without a BEAM: dials go to a scripted Dialer, and
// every deadline and backoff timer runs on a ManualTimerService, so the
// tests say exactly when an attempt starts, times out and is retried. Two
// managers on one io_context connect over loopback for the cases that need
// a real handshake (queued messages flushed in order, backoff reset).
#include "cnode/connection_manager.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "cnode/error.hpp"
#include "cnode/flags.hpp"
#include "cnode/process_table.hpp"
#include "cnode/router.hpp"
#include "cnode/signals.hpp"
#include "interop/codec.hpp"
#include "io_loop.hpp"
#include "manual_turns.hpp"

using namespace hc;
using namespace hc::cnode;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cnode::test::run_for;
using cnode::test::run_until;
using asio::ip::tcp;

namespace {

const Atom kSelf("cm_self@127.0.0.1");
const Atom kPeer("cm_peer@127.0.0.1");

// A Dialer that answers only when told: each dial() is recorded with the
// manual time it started at.
class ScriptedDialer final : public Dialer {
 public:
  struct Call {
    Atom node;
    std::chrono::milliseconds at;
    Done done;
  };
  ScriptedDialer(const ManualTimerService& clock, std::vector<Call>& calls) : clock_(clock), calls_(calls) {}
  void dial(Atom node, Done done) override { calls_.push_back({node, clock_.now(), std::move(done)}); }

 private:
  const ManualTimerService& clock_;
  std::vector<Call>& calls_;
};

// A Dialer that connects to a fixed loopback port (no epmd).
class LoopbackDialer final : public Dialer {
 public:
  LoopbackDialer(asio::io_context& io, const std::uint16_t& port) : io_(io), port_(port) {}
  void dial(Atom, Done done) override {
    auto s = std::make_shared<tcp::socket>(io_);
    s->async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                     [s, done = std::move(done)](boost::system::error_code ec) {
                       if (ec) done(std::error_code(ec.value(), std::system_category()), ec.message(), std::move(*s));
                       else done({}, {}, std::move(*s));
                     });
  }

 private:
  asio::io_context& io_;
  const std::uint16_t& port_;
};

class RecordingEvents final : public ConnectionEvents {
 public:
  void on_control(Connection&, ControlMessage& m, std::optional<Term>& payload) override {
    controls.push_back(m.index());
    payloads.push_back(payload ? *payload : Term(Atom("none")));
    threads.push_back(std::this_thread::get_id());
  }
  void on_node_down(Atom node, const Term& reason) override { downs.emplace_back(node, reason); }
  std::vector<std::size_t> controls;
  std::vector<Term> payloads;
  std::vector<std::thread::id> threads;  // where each on_control ran
  std::vector<std::pair<Atom, Term>> downs;
};

ConnectionConfig config_for(Atom name) {
  ConnectionConfig c;
  c.handshake.local_name = std::string(name.text());
  c.handshake.cookie = "cm_cookie";
  c.handshake.flags = dflag::HC_ADVERTISED;
  c.handshake.creation = 42;
  return c;
}

ConnectionManagerOptions options_for(Atom name) {
  ConnectionManagerOptions o;
  o.name = name;
  return o;
}

// One manager whose dials are scripted.
struct Scripted {
  asio::io_context io;
  ManualTimerService clock;
  RecordingEvents events;
  std::vector<ScriptedDialer::Call> dials;
  std::unique_ptr<ConnectionManager> cm;
  explicit Scripted(ConnectionManagerOptions o = options_for(kSelf)) {
    cm = std::make_unique<ConnectionManager>(io, clock, events, o, [] { return config_for(kSelf); },
                                             std::make_unique<ScriptedDialer>(clock, dials));
  }
  ~Scripted() {
    cm->stop();
    settle();
  }
  void settle() {
    io.restart();
    io.poll();
  }
  // Answer the latest dial with a failure.
  void fail_last_dial() {
    BOOST_REQUIRE(!dials.empty());
    auto done = dials.back().done;
    done(make_error_code(Errc::noconnection), "scripted failure", tcp::socket(io));
  }
};

Term payload(int i) { return Term(i); }

// A list of `n` integers: 2-9 bytes each on the wire, and a decode of a few
// ms per 100 000 (long enough to be caught in flight).
Term long_list(int n) {
  std::vector<Term> items;
  items.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) items.emplace_back(i * 1000);
  return Term::list(std::move(items));
}

// Manager `a` dials `b` over loopback (b listens; nothing dials a); both
// stop, and their closes run, at the end.
struct OneWayPair {
  asio::io_context io;
  ManualTimerService clock_a, clock_b;
  RecordingEvents events_a, events_b;
  std::uint16_t port_b = 0, unused = 0;
  ConnectionManager a, b;
  explicit OneWayPair(std::function<ConnectionConfig()> config_a = [] { return config_for(kSelf); },
                      ConnectionManagerOptions oa = options_for(kSelf), ConnectionManagerOptions ob = options_for(kPeer))
      : a(io, clock_a, events_a, std::move(oa), std::move(config_a), std::make_unique<LoopbackDialer>(io, port_b)),
        b(io, clock_b, events_b, std::move(ob), [] { return config_for(kPeer); },
          std::make_unique<LoopbackDialer>(io, unused)) {
    BOOST_REQUIRE(!b.listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
    port_b = b.port();
    b.start_accepting();
  }
  ~OneWayPair() {
    a.stop();
    b.stop();
    run_for(io, 200ms);  // let the closes run
  }
};

// `a` connected to `b`. `a` encodes its messages of 1 000 terms and more on
// its worker thread, `b` decodes its incoming messages of 64 KiB and more
// on its own.
ConnectionManagerOptions encoding_a() {
  ConnectionManagerOptions o = options_for(kSelf);
  o.offload_encode_terms = 1000;
  return o;
}
ConnectionManagerOptions decoding_b() {
  ConnectionManagerOptions o = options_for(kPeer);
  o.offload_decode_bytes = 64 * 1024;
  return o;
}
// A payload encoded ahead (a body: external format without the version byte).
std::vector<std::uint8_t> body_of(const Term& t) {
  std::vector<std::uint8_t> body;
  encode_to(body, t);
  return body;
}

struct OffloadPair : OneWayPair {
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 42};
  OffloadPair() : OneWayPair([] { return config_for(kSelf); }, encoding_a(), decoding_b()) {
    bool up = false;
    a.connect(kPeer, [&](std::error_code ec) { up = !ec; });
    BOOST_REQUIRE(run_until(io, [&] { return up; }));
  }
  void send(const Term& t) { BOOST_TEST(!a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &t)); }
};


}  // namespace

BOOST_AUTO_TEST_SUITE(connection_manager_test)

BOOST_AUTO_TEST_CASE(a_dial_that_never_answers_fails_at_its_deadline) {
  ConnectionManagerOptions o = options_for(kSelf);
  o.dial_timeout = 7000ms;
  Scripted s(o);
  std::vector<std::error_code> outcomes;
  s.cm->connect(kPeer, [&](std::error_code ec) { outcomes.push_back(ec); });
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 7};
  for (int i = 0; i < 3; ++i) {
    const Term p = payload(i);
    BOOST_TEST(!s.cm->send_ctrl(kPeer, ctrl::SendSender{from, to}, &p));
  }
  BOOST_TEST(s.dials.size() == 1u);  // one attempt serves the connect and the sends
  BOOST_TEST(s.cm->pending_sends(kPeer) == 3u);

  s.clock.advance(6999ms);
  BOOST_TEST(outcomes.empty());
  BOOST_TEST(s.cm->is_dialling(kPeer));

  s.clock.advance(1ms);
  BOOST_TEST(outcomes == (std::vector<std::error_code>{make_error_code(Errc::dial_timeout)}));
  BOOST_TEST(!s.cm->is_dialling(kPeer));
  BOOST_TEST(s.cm->pending_sends(kPeer) == 0u);  // the queued sends were dropped with the attempt
  BOOST_TEST(s.clock.pending() == 0u);           // not a kept peer: no redial

  // The dialer answering late changes nothing: the attempt is over.
  s.fail_last_dial();
  BOOST_TEST(outcomes.size() == 1u);
  BOOST_TEST(!s.cm->is_dialling(kPeer));
}

BOOST_AUTO_TEST_CASE(a_failed_dial_cancels_its_deadline) {
  Scripted s;
  std::vector<std::error_code> outcomes;
  s.cm->connect(kPeer, [&](std::error_code ec) { outcomes.push_back(ec); });
  BOOST_TEST(s.clock.pending() == 1u);  // the deadline
  s.fail_last_dial();
  BOOST_TEST(outcomes == (std::vector<std::error_code>{make_error_code(Errc::noconnection)}));
  BOOST_TEST(s.clock.pending() == 0u);
  s.clock.advance(10000ms);
  BOOST_TEST(outcomes.size() == 1u);  // no second outcome from a stale deadline
}

BOOST_AUTO_TEST_CASE(a_kept_peer_is_redialled_with_doubling_backoff_up_to_the_maximum) {
  ConnectionManagerOptions o = options_for(kSelf);
  o.reconnect_min = 200ms;
  o.reconnect_max = 1500ms;
  Scripted s(o);
  s.cm->add_peer(kPeer);
  BOOST_REQUIRE(s.dials.size() == 1u);
  // After each failure the redial is due exactly `delay` later, not before:
  // 200, 400, 800, then capped at 1500.
  std::chrono::milliseconds expected_start{0};
  for (auto delay : {200ms, 400ms, 800ms, 1500ms, 1500ms}) {
    const std::size_t before = s.dials.size();
    s.fail_last_dial();
    s.clock.advance(delay - 1ms);
    BOOST_TEST(s.dials.size() == before);
    s.clock.advance(1ms);
    BOOST_REQUIRE(s.dials.size() == before + 1);
    expected_start += delay;
    BOOST_TEST(s.dials.back().at.count() == expected_start.count());
  }
}

BOOST_AUTO_TEST_CASE(redials_follow_deadlines_when_the_peer_never_answers) {
  ConnectionManagerOptions o = options_for(kSelf);
  o.dial_timeout = 1000ms;
  o.reconnect_min = 100ms;
  o.reconnect_max = 400ms;
  Scripted s(o);
  s.cm->add_peer(kPeer);
  s.clock.advance(10000ms);
  std::vector<std::chrono::milliseconds> starts;
  for (auto& d : s.dials) starts.push_back(d.at);
  // Each attempt lasts its 1000 ms deadline, then waits 100, 200, 400, 400...
  using ms = std::chrono::milliseconds;
  BOOST_TEST((starts == std::vector<ms>{ms(0), ms(1100), ms(2300), ms(3700), ms(5100), ms(6500), ms(7900), ms(9300)}));
}

BOOST_AUTO_TEST_CASE(the_pending_queue_is_bounded_and_says_so) {
  ConnectionManagerOptions o = options_for(kSelf);
  o.max_pending_sends = 3;
  Scripted s(o);
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 7};
  std::vector<std::error_code> results;
  for (int i = 0; i < 5; ++i) {
    const Term p = payload(i);
    results.push_back(s.cm->send_ctrl(kPeer, ctrl::SendSender{from, to}, &p));
  }
  const std::error_code ok{}, full = make_error_code(Errc::pending_queue_full);
  BOOST_TEST((results == std::vector<std::error_code>{ok, ok, ok, full, full}));
  BOOST_TEST(s.cm->pending_sends(kPeer) == 3u);
  BOOST_TEST(s.cm->stats().pending_dropped == 2u);
  BOOST_TEST(s.cm->is_dialling(kPeer));  // a full queue does not end the attempt
  BOOST_TEST(s.dials.size() == 1u);
}

BOOST_AUTO_TEST_CASE(sends_that_may_not_connect_are_refused_with_a_reason) {
  Scripted s;
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 7};
  const Term p = payload(1);
  BOOST_TEST(s.cm->send_ctrl(kPeer, ctrl::SendSender{from, to}, &p, false) == make_error_code(Errc::not_connected));
  BOOST_TEST(s.cm->send_ctrl(kSelf, ctrl::SendSender{from, to}, &p) == make_error_code(Errc::bad_peer_name));
  BOOST_TEST(s.cm->send_ctrl(Atom("no_host"), ctrl::SendSender{from, to}, &p) == make_error_code(Errc::bad_peer_name));
  BOOST_TEST(s.dials.empty());
  std::error_code self_outcome;
  s.cm->connect(kSelf, [&](std::error_code ec) { self_outcome = ec; });
  BOOST_TEST(!self_outcome);  // always in a later turn
  s.settle();
  BOOST_TEST(self_outcome == make_error_code(Errc::bad_peer_name));
}

BOOST_AUTO_TEST_CASE(stop_fails_attempts_and_cancels_every_timer) {
  Scripted s;
  s.cm->add_peer(kPeer);
  s.fail_last_dial();  // a redial timer is now pending
  std::error_code outcome;
  s.cm->connect(Atom("other@127.0.0.1"), [&](std::error_code ec) { outcome = ec; });
  BOOST_TEST(s.clock.pending() == 2u);  // the redial and the other attempt's deadline
  s.cm->stop();
  BOOST_TEST(outcome == make_error_code(Errc::node_stopped));
  BOOST_TEST(s.clock.pending() == 0u);
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 7};
  const Term p = payload(1);
  BOOST_TEST(s.cm->send_ctrl(kPeer, ctrl::SendSender{from, to}, &p) == make_error_code(Errc::node_stopped));
}

BOOST_AUTO_TEST_CASE(monitors_and_links_of_a_node_whose_dial_times_out_see_noconnection) {
  // The whole chain a process sees: its monitor and link wait for the dial;
  // the deadline fails it; DOWN and EXIT say noconnection, as on the BEAM.
  asio::io_context io;
  ManualTimerService clock;
  RecordingEvents events;
  std::vector<ScriptedDialer::Call> dials;
  ConnectionManagerOptions o = options_for(kSelf);
  o.dial_timeout = 7000ms;
  ConnectionManager cm(io, clock, events, o, [] { return config_for(kSelf); },
                       std::make_unique<ScriptedDialer>(clock, dials));
  test::ManualTurns turns;
  std::vector<Term> got;
  Signals* signals_ptr = nullptr;
  ProcessTable procs(turns.post(), [&](ProcessEntry& e, const Term& reason) {
                       if (auto r = procs.finish(e, reason)) signals_ptr->process_ended(*r, reason);
                     });
  procs.set_identity(kSelf, 42);
  Router router(procs, cm);
  Signals signals(procs, router, cm);
  signals_ptr = &signals;
  const Pid watcher = procs.allocate_pid();
  ProcessEntry& e = procs.insert(
      watcher, std::make_unique<FunctionProcess>([&](Process&, const Term& m) { got.push_back(m); }), true, nullptr,
      nullptr);
  procs.run_init(e);
  const Reference ref = procs.make_ref();
  const Pid remote{kPeer, 5, 0, 9};
  signals.monitor(watcher, Dest(Atom("server"), kPeer), ref);
  signals.link(watcher, remote);
  BOOST_TEST(dials.size() == 1u);
  clock.advance(7000ms);
  turns.run_all();
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0] == make_down(ref, tuple(Atom("server"), kPeer), Term(Atom("noconnection"))));
  BOOST_TEST(got[1] == make_exit_message(remote, Term(Atom("noconnection"))));
  cm.stop();
}

BOOST_AUTO_TEST_CASE(queued_messages_go_out_in_order_once_connected_and_backoff_resets) {
  asio::io_context io;
  ManualTimerService clock_a, clock_b;
  RecordingEvents events_a, events_b;
  std::uint16_t port_b = 0, port_a = 0;
  ConnectionManagerOptions oa = options_for(kSelf), ob = options_for(kPeer);
  oa.reconnect_min = ob.reconnect_min = 100ms;
  ConnectionManager a(io, clock_a, events_a, oa, [] { return config_for(kSelf); },
                      std::make_unique<LoopbackDialer>(io, port_b));
  ConnectionManager b(io, clock_b, events_b, ob, [] { return config_for(kPeer); },
                      std::make_unique<LoopbackDialer>(io, port_a));
  const tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
  BOOST_REQUIRE(!a.listen(any));
  BOOST_REQUIRE(!b.listen(any));
  port_a = a.port();
  port_b = b.port();
  a.start_accepting();
  b.start_accepting();

  std::vector<bool> ups;
  a.monitor_nodes([&](Atom n, bool up) {
    if (n == kPeer) ups.push_back(up);
  });
  a.add_peer(kPeer);
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 42};
  for (int i = 0; i < 3; ++i) {
    const Term p = payload(i);
    BOOST_TEST(!a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &p));
  }
  BOOST_REQUIRE(run_until(io, [&] { return events_b.payloads.size() == 3u; }));
  BOOST_TEST(events_b.payloads == (std::vector<Term>{payload(0), payload(1), payload(2)}));
  BOOST_TEST(a.is_connected(kPeer));
  BOOST_TEST(!a.is_dialling(kPeer));
  BOOST_TEST(clock_a.pending() == 0u);  // the deadline was cancelled by the connection
  BOOST_TEST(ups == (std::vector<bool>{true}));

  // The peer drops the connection: nodedown, then a redial after the reset
  // minimum backoff, not before.
  b.disconnect(kSelf);
  BOOST_REQUIRE(run_until(io, [&] { return !events_a.downs.empty(); }));
  BOOST_TEST(events_a.downs.front().second == Term(Atom("noconnection")));
  BOOST_TEST(ups == (std::vector<bool>{true, false}));
  BOOST_TEST(!a.is_dialling(kPeer));
  BOOST_TEST(clock_a.pending() == 1u);  // the redial
  clock_a.advance(99ms);
  BOOST_TEST(!a.is_dialling(kPeer));
  clock_a.advance(1ms);
  BOOST_TEST((a.is_dialling(kPeer) || a.is_connected(kPeer)));
  BOOST_REQUIRE(run_until(io, [&] { return a.is_connected(kPeer); }));
  BOOST_TEST(*a.next_backoff(kPeer) == 100ms);  // reset by the connection
  a.stop();
  b.stop();
  run_for(io, 200ms);  // let the closes run
}

BOOST_AUTO_TEST_CASE(a_send_queue_over_its_limit_closes_that_connection_with_nodedown) {
  // The peer's connection queue is bounded (ConnectionConfig::max_send_queue):
  // past it the connection closes (send_queue_full) and the processes see
  // noconnection, as Erlang may lose messages only with the connection.
  OneWayPair pair([] {
    ConnectionConfig c = config_for(kSelf);
    c.max_send_queue = 64 * 1024;
    return c;
  });
  auto& io = pair.io;
  auto& a = pair.a;
  auto& events_a = pair.events_a;
  auto& events_b = pair.events_b;
  bool up = false;
  a.connect(kPeer, [&](std::error_code ec) { up = !ec; });
  BOOST_REQUIRE(run_until(io, [&] { return up; }));
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 42};
  const Term small = payload(1);
  BOOST_TEST(!a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &small));
  BOOST_REQUIRE(run_until(io, [&] { return events_b.payloads.size() == 1u; }));
  const Term big = Term::binary(std::string(256 * 1024, 'x'));
  a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &big);
  BOOST_REQUIRE(run_until(io, [&] { return !events_a.downs.empty(); }));
  BOOST_TEST(events_a.downs.front().first == kPeer);
  BOOST_TEST(events_a.downs.front().second == Term(Atom("noconnection")));
  BOOST_TEST(!a.is_connected(kPeer));
  BOOST_TEST(events_b.payloads.size() == 1u);  // the big message never went out
}

BOOST_AUTO_TEST_CASE(encoded_payloads_arrive_as_their_terms_queued_fragmented_and_in_order) {
  // send_ctrl_encoded: while the peer is dialled the body waits decoded,
  // with the Term sends, in order; once connected it goes into the frame
  // as is, a large one in fragments (both ends negotiate FRAGMENTS) that
  // the sender's next message stays behind.
  OneWayPair pair;
  auto& io = pair.io;
  auto& a = pair.a;
  auto& events_b = pair.events_b;
  const Pid from{kSelf, 1, 0, 42}, to{kPeer, 1, 0, 42};
  const Term first = tuple(Atom("encoded"), Term(1)), second = payload(2);
  BOOST_TEST(!a.send_ctrl_encoded(kPeer, ctrl::SendSender{from, to}, body_of(first)));
  BOOST_TEST(a.pending_sends(kPeer) == 1u);
  BOOST_TEST(!a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &second));
  std::vector<std::uint8_t> bad{131};  // not a term
  BOOST_TEST(a.send_ctrl_encoded(kPeer, ctrl::SendSender{from, to}, bad) == make_error_code(Errc::malformed_term));
  BOOST_REQUIRE(run_until(io, [&] { return events_b.payloads.size() == 2u; }));
  BOOST_TEST(events_b.payloads == (std::vector<Term>{first, second}));

  const Term big = tuple(Atom("diff"), Term::binary(std::string(300 * 1024, 'x')), list(Term(1)));  // ~5 fragments
  const Term after = payload(3);
  const auto frames_before = a.stats().frames_out;
  BOOST_TEST(!a.send_ctrl_encoded(kPeer, ctrl::SendSender{from, to}, body_of(big)));
  BOOST_TEST(!a.send_ctrl(kPeer, ctrl::SendSender{from, to}, &after));
  BOOST_REQUIRE(run_until(io, [&] { return events_b.payloads.size() == 4u; }));
  BOOST_TEST(events_b.payloads[2] == big);
  BOOST_TEST(events_b.payloads[3] == after);
  BOOST_TEST(a.stats().frames_out == frames_before + 2);  // one message each, however many fragments
}

BOOST_AUTO_TEST_CASE(a_large_encoded_body_is_sent_from_its_own_buffer_and_freed_on_the_worker) {
  // send_ctrl_encoded with the body handed over (a vector): queued as it
  // is, written fragment by fragment from it, then freed off the io thread
  // (kFreeElsewhereBytes and more); a small one is copied and freed here.
  OffloadPair p;
  auto& a = p.a;
  const Term big = tuple(Atom("diff"), Term::binary(std::string(kFreeElsewhereBytes + 1000, 'y')), list(Term(1)));
  const Term small = payload(1);
  std::vector<std::uint8_t> body = body_of(big);
  BOOST_TEST(!a.send_ctrl_encoded(kPeer, ctrl::SendSender{p.from, p.to}, std::move(body)));
  BOOST_TEST(a.queued_bytes(kPeer) > kFreeElsewhereBytes / 2);  // counted against max_send_queue (one write slice is out)
  BOOST_TEST(!a.send_ctrl_encoded(kPeer, ctrl::SendSender{p.from, p.to}, body_of(small)));
  BOOST_REQUIRE(run_until(p.io, [&] { return p.events_b.payloads.size() == 2u; }));
  BOOST_TEST(p.events_b.payloads[0] == big);
  BOOST_TEST(p.events_b.payloads[1] == small);
  BOOST_TEST(a.stats().frees_offloaded == 1u);
  BOOST_TEST(a.queued_bytes(kPeer) == 0u);
}

BOOST_AUTO_TEST_CASE(large_messages_are_decoded_on_the_worker_and_delivered_in_order) {
  OffloadPair p;
  // Small, large (fragmented by the sender), small, large, small: the
  // small ones arrive while a large one decodes and must wait behind it.
  const Term big1 = long_list(200'000), big2 = Term::binary(std::string(300 * 1024, 'y'));
  const std::vector<Term> sent{payload(0), big1, payload(1), big2, payload(2)};
  for (const Term& t : sent) p.send(t);
  BOOST_REQUIRE(run_until(p.io, [&] { return p.events_b.payloads.size() == sent.size(); }));
  BOOST_TEST(p.events_b.payloads == sent);
  BOOST_TEST(p.b.stats().decodes_offloaded == 2u);
  BOOST_TEST(p.a.stats().encodes_offloaded == 2u);  // the small ones waited behind them at the sender, too
  BOOST_TEST(p.a.queued_bytes(kPeer) == 0u);  // all written
  // Every delivery ran on the io thread (this one), decoded or not there.
  for (auto id : p.events_b.threads) BOOST_TEST((id == std::this_thread::get_id()));
  // The connection goes on as before.
  p.send(payload(3));
  BOOST_REQUIRE(run_until(p.io, [&] { return p.events_b.payloads.size() == sent.size() + 1; }));
  BOOST_TEST(p.events_b.payloads.back() == payload(3));
}

BOOST_AUTO_TEST_CASE(a_sender_whose_large_message_encodes_is_overtaken_only_by_other_senders) {
  OffloadPair p;
  const Pid other{kSelf, 2, 0, 42};
  const Term big = long_list(300'000);
  p.send(big);                   // encoded on a's worker
  p.send(payload(1));            // same sender: waits behind it
  BOOST_TEST(p.a.queued_bytes(kPeer) > 0u);  // the small one, held behind the reservation
  BOOST_TEST(p.a.queued_bytes(Atom("nobody@127.0.0.1")) == 0u);
  const Term o = payload(2);     // another sender: not held
  BOOST_TEST(!p.a.send_ctrl(kPeer, ctrl::SendSender{other, p.to}, &o));
  BOOST_REQUIRE(run_until(p.io, [&] { return p.events_b.payloads.size() == 3u; }));
  BOOST_TEST(p.a.stats().encodes_offloaded == 1u);
  // The big one's sender keeps its order whatever the other did.
  std::vector<Term> of_sender;
  for (const Term& t : p.events_b.payloads)
    if (!(t == o)) of_sender.push_back(t);
  BOOST_TEST(of_sender == (std::vector<Term>{big, payload(1)}));
}

BOOST_AUTO_TEST_CASE(a_connection_closed_while_its_message_decodes_delivers_nothing_after_nodedown) {
  OffloadPair p;
  p.send(long_list(400'000));
  p.send(payload(1));
  BOOST_REQUIRE(run_until(p.io, [&] { return p.b.decoding(kSelf); }));
  p.b.disconnect(kSelf);
  BOOST_REQUIRE(run_until(p.io, [&] { return !p.events_b.downs.empty(); }));
  run_for(p.io, 300ms);  // the decode finishes meanwhile
  BOOST_TEST(p.events_b.payloads.empty());
  BOOST_TEST(!p.b.is_connected(kSelf));
}

BOOST_AUTO_TEST_SUITE_END()
