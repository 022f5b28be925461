// The pure Horde.Registry state machine: event in, actions out, checked
// against what Horde.RegistryImpl (0.10.0) does for the same event.
#include "horde/registry_state.hpp"

#include <boost/test/unit_test.hpp>

#include <malloc.h>

#include <map>
#include <string>

#include "interop/error_condition.hpp"

using namespace hc;
using namespace hc::horde;

namespace {

const Atom kN("Elixir.Test.Registry");
const Atom kSelfNode("cpp@127.0.0.1");
const Atom kOtherNode("beam@127.0.0.1");
const Pid kRegistryPid{kSelfNode, 1, 0, 7};

Pid local_pid(std::uint32_t id) { return Pid{kSelfNode, id, 0, 7}; }
Pid remote_pid(std::uint32_t id) { return Pid{kOtherNode, id, 0, 3}; }
RegistryMember other_member() { return {kN, kOtherNode}; }

// A one-replica stand-in for 'N.Crdt': executes CrdtOpsActions on a map and
// returns the diffs DeltaCrdt would report (only keys whose read value changed).
struct FakeCrdt {
  std::map<Term, Term> map;
  std::vector<CrdtDiff> apply(const RegistryActions& actions) {
    std::vector<CrdtDiff> diffs;
    for (const auto& a : actions) {
      const auto* ops = std::get_if<CrdtOpsAction>(&a);
      if (ops == nullptr) continue;
      for (const auto& op : ops->ops) {
        auto it = map.find(op.key);
        if (op.kind == CrdtOp::Kind::Add) {
          if (it != map.end() && it->second == op.value) continue;
          map[op.key] = op.value;
          diffs.push_back(CrdtDiff::added(op.key, op.value));
        } else if (op.removes(it == map.end() ? nullptr : &it->second)) {
          map.erase(it);
          diffs.push_back(CrdtDiff::removed(op.key));
        }
      }
    }
    return diffs;
  }
};

template <typename A>
std::vector<A> all_of(const RegistryActions& actions) {
  std::vector<A> out;
  for (const auto& a : actions)
    if (const auto* x = std::get_if<A>(&a)) out.push_back(*x);
  return out;
}

// A registry that has run init and absorbed its own member diff.
struct Fixture {
  RegistryState state{{kN, kSelfNode, kRegistryPid}};
  FakeCrdt crdt;
  Fixture() { settle(state.init({})); }
  // Run the actions' CRDT ops and feed the resulting diffs back, like the
  // adapter does, until quiet. Returns every action produced on the way.
  RegistryActions settle(RegistryActions actions) {
    RegistryActions all = actions;
    for (int i = 0; i < 10; ++i) {
      auto diffs = crdt.apply(actions);
      if (diffs.empty()) break;
      actions = state.on_crdt_diffs(diffs);
      all.insert(all.end(), actions.begin(), actions.end());
    }
    return all;
  }
  Term call(const Term& request, RegistryActions* actions = nullptr) {
    auto parsed = parse_registry_call(request);
    BOOST_REQUIRE_MESSAGE(parsed.ok(), "parse: " << request);
    Term reply;
    auto out = settle(state.handle_call(*parsed, reply));
    if (actions != nullptr) *actions = out;
    return reply;
  }
  void remote_add(const Term& name, const Pid& pid, const Term& value, RegistryActions* actions = nullptr) {
    auto out = state.on_crdt_diffs(std::vector{
        CrdtDiff::added(CrdtKey::name_key(name), KeyValue{other_member(), pid, value}.to_term())});
    if (actions != nullptr) *actions = out;
  }
  void join_other() {
    settle(state.on_crdt_diffs(std::vector{CrdtDiff::added(CrdtKey::member_key(other_member()), Term(1))}));
  }
};

bool always_alive(const Pid&) { return true; }

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_state_test)

