// The DynamicSupervisorImpl state machine: events in, actions out, with a
// fake local ProcessesSupervisor.
#include "horde/supervisor_state.hpp"

#include <boost/test/unit_test.hpp>

#include "horde/mixed_distribution.hpp"

using namespace hc;
using namespace hc::horde;
using namespace hc::horde::sup;

namespace {

const Atom kSup("Elixir.TestSup");
const Atom kSelf("cpp@127.0.0.1");
const Atom kOther("beam@127.0.0.1");
const Atom kThird("beam2@127.0.0.1");

Term name(Atom node) { return tuple(kSup, node); }
Term pid(std::uint32_t id, Atom node = kSelf) { return Term(Pid{node, id, 0, 1}); }
Term from(std::uint32_t n) { return tuple(pid(1000 + n, kOther), Term::list({Term(atom("alias"))}, Term(static_cast<std::int64_t>(n)))); }

// The local ProcessesSupervisor, faked: it runs the state machine's child
// actions.
struct FakeChildren {
  std::vector<Term> started, terminated;
  std::vector<std::pair<Term, Term>> signalled;
  std::uint32_t next = 100;
  Term fail_with;
  int stops = 0;
  Term start_child(const Term& spec) {
    started.push_back(spec);
    if (!fail_with.is_nil()) return tuple(atom("error"), fail_with);
    return tuple(atom("ok"), pid(next++));
  }
  Term terminate_child_by_id(const Term& id) {
    terminated.push_back(id);
    return Term(atom("ok"));
  }
};

// The state machine as its host drives it: each child action is executed
// on the fake where it stands, a start's result goes back through
// on_child_started, and what that answers follows in place. Returns every
// action (the child actions included, their replies as Reply actions).
class Driven {
 public:
  Driven(Config config, FakeChildren& children) : state_(std::move(config)), children_(children) {}

  Actions init(const std::optional<std::vector<Term>>& members) { return run(state_.init(members)); }
  Actions handle_call(const Term& request, const Term& from) { return run(state_.handle_call(request, from)); }
  Actions handle_cast(const Term& request) { return run(state_.handle_cast(request)); }
  Actions handle_info(const Term& message) { return run(state_.handle_info(message)); }
  Actions on_crdt_update(const std::vector<CrdtDiff>& diffs) { return run(state_.on_crdt_update(diffs)); }
  Actions on_member_down(const Term& member) { return run(state_.on_member_down(member)); }
  Actions set_members(const std::vector<Term>& members) { return run(state_.set_members(members)); }

  const std::map<Term, ChildEntry>& processes() const noexcept { return state_.processes(); }
  std::optional<Term> child_id_of_pid(const Term& pid) const { return state_.child_id_of_pid(pid); }
  std::int64_t local_process_count() const noexcept { return state_.local_process_count(); }
  ChooseResult choose_node(const Term& spec, std::vector<Member>& storage) const {
    return state_.choose_node(spec, storage);
  }

 private:
  Actions run(const Actions& in) {
    Actions out;
    for (const Action& a : in) {
      out.push_back(a);
      if (auto* start = std::get_if<StartChild>(&a)) {
        Actions more = run(state_.on_child_started(start->spec, children_.start_child(start->spec), start->from));
        out.insert(out.end(), more.begin(), more.end());
      } else if (auto* stop = std::get_if<TerminateChild>(&a)) {
        Term result = children_.terminate_child_by_id(stop->id);
        if (!stop->from.is_nil()) out.push_back(Reply{stop->from, result});
      } else if (auto* signal = std::get_if<SignalChild>(&a)) {
        children_.signalled.emplace_back(signal->pid, signal->reason);
      } else if (std::holds_alternative<StopChildren>(a)) {
        ++children_.stops;
      }
    }
    return out;
  }

  SupervisorState state_;
  FakeChildren& children_;
};

template <class T>
std::vector<T> all(const Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
  return out;
}

std::vector<CrdtOp> ops(const Actions& actions) {
  std::vector<CrdtOp> out;
  for (const auto& c : all<CrdtOps>(actions)) out.insert(out.end(), c.ops.begin(), c.ops.end());
  return out;
}

Term member_info(Atom node, const char* status) {
  return Member{name(node), *member_status_from_atom(Term(atom(status))), std::nullopt}.to_term();
}
CrdtDiff add(Term k, Term v) { return CrdtDiff::added(std::move(k), std::move(v)); }
Term spec_for(int i) {
  return Term::map({{Term(atom("id")), Term(atom("Elixir.W"))},
                    {Term(atom("start")), tuple(atom("Elixir.W"), atom("start_link"), list(i))}});
}

struct Fixture {
  FakeChildren children;
  std::uint64_t rnd = 0;
  Driven state{Config{kSup, kSelf, std::make_shared<UniformDistribution>(), std::nullopt, false, std::nullopt,
                               [this] { return ++rnd; }},
                        children};

