// The role host and its supervision, on one node without sockets: the node
// runs on a test-owned io_context driven with poll(), timers are a
// ManualTimerService and the restart clock is injected, so every restart,
// and the intensity limit, is deterministic.
#include "horde/role_host.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "cnode/node.hpp"
#include "support/polled_node.hpp"
#include "horde/registry_api.hpp"
#include "horde/supervisor_process.hpp"

using namespace hc;
using namespace hc::horde;
using namespace std::chrono_literals;

namespace {

const Atom kReg("Elixir.UnitReg");
const Atom kSup("Elixir.UnitSup");

// The polled node, with the injected restart clock.
struct LocalNode : hc::test::PolledNode {
  RestartIntensity::Clock::time_point now{};  // the injected restart clock

  std::function<RestartIntensity::Clock::time_point()> clock() {
    return [this] { return now; };
  }
  Pid idle_process() {
    return node->spawn_fn([](cnode::Process&, const Term&) {});
  }
  void send(cnode::Dest to, Term msg) {
    node->send(node->null_pid(), to, msg);
    settle();
  }
  std::optional<Pid> where(Atom name) { return node->whereis(name); }
  Term role_stats(Atom name) {
    Term all = RoleDirectory::of(*node).stats_term();
    const Term* r = all.map_get(Term(name));
    return r ? *r : Term(atom("none"));
  }
};

Pid start_registry(LocalNode& n) {
  RegistryOptions o;
  o.name = kReg;
  o.sync_interval = 50ms;
  o.clock = n.clock();
  auto pid = RegistryProcess::start(*n.node, o);
  BOOST_REQUIRE(pid.has_value());
  return *pid;
}


// A role that writes down what reaches it, in order: the host's turn order
// made visible. A call {put, K} puts K in the CRDT; a change of key `chain`
// makes the role put `chained` (a change caused by the role's answer to a
// change).
class RecordingRole final : public RoleHost {
 public:
  explicit RecordingRole(std::vector<std::string>& log)
      : RoleHost(Atom("Elixir.UnitRole"), "test.Recording", crdt_options(), nullptr), log_(log) {}

 protected:
  static CrdtPartOptions crdt_options() {
    CrdtPartOptions o;
    o.name = Atom("Elixir.UnitRole.Crdt");
    o.node_id = 7;
    return o;
  }
  void on_start() override { log_.push_back("start"); }
  std::optional<Term> on_call(const Term& request, const Term&) override {
    log_.push_back("call " + to_string(request));
    if (request.is_tuple(2) && request.element(0)->is_atom("put")) crdt_put(*request.element(1), Term(1));
    return Term(atom("ok"));
  }
  void on_info(const Term& message) override { log_.push_back("info " + to_string(message)); }
  void on_crdt_changes(std::vector<crdt::KeyChange> changes) override {
    for (const auto& c : changes) {
      log_.push_back("change " + to_string(c.key));
      if (c.key.is_atom("chain")) crdt_put(Term(atom("chained")), Term(1));
    }
  }