BOOST_AUTO_TEST_CASE(init_merges_members_and_sets_other_members_as_neighbours) {
  RegistryState state({kN, kSelfNode, kRegistryPid});
  auto actions = state.init({MemberSpec{kN, kOtherNode}, MemberSpec{kN, std::nullopt}});
  auto ops = all_of<CrdtOpsAction>(actions);
  BOOST_REQUIRE_EQUAL(ops.size(), 1u);
  BOOST_REQUIRE_EQUAL(ops[0].ops.size(), 2u);  // self given twice (bare + implicit): one key
  for (const auto& op : ops[0].ops) {
    BOOST_TEST((op.kind == CrdtOp::Kind::Add));
    BOOST_TEST(op.value == Term(1));
  }
  BOOST_TEST(ops[0].ops[0].key == tuple(atom("member"), tuple(kN, kOtherNode)));  // term order
  BOOST_TEST(ops[0].ops[1].key == tuple(atom("member"), tuple(kN, kSelfNode)));
  auto n = all_of<SetNeighboursAction>(actions);
  BOOST_REQUIRE_EQUAL(n.size(), 1u);
  BOOST_REQUIRE_EQUAL(n[0].neighbours.size(), 1u);
  BOOST_TEST(n[0].neighbours[0] == tuple(atom("Elixir.Test.Registry.Crdt"), kOtherNode));
  // The members table is filled at once (lookup works before any diff);
  // State.members only from diffs.
  BOOST_TEST(state.member_in_cluster(other_member()));
  BOOST_TEST(state.members().empty());
}

BOOST_AUTO_TEST_CASE(register_links_puts_and_replies_ok_registry_pid) {
  Fixture f;
  RegistryActions actions;
  const Pid p = local_pid(10);
  Term reply = f.call(tuple(atom("register"), binary("alpha"), Term(atom("nil")), p), &actions);
  BOOST_TEST(reply == tuple(atom("ok"), kRegistryPid));
  BOOST_TEST(std::holds_alternative<LinkAction>(actions.at(0)));
  const auto& put = std::get<CrdtOpsAction>(actions.at(1));
  BOOST_REQUIRE_EQUAL(put.ops.size(), 1u);
  BOOST_TEST(put.ops[0].key == tuple(atom("key"), binary("alpha")));
  BOOST_TEST(put.ops[0].value == tuple(tuple(kN, kSelfNode), p, atom("nil")));
  auto notes = all_of<NotifyAction>(actions);
  BOOST_REQUIRE_EQUAL(notes.size(), 1u);
  BOOST_TEST(notes[0].event.to_term() == tuple(atom("register"), kN, binary("alpha"), p, atom("nil")));
  auto e = f.state.lookup(binary("alpha"), always_alive);
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->pid == p);
  BOOST_TEST(e->value == Term(atom("nil")));
  BOOST_TEST(f.state.count() == 1u);
  BOOST_TEST(f.state.keys_of(p) == std::vector<Term>{binary("alpha")});
}

BOOST_AUTO_TEST_CASE(lookup_checks_membership_and_liveness) {
  Fixture f;
  const Pid r = remote_pid(5);
  f.remote_add(atom("gamma"), r, Term(1));
  BOOST_TEST(f.state.count() == 1u);
  // The owning member is not in the members table yet: like Horde, not found.
  BOOST_TEST(!f.state.lookup(atom("gamma"), always_alive).has_value());
  f.join_other();
  BOOST_TEST(f.state.lookup(atom("gamma"), always_alive).has_value());
  BOOST_TEST(!f.state.lookup(atom("gamma"), [](const Pid&) { return false; }).has_value());
  BOOST_TEST(!f.state.lookup(atom("missing"), always_alive).has_value());
}

BOOST_AUTO_TEST_CASE(unregister_deletes_the_crdt_key_and_the_local_view) {
  Fixture f;
  const Pid p = local_pid(10);
  f.call(tuple(atom("register"), atom("k"), Term(1), p));
  RegistryActions actions;
  BOOST_TEST(f.call(tuple(atom("unregister"), atom("k"), p), &actions) == Term(atom("ok")));
  const auto& del = std::get<CrdtOpsAction>(actions.at(0));
  BOOST_TEST((del.ops.at(0).kind == CrdtOp::Kind::Remove));
  BOOST_TEST(del.ops.at(0).key == tuple(atom("key"), atom("k")));
  BOOST_TEST(f.state.count() == 0u);
  BOOST_TEST(f.state.keys_of(p).empty());
  BOOST_TEST(f.crdt.map.count(tuple(atom("key"), atom("k"))) == 0u);
  // The listeners hear about it once from the call (unregister_local/3);
  // the later {remove, _} diff finds nothing left.
  auto notes = all_of<NotifyAction>(actions);
  BOOST_REQUIRE_EQUAL(notes.size(), 1u);
  BOOST_TEST(notes[0].event.to_term() == tuple(atom("unregister"), kN, atom("k"), p));
}

