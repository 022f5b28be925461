// Processes, links, monitors, timers and calls on one node, without any BEAM:
// the node runs on a test-owned io_context driven with poll(), and time is a
// ManualTimerService, so every step is deterministic.
#include "cnode/process.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/gen_server.hpp"
#include "cnode/node.hpp"
#include "interop/codec.hpp"
#include "support/polled_node.hpp"

using namespace hc;
using namespace hc::cnode;
using namespace std::chrono_literals;

namespace {

// A process that records everything it receives.
class Recorder final : public Process {
 public:
  explicit Recorder(std::vector<Term>* log) : log_(log) {}
  void handle_message(const Term& m) override {
    if (m.is_record("exit_with", 2)) {
      exit(*m.element(1));
      return;
    }
    if (m.is_atom("throw")) throw std::runtime_error("boom");
    log_->push_back(m);
  }
  void terminate(const Term& reason) override { log_->push_back(tuple(Atom("terminated"), reason)); }

 private:
  std::vector<Term>* log_;
};

class Adder final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& req, const Term& from) override {
    if (req.is_record("add", 3)) return Term(*req.element(1)->as_int() + *req.element(2)->as_int());
    if (req.is_atom("later")) {
      later_ = from;
      return std::nullopt;
    }
    if (req.is_atom("now")) {
      if (later_) reply(*later_, Term(Atom("late_reply")));
      return Term(Atom("ok"));
    }
    if (req.is_atom("die")) {
      exit(Term(Atom("died_in_call")));
      return std::nullopt;
    }
    return Term(Atom("never"));
  }
  void handle_cast(const Term& req) override { casts_.push_back(req); }

 public:
  std::optional<Term> later_;
  std::vector<Term> casts_;
};