  // Two alive members: self and kOther, as after CRDT convergence.
  void two_alive_members() {
    state.init(std::vector<Term>{name(kSelf), name(kOther)});
    state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), member_info(kOther, "alive"))});
  }
  // A spec index whose owner is `node` among the current members.
  int spec_owned_by(Atom node) {
    for (int i = 0; i < 1000; ++i) {
      std::vector<Member> storage;
      auto c = state.choose_node(spec_for(i), storage);
      if (c.ok() && c.member->name == name(node)) return i;
    }
    BOOST_FAIL("no spec found");
    return -1;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(supervisor_state_test)

BOOST_FIXTURE_TEST_CASE(init_puts_own_member_info_alive, Fixture) {
  auto actions = state.init(std::nullopt);
  auto o = ops(actions);
  BOOST_REQUIRE_EQUAL(o.size(), 1u);
  BOOST_TEST(o[0].key == tuple(atom("member_node_info"), name(kSelf)));
  BOOST_TEST(o[0].value == member_info(kSelf, "alive"));
  BOOST_TEST(is_struct(o[0].value, Atom("Elixir.Horde.DynamicSupervisor.Member")));
}

BOOST_FIXTURE_TEST_CASE(set_members_adds_member_keys_and_neighbours, Fixture) {
  auto actions = state.init(std::vector<Term>{name(kSelf), Term(kSup), name(kOther)});
  auto o = ops(actions);
  // own info, then merge {member, X} => 1 for both.
  BOOST_REQUIRE_EQUAL(o.size(), 3u);
  BOOST_TEST(o[1].key == tuple(atom("member"), name(kOther)));
  BOOST_TEST(o[2].key == tuple(atom("member"), name(kSelf)));
  auto n = all<SetNeighbours>(actions);
  BOOST_REQUIRE_EQUAL(n.size(), 1u);
  BOOST_TEST(n[0].neighbours == std::vector<Term>{tuple(atom("Elixir.TestSup.Crdt"), kOther)});
  BOOST_TEST(all<MonitorMember>(actions).empty());  // kOther not alive yet
  // Its info arrives: monitored.
  auto more = state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), member_info(kOther, "alive"))});
  BOOST_REQUIRE_EQUAL(all<MonitorMember>(more).size(), 1u);
  BOOST_TEST(all<MonitorMember>(more)[0].member == name(kOther));
  // Removing a member drops its keys.
  auto drop = ops(state.set_members({name(kSelf)}));
  BOOST_REQUIRE_EQUAL(drop.size(), 2u);
  BOOST_TEST((drop[0].kind == CrdtOp::Kind::remove));
  BOOST_TEST(drop[0].key == tuple(atom("member"), name(kOther)));
  BOOST_TEST(drop[1].key == tuple(atom("member_node_info"), name(kOther)));
}

BOOST_FIXTURE_TEST_CASE(start_child_local_starts_with_random_id_and_records_it, Fixture) {
  two_alive_members();
  const int i = spec_owned_by(kSelf);
  auto actions = state.handle_call(tuple(atom("start_child"), spec_for(i)), from(1));
  BOOST_REQUIRE_EQUAL(children.started.size(), 1u);
  const Term started = children.started[0];
  const Term id = *started.map_get("id");
  BOOST_TEST(id.is_integer());
  BOOST_TEST(!(id == Term(atom("Elixir.W"))));
  auto replies = all<Reply>(actions);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_TEST(replies[0].from == from(1));
  BOOST_TEST(replies[0].reply == tuple(atom("ok"), pid(100)));
  auto o = ops(actions);
  BOOST_REQUIRE_EQUAL(o.size(), 1u);
  BOOST_TEST(o[0].key == tuple(atom("process"), id));
  BOOST_TEST(o[0].value == tuple(name(kSelf), started, pid(100)));
  BOOST_TEST(state.local_process_count() == 1);
  BOOST_TEST(state.child_id_of_pid(pid(100)).value() == id);
}