BOOST_AUTO_TEST_CASE(unregister_by_a_non_owner_still_deletes_the_crdt_key) {
  // RegistryImpl deletes {key, K} whatever pid asks; the owner's entry then
  // goes with the {remove, _} diff.
  Fixture f;
  f.call(tuple(atom("register"), atom("k"), Term(1), local_pid(10)));
  f.call(tuple(atom("unregister"), atom("k"), local_pid(11)));
  BOOST_TEST(f.state.count() == 0u);
}

BOOST_AUTO_TEST_CASE(conflicting_registration_exits_the_local_loser) {
  Fixture f;
  f.join_other();
  const Pid loser = local_pid(10);
  const Pid winner = remote_pid(20);
  f.call(tuple(atom("register"), binary("x"), atom("mine"), loser));
  RegistryActions actions;
  f.remote_add(binary("x"), winner, atom("theirs"), &actions);
  auto exits = all_of<ExitAction>(actions);
  BOOST_REQUIRE_EQUAL(exits.size(), 1u);
  BOOST_TEST(exits[0].pid == loser);
  BOOST_TEST(exits[0].reason ==
             tuple(atom("name_conflict"), tuple(binary("x"), atom("mine")), kN, winner));
  auto e = f.state.lookup(binary("x"), always_alive);
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->pid == winner);
  BOOST_TEST(f.state.keys_of(loser).empty());
  // Listeners: unregister of the loser, then register of the winner.
  auto notes = all_of<NotifyAction>(actions);
  BOOST_REQUIRE_EQUAL(notes.size(), 2u);
  BOOST_TEST((notes[0].event.kind == ListenerEvent::Kind::Unregister));
  BOOST_TEST(notes[0].event.pid == loser);
  BOOST_TEST((notes[1].event.kind == ListenerEvent::Kind::Register));
  // The loser's later EXIT finds nothing to drop.
  BOOST_TEST(all_of<CrdtOpsAction>(f.state.on_exit(loser)).empty());
}

BOOST_AUTO_TEST_CASE(same_pid_value_update_is_not_a_conflict) {
  Fixture f;
  const Pid p = local_pid(10);
  f.call(tuple(atom("register"), atom("k"), Term(1), p));
  RegistryActions actions;
  BOOST_TEST(f.call(tuple(atom("update_value"), atom("k"), p, Term(2)), &actions) == Term(atom("ok")));
  BOOST_TEST(all_of<ExitAction>(actions).empty());
  BOOST_TEST(f.state.find(atom("k"))->value == Term(2));
  BOOST_TEST(f.crdt.map.at(tuple(atom("key"), atom("k"))) == tuple(tuple(kN, kSelfNode), p, Term(2)));
}

BOOST_AUTO_TEST_CASE(exit_of_a_registered_process_drops_all_its_keys) {
  Fixture f;
  const Pid p = local_pid(10);
  const Pid q = local_pid(11);
  for (int i = 0; i < 1000; ++i) f.call(tuple(atom("register"), Term(i), atom("nil"), p));
  f.call(tuple(atom("register"), atom("other"), atom("nil"), q));
  BOOST_TEST(f.state.count() == 1001u);
  BOOST_TEST(f.state.keys_of(p).size() == 1000u);
  auto actions = f.settle(f.state.on_exit(p));
  const auto& drop = std::get<CrdtOpsAction>(actions.at(0));
  BOOST_TEST(drop.ops.size() == 1000u);
  BOOST_TEST(f.state.count() == 1u);
  BOOST_TEST(f.state.keys_of(p).empty());
  BOOST_TEST(f.crdt.map.size() == 2u);  // {member, self} and {key, other}
  BOOST_TEST(all_of<NotifyAction>(actions).size() == 1000u);
  BOOST_TEST(f.state.on_exit(p).empty());
}

// The loser's EXIT can be handled after the local CRDT already holds the
// winner (its diff not yet processed): the drop must not take the winner's
// name with it.
BOOST_AUTO_TEST_CASE(exit_drop_spares_a_name_the_crdt_gave_to_another_pid) {
  Fixture f;
  f.join_other();
  const Pid loser = local_pid(10);
  const Pid winner = remote_pid(20);
  f.call(tuple(atom("register"), binary("x"), Term(0), loser));
  // The CRDT joins the winner's entry; the diff is still queued.
  f.crdt.map[CrdtKey::name_key(binary("x"))] = KeyValue{other_member(), winner, Term(1)}.to_term();
  auto actions = f.state.on_exit(loser);
  const auto& drop = std::get<CrdtOpsAction>(actions.at(0));
  BOOST_REQUIRE_EQUAL(drop.ops.size(), 1u);
  BOOST_TEST(*drop.ops[0].if_pid == loser);
  f.crdt.apply(actions);
  BOOST_TEST(f.crdt.map.count(CrdtKey::name_key(binary("x"))) == 1u);
  f.remote_add(binary("x"), winner, Term(1));
  BOOST_TEST(f.state.lookup(binary("x"), always_alive)->pid == winner);
}