// The polled node, with a recorder process maker.
struct LocalNode : hc::test::PolledNode {
  Pid recorder(std::vector<Term>* log, SpawnOptions o = {}) {
    return node->spawn(std::make_unique<Recorder>(log), std::move(o));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(process_test)

BOOST_AUTO_TEST_CASE(send_by_pid_name_and_order) {
  std::vector<Term> log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid p = n.recorder(&log, SpawnOptions{false, Atom("rec"), false});
  n.node->send(n.node->null_pid(), p, Term(1));
  n.node->send(n.node->null_pid(), Atom("rec"), Term(2));
  n.node->send(n.node->null_pid(), Dest(Atom("rec"), n.node->name()), Term(3));
  n.node->send(n.node->null_pid(), Atom("nobody"), Term(4));  // dropped
  BOOST_TEST(log.empty());  // delivery is asynchronous
  n.settle();
  BOOST_TEST(log == (std::vector<Term>{Term(1), Term(2), Term(3)}));
  BOOST_TEST((n.node->whereis(Atom("rec")) == std::optional<Pid>(p)));
}

BOOST_AUTO_TEST_CASE(an_encoded_send_reaches_a_local_process_as_its_term) {
  // Process::send_encoded to a process on this node: the body is decoded;
  // one that does not decode is dropped (and the next send still arrives).
  class Sender final : public Process {
   public:
    void handle_message(const Term& m) override {
      std::vector<std::uint8_t> body;
      encode_to(body, tuple(Atom("got"), m));
      send_encoded(Dest(Atom("rec")), body);
      const std::uint8_t bad[] = {116, 0, 0, 0, 9};  // a map header, no entries
      send_encoded(Dest(Atom("rec")), bad);
      send(Dest(Atom("rec")), Term(Atom("after")));
    }
  };
  std::vector<Term> log;
  LocalNode n;
  n.recorder(&log, SpawnOptions{false, Atom("rec"), false});
  Pid s = n.node->spawn(std::make_unique<Sender>());
  n.node->send(n.node->null_pid(), s, binary("payload"));
  n.settle();
  BOOST_TEST(log == (std::vector<Term>{tuple(Atom("got"), binary("payload")), Term(Atom("after"))}));
}

BOOST_AUTO_TEST_CASE(a_large_message_is_freed_off_the_io_thread_after_its_handler) {
  std::vector<Term> log;
  LocalNode n;
  Pid p = n.recorder(&log);
  std::vector<Term> items;
  for (int i = 0; i < 30'000; ++i) items.emplace_back(i);
  const Term big = Term::list(std::move(items));
  n.node->send(n.node->null_pid(), p, Term(1));
  n.node->send(n.node->null_pid(), p, big);
  n.settle();
  BOOST_REQUIRE(log.size() == 2u);
  BOOST_TEST(log[1] == big);  // what the handler kept is untouched
  BOOST_TEST(n.node->stats().frees_offloaded == 1u);  // the small one was freed in place
}

BOOST_AUTO_TEST_CASE(queued_sees_the_messages_behind_the_current_one) {
  // Each message handled records whether `last` still waits in the mailbox.
  class Peeker final : public Process {
   public:
    explicit Peeker(std::vector<Term>* log) : log_(log) {}
    void handle_message(const Term& m) override {
      log_->push_back(tuple(m, Atom(queued([](const Term& q) { return q.is_atom("last"); }) ? "last_queued" : "none")));
    }

   private:
    std::vector<Term>* log_;
  };
  std::vector<Term> log;
  LocalNode n;
  Pid p = n.node->spawn(std::make_unique<Peeker>(&log));
  for (const char* m : {"a", "b", "last"}) n.node->send(n.node->null_pid(), p, Term(Atom(m)));
  n.settle();
  BOOST_TEST(log == (std::vector<Term>{tuple(Atom("a"), Atom("last_queued")), tuple(Atom("b"), Atom("last_queued")),
                                       tuple(Atom("last"), Atom("none"))}));
}

BOOST_AUTO_TEST_CASE(registered_names_are_unique_and_released_on_exit) {
  std::vector<Term> log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid a = n.recorder(&log, SpawnOptions{false, Atom("x"), false});
  Pid b = n.recorder(&log, SpawnOptions{false, Atom("x"), false});  // name taken: b exits at once
  BOOST_TEST(!n.node->is_alive(b));
  BOOST_TEST(n.node->is_alive(a));
  n.node->exit_signal(n.node->null_pid(), a, Term(Atom("kill")));
  n.settle();
  BOOST_TEST(!n.node->whereis(Atom("x")));
}

BOOST_AUTO_TEST_CASE(links_propagate_and_trap_exit_converts) {
  std::vector<Term> log1, log2, log3;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid a = n.recorder(&log1);
  Pid trapper = n.recorder(&log2, SpawnOptions{false, std::nullopt, true});
  Pid plain = n.recorder(&log3);
  n.node->find(a)->link(trapper);
  n.node->find(a)->link(plain);
  n.node->send(n.node->null_pid(), a, tuple(Atom("exit_with"), Atom("boom")));
  n.settle();
  BOOST_TEST(!n.node->is_alive(a));
  BOOST_TEST(!n.node->is_alive(plain));
  BOOST_TEST(n.node->is_alive(trapper));
  BOOST_REQUIRE_EQUAL(log2.size(), 1u);
  BOOST_TEST(log2[0] == tuple(Atom("EXIT"), a, Atom("boom")));
  BOOST_TEST(log3.back() == tuple(Atom("terminated"), Atom("boom")));
}

BOOST_AUTO_TEST_CASE(normal_exit_does_not_kill_links_but_kill_is_untrappable) {
  std::vector<Term> l1, l2, l3, l4;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid a = n.recorder(&l1);
  Pid b = n.recorder(&l2);
  n.node->find(a)->link(b);
  n.node->send(n.node->null_pid(), a, tuple(Atom("exit_with"), Atom("normal")));
  n.settle();
  BOOST_TEST(n.node->is_alive(b));
  Pid t = n.recorder(&l3, SpawnOptions{false, std::nullopt, true});
  n.node->exit_signal(n.node->null_pid(), t, Term(Atom("kill")));
  n.settle();
  BOOST_TEST(!n.node->is_alive(t));
  BOOST_TEST(l3.back() == tuple(Atom("terminated"), Atom("killed")));
  // link to a dead pid: noproc exit signal (trapped here)
  Pid u = n.recorder(&l4, SpawnOptions{false, std::nullopt, true});
  n.node->find(u)->link(a);
  n.settle();
  BOOST_REQUIRE_EQUAL(l4.size(), 1u);
  BOOST_TEST(l4[0] == tuple(Atom("EXIT"), a, Atom("noproc")));
}

BOOST_AUTO_TEST_CASE(exceptions_exit_the_process) {
  std::vector<Term> log, watcher_log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid p = n.recorder(&log);
  Pid w = n.recorder(&watcher_log);
  Reference ref = n.node->find(w)->monitor(p);
  n.node->send(n.node->null_pid(), p, Term(Atom("throw")));
  n.settle();
  BOOST_TEST(!n.node->is_alive(p));
  BOOST_REQUIRE_EQUAL(watcher_log.size(), 1u);
  BOOST_TEST(watcher_log[0] ==
             tuple(Atom("DOWN"), ref, Atom("process"), p, tuple(Atom("cpp_exception"), Term::binary("boom"))));
}

BOOST_AUTO_TEST_CASE(monitors_by_pid_and_name) {
  std::vector<Term> target_log, log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid t = n.recorder(&target_log, SpawnOptions{false, Atom("target"), false});
  Pid w = n.recorder(&log);
  Process& watcher = *n.node->find(w);
  Reference by_pid = watcher.monitor(t);
  Reference by_name = watcher.monitor(Atom("target"));
  Reference gone = watcher.monitor(Atom("missing"));
  Reference removed = watcher.monitor(t);
  BOOST_TEST(watcher.demonitor(removed));
  n.settle();
  BOOST_REQUIRE_EQUAL(log.size(), 1u);  // noproc comes at once
  BOOST_TEST(log[0] == tuple(Atom("DOWN"), gone, Atom("process"), tuple(Atom("missing"), n.node->name()), Atom("noproc")));
  n.node->send(w, t, tuple(Atom("exit_with"), tuple(Atom("shutdown"), 1)));
  n.settle();
  BOOST_REQUIRE_EQUAL(log.size(), 3u);
  const Term reason = tuple(Atom("shutdown"), 1);
  // (the order of DOWNs of different monitors is unspecified, as in Erlang)
  auto has = [&](const Term& m) { return std::find(log.begin(), log.end(), m) != log.end(); };
  BOOST_TEST(has(tuple(Atom("DOWN"), by_pid, Atom("process"), t, reason)));
  BOOST_TEST(has(tuple(Atom("DOWN"), by_name, Atom("process"), tuple(Atom("target"), n.node->name()), reason)));
  // a monitor on a dead pid fires at once with noproc
  Reference late = watcher.monitor(t);
  n.settle();
  BOOST_TEST(log.back() == tuple(Atom("DOWN"), late, Atom("process"), t, Atom("noproc")));
}

BOOST_AUTO_TEST_CASE(send_after_with_injected_time) {
  std::vector<Term> log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid p = n.recorder(&log);
  Process& proc = *n.node->find(p);
  proc.send_after(100ms, Term(Atom("a")));
  TimerId cancelled = proc.send_after(150ms, Term(Atom("never")));
  proc.send_after(200ms, Term(Atom("b")));
  BOOST_TEST(proc.cancel_timer(cancelled));
  n.timers->advance(99ms);
  n.settle();
  BOOST_TEST(log.empty());
  n.timers->advance(1ms);
  n.settle();
  BOOST_TEST(log == (std::vector<Term>{Term(Atom("a"))}));
  n.timers->advance(1000ms);
  n.settle();
  BOOST_TEST(log == (std::vector<Term>{Term(Atom("a")), Term(Atom("b"))}));
  // timers of a dead process never fire
  proc.send_after(10ms, Term(Atom("zombie")));
  n.node->exit_signal(n.node->null_pid(), p, Term(Atom("kill")));
  n.settle();
  BOOST_TEST(n.timers->pending() == 0u);
}

BOOST_AUTO_TEST_CASE(calls_reply_timeout_and_server_death) {
  std::vector<CallResult> results;
  LocalNode n;
  Pid server = n.node->spawn(std::make_unique<Adder>(), SpawnOptions{false, Atom("adder"), false});
  Pid client = n.node->spawn_fn([](Process&, const Term&) {});
  Process& c = *n.node->find(client);
  auto record = [&](CallResult r) { results.push_back(std::move(r)); };
  c.call(server, tuple(Atom("add"), 2, 3), 1000ms, record);
  c.call(Atom("adder"), Term(Atom("later")), 1000ms, record);
  c.call(Dest(Atom("adder"), n.node->name()), Term(Atom("now")), 1000ms, record);
  c.cast(Atom("adder"), Term(Atom("hello")));
  n.settle();
  BOOST_REQUIRE_EQUAL(results.size(), 3u);
  BOOST_TEST(results[0].value() == Term(5));
  BOOST_TEST(results[1].value() == Term(Atom("late_reply")));  // the deferred reply, sent by "now"...
  BOOST_TEST(results[2].value() == Term(Atom("ok")));          // ...before "now" returns its own
  BOOST_TEST(static_cast<Adder*>(n.node->find(server))->casts_ == std::vector<Term>{Term(Atom("hello"))});
  results.clear();
  // timeout: the server holds the call; only the manual clock moves time
  c.call(server, Term(Atom("later")), 500ms, record);
  n.settle();
  BOOST_TEST(results.empty());
  n.timers->advance(500ms);
  n.settle();
  BOOST_REQUIRE_EQUAL(results.size(), 1u);
  BOOST_TEST(results[0].error() == make_error_code(Errc::timeout));
  BOOST_TEST((results[0].error() == hc::errc::timeout));
  BOOST_TEST(results[0].reason() == Term(Atom("timeout")));  // what the BEAM would exit with
  // the late reply after the timeout is dropped (the alias is gone)
  c.call(server, Term(Atom("now")), 500ms, record);
  n.settle();
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  // the server dies during a call; calling a missing name is noproc
  c.call(server, Term(Atom("die")), 500ms, record);
  c.call(Atom("nobody"), Term(Atom("x")), 500ms, record);
  n.settle();
  BOOST_REQUIRE_EQUAL(results.size(), 4u);
  // noproc comes at once; the server's death after its handler returned
  BOOST_TEST(results[2].error() == make_error_code(Errc::noproc));
  BOOST_TEST((results[2].error() == hc::errc::not_found));
  BOOST_TEST(results[3].error() == make_error_code(Errc::call_failed));
  BOOST_TEST(results[3].reason() == Term(Atom("died_in_call")));
  BOOST_TEST(n.timers->pending() == 0u);  // every call timer was cancelled
}

BOOST_AUTO_TEST_CASE(spawn_link_from_a_process_and_aliases) {
  std::vector<Term> parent_log, child_log;
  LocalNode n;  // after the logs: processes write to them until the node stops
  Pid parent = n.recorder(&parent_log, SpawnOptions{false, std::nullopt, true});
  Pid child = n.node->find(parent)->spawn(std::make_unique<Recorder>(&child_log), SpawnOptions{true, std::nullopt, false});
  Reference alias = n.node->find(child)->alias();
  n.node->send(parent, alias, Term(Atom("via_alias")));
  n.settle();
  BOOST_TEST(child_log == std::vector<Term>{Term(Atom("via_alias"))});
  n.node->find(child)->unalias(alias);
  n.node->send(parent, alias, Term(Atom("dropped")));
  n.node->send(parent, child, tuple(Atom("exit_with"), Atom("bye")));
  n.settle();
  BOOST_TEST(child_log.size() == 2u);  // via_alias + terminated
  BOOST_TEST(parent_log == std::vector<Term>{tuple(Atom("EXIT"), child, Atom("bye"))});
}

BOOST_AUTO_TEST_SUITE_END()