BOOST_FIXTURE_TEST_CASE(start_child_elsewhere_is_proxied, Fixture) {
  two_alive_members();
  const int i = spec_owned_by(kOther);
  const Term request = tuple(atom("start_child"), spec_for(i));
  auto actions = state.handle_call(request, from(2));
  BOOST_TEST(children.started.empty());
  BOOST_TEST(all<Reply>(actions).empty());
  auto sends = all<Send>(actions);
  BOOST_REQUIRE_EQUAL(sends.size(), 1u);
  BOOST_TEST(sends[0].to == name(kOther));
  BOOST_TEST(sends[0].message == tuple(atom("proxy_operation"), request, from(2)));
}

BOOST_FIXTURE_TEST_CASE(proxied_start_child_with_ttl, Fixture) {
  two_alive_members();
  const int mine = spec_owned_by(kSelf), theirs = spec_owned_by(kOther);
  // A proxied request we own: started, reply goes to the original caller.
  auto a = state.handle_info(tuple(atom("proxy_operation"), tuple(atom("start_child"), spec_for(mine)), from(3)));
  BOOST_REQUIRE_EQUAL(all<Reply>(a).size(), 1u);
  BOOST_TEST(all<Reply>(a)[0].from == from(3));
  // With TTL 3 and not ours: forwarded with TTL 2.
  const Term req = tuple(atom("start_child"), spec_for(theirs));
  auto b = state.handle_info(tuple(atom("proxy_operation"), req, from(4), 3));
  BOOST_REQUIRE_EQUAL(all<Send>(b).size(), 1u);
  BOOST_TEST(all<Send>(b)[0].message == tuple(atom("proxy_operation"), req, from(4), 2));
  // TTL 1 -> 0: started here even though not ours.
  const auto before = children.started.size();
  auto c = state.handle_info(tuple(atom("proxy_operation"), req, from(5), 1));
  BOOST_TEST(children.started.size() == before + 1);
  BOOST_TEST(all<Send>(c).empty());
}

BOOST_FIXTURE_TEST_CASE(start_child_errors, Fixture) {
  state.init(std::vector<Term>{name(kSelf)});
  children.fail_with = tuple(atom("cpp_worker_kind_not_provided"), atom("Elixir.W"));
  auto a = state.handle_call(tuple(atom("start_child"), spec_for(1)), from(1));
  BOOST_TEST(all<Reply>(a)[0].reply == tuple(atom("error"), children.fail_with));
  BOOST_TEST(ops(a).empty());
  // Shutting down: refused with Horde's message.
  state.handle_call(Term(atom("horde_shutting_down")), from(2));
  auto b = state.handle_call(tuple(atom("start_child"), spec_for(1)), from(3));
  BOOST_TEST(all<Reply>(b)[0].reply ==
             tuple(atom("error"), tuple(atom("shutting_down"), binary("this node is shutting down."))));
  // Unknown request: an error, not a crash.
  auto c = state.handle_call(tuple(atom("nonsense"), 1), from(4));
  BOOST_TEST(all<Reply>(c)[0].reply == tuple(atom("error"), tuple(atom("bad_request"), tuple(atom("nonsense"), 1))));
}

BOOST_FIXTURE_TEST_CASE(no_alive_members_is_an_error, Fixture) {
  // Before init nothing is alive.
  auto a = state.handle_call(tuple(atom("start_child"), spec_for(1)), from(1));
  BOOST_TEST(all<Reply>(a)[0].reply == tuple(atom("error"), atom("no_alive_nodes")));
}

BOOST_FIXTURE_TEST_CASE(horde_shutting_down_marks_member, Fixture) {
  state.init(std::nullopt);
  auto a = state.handle_call(Term(atom("horde_shutting_down")), from(1));
  auto o = ops(a);
  BOOST_REQUIRE_EQUAL(o.size(), 1u);
  BOOST_TEST(o[0].value == member_info(kSelf, "shutting_down"));
  BOOST_TEST(all<Reply>(a)[0].reply == Term(atom("ok")));
}