BOOST_AUTO_TEST_CASE(remove_member_drops_its_keys_and_updates_neighbours) {
  Fixture f;
  f.join_other();
  f.remote_add(atom("a"), remote_pid(1), Term(1));
  f.remote_add(atom("b"), remote_pid(2), Term(2));
  f.call(tuple(atom("register"), atom("mine"), Term(3), local_pid(9)));
  BOOST_TEST(f.state.count() == 3u);
  auto actions = f.state.on_crdt_diffs(std::vector{CrdtDiff::removed(CrdtKey::member_key(other_member()))});
  auto drops = all_of<CrdtOpsAction>(actions);
  BOOST_REQUIRE_EQUAL(drops.size(), 1u);
  BOOST_TEST(drops[0].ops.size() == 2u);
  BOOST_TEST(f.state.count() == 1u);
  BOOST_TEST(f.state.find(atom("mine")).has_value());
  BOOST_TEST(!f.state.member_in_cluster(other_member()));
  auto n = all_of<SetNeighboursAction>(actions);
  BOOST_REQUIRE_EQUAL(n.size(), 1u);
  BOOST_TEST(n[0].neighbours.empty());
}

BOOST_AUTO_TEST_CASE(set_members_drops_and_merges_and_replies_ok) {
  Fixture f;
  RegistryActions actions;
  // One bare name (this node) and one qualified one.
  Term reply = f.call(tuple(atom("set_members"), list(kN, tuple(kN, kOtherNode))), &actions);
  BOOST_TEST(reply == Term(atom("ok")));
  BOOST_TEST(f.call(atom("members")) == list(tuple(kN, kOtherNode), tuple(kN, kSelfNode)));
  BOOST_TEST(f.state.member_in_cluster(other_member()));
  auto n = all_of<SetNeighboursAction>(actions);
  BOOST_REQUIRE(!n.empty());
  BOOST_TEST(n[0].neighbours == std::vector<Term>{tuple(atom("Elixir.Test.Registry.Crdt"), kOtherNode)});

  f.remote_add(atom("a"), remote_pid(1), Term(1));
  // Leave the other member out again: its member key and names go.
  f.call(tuple(atom("set_members"), list(tuple(kN, kSelfNode))), &actions);
  BOOST_TEST(f.call(atom("members")) == list(tuple(kN, kSelfNode)));
  BOOST_TEST(!f.state.member_in_cluster(other_member()));
  BOOST_TEST(f.state.count() == 0u);
}

BOOST_AUTO_TEST_CASE(meta_put_delete_and_diffs) {
  Fixture f;
  BOOST_TEST(f.call(tuple(atom("put_meta"), atom("m"), Term(1))) == Term(atom("ok")));
  BOOST_TEST(*f.state.meta(atom("m")) == Term(1));
  BOOST_TEST(f.crdt.map.at(tuple(atom("registry"), atom("m"))) == Term(1));
  BOOST_TEST(f.call(tuple(atom("delete_meta"), atom("m"))) == Term(atom("ok")));
  BOOST_TEST(!f.state.meta(atom("m")).has_value());
  f.state.on_crdt_diffs(std::vector{CrdtDiff::added(CrdtKey::meta_key(atom("r")), binary("v"))});
  BOOST_TEST(*f.state.meta(atom("r")) == binary("v"));
  f.state.on_crdt_diffs(std::vector{CrdtDiff::removed(CrdtKey::meta_key(atom("r")))});
  BOOST_TEST(!f.state.meta(atom("r")).has_value());
}

BOOST_AUTO_TEST_CASE(remote_registrations_do_not_link) {
  Fixture f;
  RegistryActions actions;
  f.remote_add(atom("a"), remote_pid(1), Term(1), &actions);
  BOOST_TEST(all_of<LinkAction>(actions).empty());
  f.state.on_crdt_diffs(std::vector{CrdtDiff::added(CrdtKey::name_key(atom("b")),
                                                    KeyValue{other_member(), local_pid(4), Term(1)}.to_term())});
  // ... but a local pid registered elsewhere (after a restart) is linked.
  BOOST_TEST(f.state.keys_of(local_pid(4)) == std::vector<Term>{atom("b")});
}