 private:
  std::vector<std::string>& log_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(role_host_test)

BOOST_AUTO_TEST_CASE(one_process_answers_as_n_and_n_crdt) {
  LocalNode n;
  Pid reg = start_registry(n);
  BOOST_TEST((n.where(kReg) == std::optional<Pid>(reg)));
  BOOST_TEST((n.where(crdt_name(kReg)) == std::optional<Pid>(reg)));
  BOOST_TEST(n.where(role_supervisor_name(kReg)).has_value());
}

BOOST_AUTO_TEST_CASE(crdt_changes_reach_the_role_in_the_same_turn) {
  LocalNode n;
  start_registry(n);
  Pid worker = n.idle_process();
  auto api = RegistryApi::find(*n.node, kReg);
  BOOST_REQUIRE(api.has_value());
  auto r = api->register_pid(worker, binary("w"), atom("v"));
  BOOST_REQUIRE(r.ok());
  // No poll in between: the CRDT's change already reached the view.
  auto* p = RegistryProcess::find(*n.node, kReg);
  BOOST_REQUIRE(p != nullptr);
  BOOST_TEST(p->state().find(binary("w")).has_value());
  BOOST_TEST(p->crdt().engine().state().size() >= 2u);  // the member key and the name
  BOOST_TEST(api->lookup(binary("w")).has_value());
}

BOOST_AUTO_TEST_CASE(turn_order_changes_reach_the_role_before_the_next_message) {
  LocalNode n;
  std::vector<std::string> log;
  cnode::SpawnOptions so;
  so.trap_exit = true;
  n.node->spawn(std::make_unique<RecordingRole>(log), so);
  n.settle();
  BOOST_REQUIRE(!log.empty());
  BOOST_TEST(log.front() == "start");
  log.clear();
  // Three messages queued before the host runs: a DeltaCrdt operation cast
  // on 'N.Crdt', a gen_server call on N whose answer puts a key, a plain
  // message. Each one's CRDT changes (and the changes the role's answer to
  // them causes) reach the role in that message's turn, before the next.
  const Pid caller = n.idle_process();
  n.node->send(n.node->null_pid(), cnode::Dest(Atom("Elixir.UnitRole.Crdt")),
               tuple(atom("$gen_cast"), tuple(atom("operation"), tuple(atom("add"), list(atom("chain"), Term(1))))));
  n.node->send(n.node->null_pid(), cnode::Dest(Atom("Elixir.UnitRole")),
               tuple(atom("$gen_call"), tuple(Term(caller), Term(7)), tuple(atom("put"), atom("k"))));
  n.node->send(n.node->null_pid(), cnode::Dest(Atom("Elixir.UnitRole")), Term(atom("ping")));
  n.settle();
  const std::vector<std::string> expected = {"change chain", "change chained", "call {put,k}", "change k", "info ping"};
  BOOST_TEST(log == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_large_slice_is_joined_over_several_turns_and_calls_are_served_in_between) {
  LocalNode n;
  std::vector<std::string> log;
  cnode::SpawnOptions so;
  so.trap_exit = true;
  const Pid host = n.node->spawn(std::make_unique<RecordingRole>(log), so);
  n.settle();
  log.clear();
  // A peer's slice of 50 000 names, as a cold join receives it.
  crdt::AWLWWMap peer;
  TermVector keys;
  for (int i = 0; i < 50'000; ++i) {
    keys.push_back(tuple(atom("key"), binary("name-" + std::to_string(i))));
    (void)peer.add(keys.back(), Term(i), 999, i);
  }
  Term slice = tuple(atom("diff"), peer.slice_term(keys, peer.context().to_term()), Term::list(keys));
  // The slice, then a call queued behind it.
  const Pid caller = n.idle_process();
  n.node->send(n.node->null_pid(), cnode::Dest(Atom("Elixir.UnitRole.Crdt")), slice);
  n.node->send(n.node->null_pid(), cnode::Dest(Atom("Elixir.UnitRole")),
               tuple(atom("$gen_call"), tuple(Term(caller), Term(7)), tuple(atom("put"), atom("probe"))));
  n.settle();
  // The call was served after the slice's first step (the slice came
  // first) and long before its last: the role saw most of the slice's
  // changes after it. (The first steps index the slice, so few or none
  // come before.)
  auto call = std::find(log.begin(), log.end(), "call {put,probe}");
  BOOST_REQUIRE(call != log.end());
  const auto before = std::count_if(log.begin(), call, [](const std::string& l) { return l.rfind("change {key,", 0) == 0; });
  const auto after = std::count_if(call, log.end(), [](const std::string& l) { return l.rfind("change {key,", 0) == 0; });
  BOOST_TEST(after > 40'000);
  BOOST_TEST(before + after == 50'000);
  BOOST_TEST((std::find(call, log.end(), "change probe") != log.end()));  // its own change, in its turn
  auto* role = dynamic_cast<RoleHost*>(n.node->find(host));
  BOOST_REQUIRE(role != nullptr);
  BOOST_TEST(role->crdt().engine().state().size() == 50'001u);
  BOOST_TEST(!role->crdt().engine().busy());
  const Term stats = role->crdt().stats_term();
  // 50 000 keys, CrdtPartOptions::kDefaultSliceChunkKeys a turn, then the hashes.
  BOOST_TEST(stats.map_get(Term(atom("slice_steps")))->as_int().value_or(0) >=
             static_cast<std::int64_t>(50'000 / CrdtPartOptions::kDefaultSliceChunkKeys));
}

BOOST_AUTO_TEST_CASE(exit_message_to_the_crdt_restarts_the_role_and_names_survive) {
  LocalNode n;
  Pid reg = start_registry(n);
  Pid worker = n.idle_process();
  auto api = RegistryApi::find(*n.node, kReg);
  BOOST_REQUIRE(api->register_pid(worker, binary("w"), atom("v")).ok());
  // send({'N.Crdt', Node}, {'EXIT', self(), kill}) from some unrelated process.
  n.send(crdt_name(kReg), tuple(atom("EXIT"), Term(n.idle_process()), atom("kill")));
  auto again = n.where(kReg);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(!(*again == reg));
  BOOST_TEST((n.where(crdt_name(kReg)) == again));
  BOOST_TEST(n.node->is_alive(worker));  // linked to the old host, but kept out of its crash
  auto hit = RegistryApi::find(*n.node, kReg)->lookup(binary("w"));
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->pid == worker));
  BOOST_TEST(*n.role_stats(kReg).map_get(Term(atom("restarts"))) == Term(1));
  BOOST_TEST(*n.role_stats(kReg).map_get(Term(atom("status"))) == Term(atom("running")));
  // The re-registered process is linked to the new host: its exit drops the name.
  n.node->exit_signal(n.node->null_pid(), worker, Term(atom("kill")));
  n.settle();
  BOOST_TEST(!RegistryApi::find(*n.node, kReg)->lookup(binary("w")).has_value());
}

BOOST_AUTO_TEST_CASE(exit_signals_restart_the_role) {
  LocalNode n;
  Pid reg = start_registry(n);
  n.node->exit_signal(n.node->null_pid(), reg, Term(atom("kill")));  // untrappable
  n.settle();
  auto second = n.where(kReg);
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(!(*second == reg));
  n.node->exit_signal(n.node->null_pid(), *second, Term(atom("boom")));  // trapped, from an unlinked pid
  n.settle();
  auto third = n.where(kReg);
  BOOST_REQUIRE(third.has_value());
  BOOST_TEST(!(*third == *second));
  n.send(kReg, tuple(atom("EXIT"), Term(n.idle_process()), atom("normal")));  // ignored, as DeltaCrdt does
  BOOST_TEST((n.where(kReg) == third));
}

BOOST_AUTO_TEST_CASE(names_of_an_already_dead_process_do_not_restart_the_role) {
  LocalNode n;
  Pid reg = start_registry(n);
  Pid gone = n.idle_process();
  n.node->exit_signal(n.node->null_pid(), gone, Term(atom("kill")));
  n.settle();
  BOOST_REQUIRE(!n.node->is_alive(gone));
  // Two names for it, as RegistryImpl's {register, ...} call takes them
  // (RegistryApi refuses a dead pid; a call from a peer or a name arriving
  // in a CRDT change does not check): each register and each CRDT change
  // links it, and each link to a dead process is answered
  // {'EXIT', Pid, noproc}, which the role takes as that process's exit, as
  // RegistryImpl does, not as a foreign exit that would cost a restart
  // (3 of them stop the role).
  auto* proc = RegistryProcess::find(*n.node, kReg);
  BOOST_REQUIRE(proc != nullptr);
  proc->local_call(RegisterCall{binary("a"), atom("v"), gone});
  proc->local_call(RegisterCall{binary("b"), atom("v"), gone});
  n.settle();
  BOOST_TEST((n.where(kReg) == std::optional<Pid>(reg)));
  BOOST_TEST(*n.role_stats(kReg).map_get(Term(atom("restarts"))) == Term(0));
  auto after = RegistryApi::find(*n.node, kReg);
  BOOST_TEST(!after->lookup(binary("a")).has_value());
  BOOST_TEST(!after->lookup(binary("b")).has_value());
  // A noproc exit message for a live process is still foreign: the role restarts.
  n.send(crdt_name(kReg), tuple(atom("EXIT"), Term(n.idle_process()), atom("noproc")));
  BOOST_TEST(!(n.where(kReg) == std::optional<Pid>(reg)));
}

BOOST_AUTO_TEST_CASE(intensity_exceeded_stops_the_role_and_says_so) {
  LocalNode n;
  start_registry(n);
  // Three restarts within 5 s are allowed (OTP's default 3 / 5 s) ...
  for (int i = 0; i < 3; ++i) {
    n.send(crdt_name(kReg), tuple(atom("EXIT"), Term(n.idle_process()), atom("kill")));
    BOOST_REQUIRE(n.where(kReg).has_value());
    n.now += 1s;
  }
  // ... after 6 s the oldest no longer counts.
  n.now += 3s;
  n.send(crdt_name(kReg), tuple(atom("EXIT"), Term(n.idle_process()), atom("kill")));
  BOOST_REQUIRE(n.where(kReg).has_value());
  // The fifth within 5 s of the last three: the role stops.
  n.send(crdt_name(kReg), tuple(atom("EXIT"), Term(n.idle_process()), atom("kill")));
  BOOST_TEST(!n.where(kReg).has_value());
  BOOST_TEST(!n.where(crdt_name(kReg)).has_value());
  BOOST_TEST(!n.where(role_supervisor_name(kReg)).has_value());
  BOOST_TEST(!RegistryApi::find(*n.node, kReg).has_value());
  BOOST_TEST(*n.role_stats(kReg).map_get(Term(atom("status"))) == Term(atom("stopped_restart_intensity_exceeded")));
  BOOST_TEST(RegistryProcess::running(*n.node).empty());
}

BOOST_AUTO_TEST_CASE(supervisor_children_keep_running_or_restart_once) {
  LocalNode n;
  SupervisorOptions o;
  o.name = kSup;
  o.sync_interval = 50ms;
  o.clock = n.clock();
  BOOST_REQUIRE(SupervisorProcess::start(*n.node, o).has_value());
  // start_child through a gen_server call from a throw-away process.
  std::optional<Term> reply;
  n.node->spawn_fn([](cnode::Process&, const Term&) {}, {}, [&](cnode::Process& self) {
    self.call(kSup, tuple(atom("start_child"), default_child_spec(Atom("Elixir.CppWorkers.Counter"), Term(0))), 1000ms,
              [&](cnode::CallResult r) { reply = r.ok() ? r.value() : r.reason(); });
  });
  n.settle();
  BOOST_REQUIRE(reply.has_value());
  BOOST_REQUIRE(reply->is_tuple(2));
  const Pid child = *reply->element(1)->as_pid();
  auto* sp = SupervisorProcess::find(*n.node, kSup);
  BOOST_REQUIRE(sp != nullptr);
  const Term id = sp->state().processes().begin()->first;

  // The host (N and 'N.Crdt') crashes: the child keeps running and is ours again.
  n.send(sup::crdt_name_of(kSup), tuple(atom("EXIT"), Term(n.idle_process()), atom("kill")));
  sp = SupervisorProcess::find(*n.node, kSup);
  BOOST_REQUIRE(sp != nullptr);
  BOOST_TEST(n.node->is_alive(child));
  BOOST_REQUIRE(sp->state().processes().count(id) == 1u);
  BOOST_TEST(sp->state().processes().at(id).pid == Term(child));
  BOOST_TEST(sp->state().local_process_count() == 1);

  // The ProcessesSupervisor crashes (its child dies with it): both restart
  // and the child is started once more, under the same id.
  n.node->exit_signal(n.node->null_pid(), *n.where(sup::processes_supervisor_name_of(kSup)), Term(atom("kill")));
  n.settle();
  BOOST_TEST(!n.node->is_alive(child));
  sp = SupervisorProcess::find(*n.node, kSup);
  BOOST_REQUIRE(sp != nullptr);
  BOOST_REQUIRE(sp->processes_supervisor() != nullptr);
  BOOST_TEST(sp->processes_supervisor()->child_count() == 1u);
  BOOST_REQUIRE(sp->state().processes().count(id) == 1u);
  const Term pid2 = sp->state().processes().at(id).pid;
  BOOST_TEST(!(pid2 == Term(child)));
  BOOST_TEST(n.node->is_alive(*pid2.as_pid()));
  BOOST_TEST(*n.role_stats(kSup).map_get(Term(atom("restarts"))) == Term(2));
}

BOOST_AUTO_TEST_SUITE_END()