BOOST_FIXTURE_TEST_CASE(terminate_child_local_remote_and_unknown, Fixture) {
  two_alive_members();
  state.handle_call(tuple(atom("start_child"), spec_for(spec_owned_by(kSelf))), from(1));
  const Term id = *children.started[0].map_get("id");
  auto a = state.handle_call(tuple(atom("terminate_child"), pid(100)), from(2));
  BOOST_TEST(children.terminated == std::vector<Term>{id});
  BOOST_TEST(all<Reply>(a)[0].reply == Term(atom("ok")));
  BOOST_TEST(ops(a)[0].key == tuple(atom("process"), id));
  BOOST_TEST((ops(a)[0].kind == CrdtOp::Kind::remove));
  // A child of kOther known through the CRDT: proxied.
  const Term other_pid = pid(7, kOther);
  state.on_crdt_update({add(tuple(atom("process"), 55), tuple(name(kOther), spec_for(1), other_pid))});
  const Term req = tuple(atom("terminate_child"), other_pid);
  auto b = state.handle_call(req, from(3));
  BOOST_REQUIRE_EQUAL(all<Send>(b).size(), 1u);
  BOOST_TEST(all<Send>(b)[0].message == tuple(atom("proxy_operation"), req, from(3)));
  auto c = state.handle_call(tuple(atom("terminate_child"), pid(999)), from(4));
  BOOST_TEST(all<Reply>(c)[0].reply == tuple(atom("error"), atom("not_found")));
}

BOOST_FIXTURE_TEST_CASE(member_down_marks_dead_and_new_owner_restarts_children, Fixture) {
  // Three members; a child of kOther that would belong to us once kOther is dead.
  state.init(std::vector<Term>{name(kSelf), name(kOther), name(kThird)});
  state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), member_info(kOther, "alive")),
                        add(tuple(atom("member_node_info"), name(kThird)), member_info(kThird, "alive"))});
  // Find a spec owned by kOther now and by self after kOther dies.
  int idx = -1;
  for (int i = 0; i < 2000 && idx < 0; ++i) {
    std::vector<Member> storage;
    auto now = state.choose_node(spec_for(i), storage);
    if (!now.ok() || !(now.member->name == name(kOther))) continue;
    std::vector<Member> after{Member{name(kSelf), MemberStatus::alive, std::nullopt},
                              Member{name(kThird), MemberStatus::alive, std::nullopt}};
    if (UniformDistribution().choose_node(spec_for(i), after).member->name == name(kSelf)) idx = i;
  }
  BOOST_REQUIRE_GE(idx, 0);
  const Term spec = with_child_id(spec_for(idx), Term(4242));
  state.on_crdt_update({add(tuple(atom("process"), 4242), tuple(name(kOther), spec, pid(9, kOther)))});
  BOOST_TEST(state.processes().size() == 1u);

  auto down = state.on_member_down(name(kOther));
  auto o = ops(down);
  BOOST_REQUIRE_GE(o.size(), 1u);
  BOOST_TEST(o[0].key == tuple(atom("member_node_info"), name(kOther)));
  BOOST_TEST(o[0].value == member_info(kOther, "dead"));
  BOOST_TEST(children.started.empty());  // only once the CRDT reports it
  BOOST_TEST(state.on_member_down(name(kOther)).empty());  // second DOWN: nothing

  auto update = state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), o[0].value)});
  BOOST_REQUIRE_EQUAL(children.started.size(), 1u);
  const Term new_id = *children.started[0].map_get("id");
  BOOST_TEST(!(new_id == Term(4242)));  // Horde re-randomises the id
  auto uo = ops(update);
  BOOST_TEST(std::any_of(uo.begin(), uo.end(), [](const CrdtOp& op) {
    return op.kind == CrdtOp::Kind::remove && op.key == tuple(atom("process"), 4242);
  }));
  BOOST_TEST(std::any_of(uo.begin(), uo.end(), [&](const CrdtOp& op) {
    return op.kind == CrdtOp::Kind::add && op.key == tuple(atom("process"), new_id);
  }));
  // The same DOWN information once more changes nothing.
  state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), o[0].value)});
  BOOST_TEST(children.started.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(children_of_a_shutting_down_member_are_taken_over_when_released, Fixture) {
  two_alive_members();
  const int i = spec_owned_by(kSelf);
  // The other member shuts down: its info changes, it releases its child.
  state.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), member_info(kOther, "shutting_down"))});
  const Term spec = with_child_id(spec_for(i), Term(77));
  state.on_crdt_update({add(tuple(atom("process"), 77), tuple(atom("nil"), spec))});
  BOOST_REQUIRE_EQUAL(children.started.size(), 1u);
  BOOST_TEST(children.started[0] == spec);  // same id on a hand-off
}