// Malformed diffs: RegistryImpl would crash; we report and change nothing.
BOOST_AUTO_TEST_CASE(malformed_diffs_are_reported_and_ignored) {
  Fixture f;
  f.join_other();
  f.call(tuple(atom("register"), atom("keep"), Term(1), local_pid(3)));
  const std::size_t before = f.state.count();
  const std::vector<CrdtDiff> bad = {
      CrdtDiff::added(atom("plain"), Term(1)),                                    // not a registry key
      CrdtDiff::added(tuple(atom("what"), Term(1)), Term(1)),                     // unknown tag
      CrdtDiff::added(tuple(atom("member"), Term(1)), Term(1)),                   // member not {N, Node}
      CrdtDiff::added(tuple(atom("member"), tuple(kN, binary("n"))), Term(1)),    // node not an atom
      CrdtDiff::added(CrdtKey::member_key(other_member()), Term(2)),              // value not 1
      CrdtDiff::added(CrdtKey::name_key(atom("keep")), Term(1)),                  // value not a 3-tuple
      CrdtDiff::added(CrdtKey::name_key(atom("keep")), tuple(Term(1), local_pid(1), Term(1))),
      CrdtDiff::added(CrdtKey::name_key(atom("keep")), tuple(tuple(kN, kSelfNode), atom("notpid"), Term(1))),
      CrdtDiff::removed(tuple(Term(1), Term(2), Term(3))),
  };
  for (const auto& d : bad) {
    auto actions = f.state.on_crdt_diffs(std::vector{d});
    BOOST_REQUIRE_EQUAL(actions.size(), 1u);
    BOOST_TEST_MESSAGE(std::get<ProblemAction>(actions[0]).what);
    BOOST_TEST(std::holds_alternative<ProblemAction>(actions[0]));
  }
  BOOST_TEST(f.state.count() == before);
  BOOST_TEST(f.state.find(atom("keep"))->pid == local_pid(3));
  BOOST_TEST(f.state.member_in_cluster(other_member()));
}

BOOST_AUTO_TEST_CASE(malformed_calls_get_an_error_reply) {
  Fixture f;
  const std::vector<Term> bad = {
      atom("nonsense"),
      tuple(atom("register"), atom("k"), Term(1), atom("notapid")),
      tuple(atom("register"), atom("k"), Term(1)),
      tuple(atom("unregister"), atom("k"), Term(1)),
      tuple(atom("update_value"), atom("k"), Term(1), Term(1)),
      tuple(atom("set_members"), atom("notalist")),
      tuple(atom("set_members"), list(Term(1))),
      tuple(atom("set_members"), Term::list({Term(kN)}, Term(1))),
      tuple(atom("put_meta"), atom("k")),
      tuple(),
  };
  for (const auto& req : bad) {
    auto parsed = parse_registry_call(req);
    BOOST_TEST_REQUIRE(!parsed.ok(), req);
    BOOST_TEST((parsed.error() == make_error_code(MessageErrc::bad_shape)), req);
    BOOST_TEST((parsed.error() == hc::errc::protocol_violation), req);
    BOOST_TEST(!parsed.what().empty(), req);  // says which part of the request was wrong
    Term reply;
    auto actions = f.state.handle_bad_call(req, parsed.failure(), reply);
    BOOST_TEST(reply == tuple(atom("error"), tuple(atom("bad_request"), req)));
    BOOST_TEST(std::holds_alternative<ProblemAction>(actions.at(0)));
  }
}

BOOST_AUTO_TEST_CASE(messages_round_trip) {
  const Pid p = local_pid(1);
  const std::vector<Term> calls = {
      atom("members"),
      tuple(atom("set_members"), list(kN, tuple(kN, kOtherNode))),
      tuple(atom("register"), binary("k"), Term(1), p),
      tuple(atom("unregister"), binary("k"), p),
      tuple(atom("update_value"), binary("k"), p, Term(2)),
      tuple(atom("put_meta"), atom("m"), Term(1)),
      tuple(atom("delete_meta"), atom("m")),
  };
  for (const auto& c : calls) {
    auto parsed = parse_registry_call(c);
    BOOST_TEST_REQUIRE(parsed.ok(), c);
    BOOST_TEST(to_term(*parsed) == c);
  }
  const Term ev = tuple(atom("register"), kN, atom("k"), p, Term(3));
  BOOST_TEST(ListenerEvent::from_term(ev)->to_term() == ev);
  const Term conflict = tuple(atom("name_conflict"), tuple(atom("k"), Term(3)), kN, p);
  BOOST_TEST(NameConflict::from_term(conflict)->to_term() == conflict);
  BOOST_TEST(crdt_name(kN) == atom("Elixir.Test.Registry.Crdt"));
  BOOST_TEST(!NameConflict::from_term(tuple(atom("name_conflict"), Term(1), kN, p)).ok());
  BOOST_TEST(!KeyValue::from_term(tuple(tuple(kN, kSelfNode), p)).ok());
}

