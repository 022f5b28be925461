// The process table on its own: pids, names, the turn order of mailboxes
// and the end of a process, with the io thread's posts replaced by a list
// of turns the test runs one at a time (so "not yet handled" is checkable).
#include "cnode/process_table.hpp"

#include <boost/test/unit_test.hpp>
#include <thread>
#include <set>
#include <stdexcept>

#include "manual_turns.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {

const Atom kSelf("table@127.0.0.1");

struct Fixture {
  test::ManualTurns turns;
  std::vector<std::pair<Pid, Term>> exits;  // what the ExitHook saw
  std::vector<Term> log;                    // what the processes handled, as {Pid, Msg}
  ProcessTable procs{turns.post(), [this](ProcessEntry& e, const Term& r) {
                       exits.emplace_back(e.proc->self(), r);
                       procs.finish(e, r);
                     }};
  Fixture() { procs.set_identity(kSelf, 3); }

  std::size_t run_round() { return turns.run_round(); }  // one scheduling round
  void run_all() { turns.run_all(); }
  Pid spawn(FunctionProcess::Handler h = {}, FunctionProcess::Init init = {}) {
    if (!h) h = [this](Process& self, const Term& m) { log.push_back(tuple(self.self(), m)); };
    const Pid pid = procs.allocate_pid();
    procs.run_init(procs.insert(pid, std::make_unique<FunctionProcess>(std::move(h), std::move(init)), false,
                                nullptr, nullptr));
    return pid;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(process_table_test, Fixture)

BOOST_AUTO_TEST_CASE(pids_are_unique_local_and_never_the_null_pid) {
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (int i = 0; i < 40000; ++i) {  // past the 15-bit id wrap into the serial
    const Pid p = procs.allocate_pid();
    BOOST_TEST_REQUIRE(procs.is_local(p));
    BOOST_TEST_REQUIRE(!(p.id == 0 && p.serial == 0));
    BOOST_TEST_REQUIRE(p.id < 0x8000u);
    BOOST_TEST_REQUIRE(seen.emplace(p.id, p.serial).second);
  }
  Pid other = procs.allocate_pid();
  other.creation = 4;
  BOOST_TEST(!procs.is_local(other));
  BOOST_TEST(procs.entry(other) == nullptr);
}

BOOST_AUTO_TEST_CASE(names_are_unique_and_leave_with_their_process) {
  const Pid a = spawn(), b = spawn();
  BOOST_TEST(procs.register_name(Atom("n1"), a));
  BOOST_TEST(!procs.register_name(Atom("n1"), b));   // taken
  BOOST_TEST(!procs.register_name(Atom("n2"), a));   // a has its one registered name
  BOOST_TEST(procs.add_name(Atom("n2"), a));         // ...but may add more
  BOOST_TEST(!procs.add_name(Atom("n2"), b));
  BOOST_TEST(procs.add_name(Atom("b1"), b));         // without a name, add_name registers
  BOOST_TEST((procs.entry(b)->proc->registered_name() == std::optional<Atom>(Atom("b1"))));
  BOOST_TEST((procs.whereis(Atom("n2")) == std::optional<Pid>(a)));
  BOOST_TEST(procs.unregister_name(Atom("n2")));
  BOOST_TEST(!procs.whereis(Atom("n2")));
  BOOST_TEST(procs.add_name(Atom("n3"), a));
  procs.exit(*procs.entry(a), Term(Atom("normal")));
  BOOST_TEST(!procs.whereis(Atom("n1")));
  BOOST_TEST(!procs.whereis(Atom("n3")));
  BOOST_TEST(procs.register_name(Atom("n1"), b) == false);  // b still has b1
  BOOST_TEST(procs.add_name(Atom("n1"), b));                // the freed name is free again
}

BOOST_AUTO_TEST_CASE(messages_are_handled_in_later_turns_in_delivery_order) {
  const Pid a = spawn(), b = spawn();
  procs.deliver(a, Term(1));
  procs.deliver(b, Term(2));
  procs.deliver(a, Term(3));
  BOOST_TEST(log.empty());  // never inside deliver()
  BOOST_TEST(turns.turns.size() == 2u);  // one turn per process, however many messages
  run_all();
  BOOST_TEST(log == (std::vector<Term>{tuple(a, Term(1)), tuple(a, Term(3)), tuple(b, Term(2))}));
}

BOOST_AUTO_TEST_CASE(a_send_to_self_is_handled_in_a_later_turn_not_reentrantly) {
  std::vector<int> order;
  Pid self;
  self = spawn([&](Process&, const Term& m) {
    const int n = int(*m.as_int());
    order.push_back(n);
    if (n == 1) {
      procs.deliver(self, Term(2));
      order.push_back(10);  // runs before 2 is handled
    }
  });
  procs.deliver(self, Term(1));
  run_round();
  BOOST_TEST(order == (std::vector<int>{1, 10, 2}));  // same drain, after the callback returned
}

BOOST_AUTO_TEST_CASE(a_busy_process_yields_after_its_turn_budget) {
  const Pid busy = spawn(), other = spawn();
  for (int i = 0; i < ProcessTable::kTurnBudget + 10; ++i) procs.deliver(busy, Term(i));
  procs.deliver(other, Term(-1));
  run_round();
  // Round one: the budget of busy, then other's message; busy's rest waits.
  BOOST_TEST(log.size() == std::size_t(ProcessTable::kTurnBudget) + 1);
  BOOST_TEST(log.back() == tuple(other, Term(-1)));
  run_round();
  BOOST_TEST(log.size() == std::size_t(ProcessTable::kTurnBudget) + 11);
  BOOST_TEST(log.back() == tuple(busy, Term(ProcessTable::kTurnBudget + 9)));
}

BOOST_AUTO_TEST_CASE(a_process_whose_handlers_are_slow_yields_after_the_turn_time) {
  // The second message's handler takes longer than kTurnTime (10 ms): the
  // third waits for the next round, after the other process's message.
  const Pid slow = spawn([this](Process& self, const Term& m) {
    if (m == Term(1)) std::this_thread::sleep_for(ProcessTable::kTurnTime + std::chrono::milliseconds(2));
    log.push_back(tuple(self.self(), m));
  });
  const Pid other = spawn();
  for (int i = 0; i < 4; ++i) procs.deliver(slow, Term(i));
  procs.deliver(other, Term(-1));
  run_round();
  BOOST_REQUIRE(log.size() == 3u);
  BOOST_TEST(log[0] == tuple(slow, Term(0)));
  BOOST_TEST(log[1] == tuple(slow, Term(1)));
  BOOST_TEST(log[2] == tuple(other, Term(-1)));
  run_round();
  BOOST_TEST(log.size() == 5u);
}

BOOST_AUTO_TEST_CASE(an_exit_asked_inside_a_callback_happens_after_it_and_drops_the_rest) {
  Pid p;
  p = spawn([&](Process&, const Term& m) {
    log.push_back(m);
    if (m.is_atom("stop")) {
      procs.exit(*procs.entry(p), Term(Atom("asked")));
      BOOST_TEST(exits.empty());  // not while the callback runs
      log.push_back(Term(Atom("after_exit_call")));
    }
  });
  procs.deliver(p, Term(Atom("stop")));
  procs.deliver(p, Term(Atom("never")));
  run_all();
  BOOST_TEST(log == (std::vector<Term>{Term(Atom("stop")), Term(Atom("after_exit_call"))}));
  BOOST_REQUIRE(exits.size() == 1u);
  BOOST_TEST(exits[0].second == Term(Atom("asked")));
  BOOST_TEST(procs.live(p) == nullptr);
  procs.deliver(p, Term(Atom("late")));  // to a dead process: dropped
  BOOST_TEST(turns.idle());
}

BOOST_AUTO_TEST_CASE(a_throw_ends_the_process_with_cpp_exception) {
  const Pid p = spawn([](Process&, const Term&) { throw std::runtime_error("boom"); });
  procs.deliver(p, Term(1));
  run_all();
  BOOST_REQUIRE(exits.size() == 1u);
  BOOST_TEST(exits[0].second == tuple(Atom("cpp_exception"), Term::binary("boom")));
  // A throw in init() too, before spawn returns.
  const Pid q = spawn([](Process&, const Term&) {}, [](Process&) { throw std::runtime_error("init"); });
  BOOST_REQUIRE(exits.size() == 2u);
  BOOST_TEST((exits[1].first == q));
  BOOST_TEST(procs.live(q) == nullptr);
}

BOOST_AUTO_TEST_CASE(messages_init_sends_itself_are_handled_after_init) {
  Pid p;
  const Pid expected = Pid{kSelf, 1, 0, 3};  // the first pid of this table
  p = spawn({}, [&](Process& self) { procs.deliver(self.self(), Term(Atom("from_init"))); });
  BOOST_TEST((p == expected));
  BOOST_TEST(log.empty());
  run_all();
  BOOST_TEST(log == (std::vector<Term>{tuple(p, Term(Atom("from_init")))}));
}

BOOST_AUTO_TEST_CASE(finish_runs_terminate_and_hands_back_what_the_node_must_undo) {
  class Ending final : public Process {
   public:
    explicit Ending(std::vector<Term>* log) : log_(log) {}
    void handle_message(const Term&) override {}
    void terminate(const Term& reason) override { log_->push_back(tuple(Atom("terminate"), reason)); }

   private:
    std::vector<Term>* log_;
  };
  const Pid p = procs.allocate_pid();
  ProcessEntry& e = procs.insert(p, std::make_unique<Ending>(&log), false, nullptr, nullptr);
  procs.run_init(e);
  const Pid linked{Atom("x@127.0.0.1"), 1, 0, 1};
  e.lm.links.insert(linked);
  e.aliases.push_back(Term(procs.make_ref()));
  e.timers.insert(77);
  procs.deliver(p, Term(1));
  BOOST_TEST(procs.size() == 1u);
  auto remains = procs.finish(e, Term(Atom("bye")));
  BOOST_REQUIRE(remains);
  BOOST_TEST(log == (std::vector<Term>{tuple(Atom("terminate"), Atom("bye"))}));
  BOOST_TEST((remains->pid == p));
  BOOST_TEST(remains->lm.links.count(linked) == 1u);
  BOOST_TEST(remains->aliases.size() == 1u);
  BOOST_TEST(remains->timers == (std::vector<TimerId>{77}));
  BOOST_TEST(procs.size() == 0u);
  BOOST_TEST(procs.entry(p) == nullptr);
  run_all();  // the queued message and the graveyard: nothing handled after the end
  BOOST_TEST(log.size() == 1u);
}

BOOST_AUTO_TEST_CASE(demonitor_flush_removes_only_that_monitors_down) {
  const Pid p = spawn();
  const Reference r1 = procs.make_ref(), r2 = procs.make_ref();
  procs.deliver(p, make_down(r1, Term(p), Term(Atom("normal"))));
  procs.deliver(p, Term(Atom("keep")));
  procs.deliver(p, make_down(r2, Term(p), Term(Atom("normal"))));
  ProcessTable::flush_down(*procs.entry(p), r1);
  run_all();
  BOOST_TEST(log == (std::vector<Term>{tuple(p, Term(Atom("keep"))), tuple(p, make_down(r2, Term(p), Term(Atom("normal"))))}));
}

BOOST_AUTO_TEST_SUITE_END()