BOOST_FIXTURE_TEST_CASE(processes_supervisor_casts, Fixture) {
  two_alive_members();
  state.handle_call(tuple(atom("start_child"), spec_for(spec_owned_by(kSelf))), from(1));
  const Term started = children.started[0];
  const Term id = *started.map_get("id");
  // Restarted with a new pid.
  auto a = state.handle_cast(tuple(atom("update_child_pid"), id, pid(555)));
  BOOST_TEST(ops(a)[0].value == tuple(name(kSelf), started, pid(555)));
  BOOST_TEST(state.child_id_of_pid(pid(555)).value() == id);
  BOOST_TEST(!state.child_id_of_pid(pid(100)));
  // Relinquished on shutdown: {nil, Spec}.
  auto b = state.handle_cast(tuple(atom("relinquish_child_process"), id));
  BOOST_TEST(ops(b)[0].value == tuple(atom("nil"), started));
  // Disowned (temporary child exited): deleted.
  auto c = state.handle_cast(tuple(atom("disown_child_process"), id));
  BOOST_TEST((ops(c)[0].kind == CrdtOp::Kind::remove));
  BOOST_TEST(state.processes().empty());
  BOOST_TEST(state.local_process_count() == 0);
}

BOOST_FIXTURE_TEST_CASE(which_and_count_children_fan_out_to_every_member, Fixture) {
  two_alive_members();
  auto a = state.handle_call(Term(atom("which_children")), from(1));
  auto cc = all<CollectChildren>(a);
  BOOST_REQUIRE_EQUAL(cc.size(), 1u);
  BOOST_TEST((cc[0].kind == CollectChildren::Kind::which));
  BOOST_TEST(cc[0].supervisors.size() == 2u);
  BOOST_TEST(cc[0].supervisors[0] == tuple(atom("Elixir.TestSup.ProcessesSupervisor"), kOther));
  const Term w = finish_which_children({list(tuple(12, pid(1), atom("worker"), list(atom("Elixir.W")))),
                                        list(tuple(13, pid(2), atom("worker"), list(atom("Elixir.X"))))});
  BOOST_TEST(w == list(tuple(atom("undefined"), pid(1), atom("worker"), list(atom("Elixir.W"))),
                       tuple(atom("undefined"), pid(2), atom("worker"), list(atom("Elixir.X")))));
  auto kw = [](int s, int a2, int su, int wk) {
    return list(tuple(atom("specs"), s), tuple(atom("active"), a2), tuple(atom("supervisors"), su), tuple(atom("workers"), wk));
  };
  const Term c = finish_count_children({kw(1, 1, 0, 1), kw(2, 1, 0, 2)});
  BOOST_TEST(c == Term::map({{Term(atom("active")), Term(2)}, {Term(atom("specs")), Term(3)},
                             {Term(atom("supervisors")), Term(0)}, {Term(atom("workers")), Term(3)}}));
  BOOST_TEST(finish_count_children({}) == Term::map({}));
}

BOOST_FIXTURE_TEST_CASE(mixed_strategy_advertises_kinds_in_member_info, Fixture) {
  FakeChildren kids;
  const Atom counter("Elixir.CppWorkers.Counter");
  Driven s(Config{kSup, kSelf, std::make_shared<MixedDistribution>(), std::nullopt, false,
                           std::vector<Atom>{counter}, [] { return 1ull; }},
                    kids);
  auto a = s.init(std::vector<Term>{name(kSelf), name(kOther)});
  const Term info = ops(a)[0].value;
  BOOST_TEST(*info.map_get("cpp_worker_kinds") == list(counter));
  s.on_crdt_update({add(tuple(atom("member_node_info"), name(kOther)), member_info(kOther, "alive"))});
  // C++ kinds always start here; Elixir children are always proxied to the BEAM member.
  for (int i = 0; i < 20; ++i) {
    auto r = s.handle_call(tuple(atom("start_child"), Term::map({{Term(atom("id")), Term(i)},
                                                                 {Term(atom("start")), tuple(counter, atom("start_link"), list(i))}})),
                           from(i));
    BOOST_TEST(all<Send>(r).empty());
    auto e = s.handle_call(tuple(atom("start_child"), spec_for(i)), from(i));
    BOOST_TEST(all<Send>(e).size() == 1u);
  }
  BOOST_TEST(kids.started.size() == 20u);
}

BOOST_AUTO_TEST_SUITE_END()