// The view stores Name and Value packed, inline up to a few dozen bytes and
// in a separate block beyond: every size on both sides of that limit, and
// updates that move an entry across it, read back exactly.
BOOST_AUTO_TEST_CASE(names_and_values_of_every_size_read_back) {
  Fixture f;
  f.join_other();
  auto name = [](std::size_t len) { return binary(std::string(len, static_cast<char>('a' + len % 26))); };
  auto value = [](std::size_t len) { return len == 0 ? Term(atom("nil")) : binary(std::string(len, 'v')); };
  for (std::size_t len = 0; len < 48; ++len) f.remote_add(name(len), remote_pid(100 + len), value(len));
  // Values grow and shrink under the same names (inline <-> spilled).
  for (std::size_t len = 0; len < 48; len += 2) f.remote_add(name(len), remote_pid(100 + len), value(47 - len));
  for (std::size_t len = 0; len < 48; len += 4) f.remote_add(name(len), remote_pid(100 + len), value(len % 3));
  BOOST_TEST(f.state.count() == 48u);
  auto expected = [&](std::size_t len) {
    if (len % 4 == 0) return value(len % 3);
    if (len % 2 == 0) return value(47 - len);
    return value(len);
  };
  for (std::size_t len = 0; len < 48; ++len) {
    auto e = f.state.lookup(name(len), always_alive);
    BOOST_REQUIRE_MESSAGE(e.has_value(), "name of " << len << " bytes");
    BOOST_TEST(e->value == expected(len));
    BOOST_TEST(e->pid == remote_pid(100 + len));
  }
  std::size_t visited = 0;
  f.state.for_each([&](const Term& n, const RegistryEntry& e) {
    ++visited;
    BOOST_TEST(e.value == expected(n.as_binary()->size()));
  });
  BOOST_TEST(visited == 48u);
  // Removed names free their entries; new ones reuse them.
  for (std::size_t len = 0; len < 48; len += 3)
    f.state.on_crdt_diffs(std::vector{CrdtDiff::removed(CrdtKey::name_key(name(len)))});
  BOOST_TEST(f.state.count() == 32u);
  for (std::size_t len = 0; len < 48; len += 3) {
    BOOST_TEST(!f.state.find(name(len)).has_value());
    f.remote_add(tuple(atom("again"), Term(static_cast<std::int64_t>(len))), remote_pid(7), value(len));
  }
  for (std::size_t len = 0; len < 48; len += 3)
    BOOST_TEST(f.state.find(tuple(atom("again"), Term(static_cast<std::int64_t>(len))))->value == value(len));
  for (std::size_t len = 1; len < 48; len += 3) BOOST_TEST(f.state.find(name(len))->value == expected(len));
}

// `stats` reports memory_bytes(): it must be what the view holds from malloc.
BOOST_AUTO_TEST_CASE(memory_bytes_tracks_malloc_in_use) {
  constexpr std::uint32_t n = 100000;
  malloc_trim(0);
  auto in_use = [] {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
  };
  const std::size_t before = in_use();
  std::size_t accounted = 0;
  {
    RegistryState state({kN, kSelfNode, kRegistryPid});
    for (std::uint32_t i = 0; i < n; ++i) {
      // One name in 16 is long enough to be stored out of line.
      std::string name = "name" + std::to_string(i) + (i % 16 == 0 ? std::string(40, 'x') : "");
      state.on_crdt_diffs(std::vector{CrdtDiff::added(
          CrdtKey::name_key(binary(name)), KeyValue{other_member(), remote_pid(i), Term(atom("nil"))}.to_term())});
    }
    accounted = state.memory_bytes();
    const std::size_t grown = in_use() - before;
    BOOST_TEST_MESSAGE("view memory_bytes " << accounted << ", malloc in-use growth " << grown);
    BOOST_TEST(accounted >= grown * 9 / 10);
    BOOST_TEST(accounted <= grown * 11 / 10);
  }
  BOOST_TEST(in_use() <= before + accounted / 100);
}

BOOST_AUTO_TEST_SUITE_END()
