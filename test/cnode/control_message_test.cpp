#include "cnode/control_message.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/dist_frame.hpp"
#include "cnode/error.hpp"
#include "cnode/spawn_request.hpp"
#include "interop/codec.hpp"
#include "wire_fixtures.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {
Pid pid(std::uint32_t id) { return Pid{Atom("a@h"), id, 0, 5}; }
Reference ref(std::uint32_t id) { return Reference{Atom("a@h"), 5, {id, 0, 0}}; }

void check_fixture(const std::string& file, std::map<std::int64_t, int>& ops) {
  auto events = hc::test::load_wire_fixture(file);
  BOOST_REQUIRE(!events.empty());
  for (const auto& ev : events) {
    const Term* c = ev.map_get("ctrl");
    if (!c) continue;
    auto parsed = from_term(*c);
    auto* m = parsed ? &*parsed : nullptr;
    if (!m) BOOST_FAIL("ctrl " << *c << ": " << parsed.message());
    BOOST_TEST(to_term(*m) == *c, "re-encoded " << to_term(*m) << " vs " << *c);
    BOOST_TEST(static_cast<std::int64_t>(op_of(*m)) == *c->element(0)->as_int());
    // A payload was recorded exactly for the ops that carry one.
    const Term* msg = ev.map_get("msg");
    BOOST_TEST(has_payload(op_of(*m)) == !(msg && msg->is_atom("none")), "op " << *c->element(0));
    ++ops[*c->element(0)->as_int()];
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(control_message_test)

// Every control message recorded between two OTP 25.2 nodes running Horde.
BOOST_AUTO_TEST_CASE(recorded_ctrl_terms_parse_and_reencode) {
  std::map<std::int64_t, int> ops;
  check_fixture("registry_wire.frames.etf", ops);
  check_fixture("supervisor_wire.frames.etf", ops);
  for (int op : {6, 19, 20, 22, 28, 29, 31}) BOOST_TEST(ops[op] > 0, "op " << op << " seen");
}

BOOST_AUTO_TEST_CASE(typed_fields) {
  auto parsed = from_term(tuple(19, pid(1), Atom("reg"), ref(9)));
  auto& m = std::get<ctrl::MonitorP>(parsed.value());
  BOOST_TEST(Term(m.from) == Term(pid(1)));
  BOOST_TEST(m.to_proc.is_atom("reg"));
  BOOST_TEST(Term(m.ref) == Term(ref(9)));
  auto u = std::get<ctrl::UnlinkId>(from_term(tuple(35, 77, pid(1), pid(2))).value());
  BOOST_TEST(u.id == 77u);
  auto sr = std::get<ctrl::SpawnRequest>(
      from_term(tuple(29, ref(1), pid(1), pid(2), tuple(Atom("erpc"), Atom("execute_call"), 4), list(Atom("monitor"))))
          .value());
  BOOST_TEST(sr.module == Atom("erpc"));
  BOOST_TEST(sr.arity == 4);
}

BOOST_AUTO_TEST_CASE(every_struct_round_trips) {
  std::vector<ControlMessage> all = {
      ctrl::Link{pid(1), pid(2)}, ctrl::Send{Term(Atom("")), pid(2)}, ctrl::Exit{pid(1), pid(2), Term(Atom("x"))},
      ctrl::Unlink{pid(1), pid(2)}, ctrl::NodeLink{}, ctrl::RegSend{pid(1), Term(Atom("")), Atom("n")},
      ctrl::GroupLeader{pid(1), pid(2)}, ctrl::Exit2{pid(1), pid(2), Term(1)},
      ctrl::SendTT{Term(Atom("")), pid(2), Term(0)}, ctrl::ExitTT{pid(1), pid(2), Term(0), Term(1)},
      ctrl::RegSendTT{pid(1), Term(Atom("")), Atom("n"), Term(0)}, ctrl::Exit2TT{pid(1), pid(2), Term(0), Term(1)},
      ctrl::MonitorP{pid(1), Term(pid(2)), ref(1)}, ctrl::DemonitorP{pid(1), Term(Atom("n")), ref(1)},
      ctrl::MonitorPExit{Term(Atom("n")), pid(1), ref(1), Term(Atom("noproc"))},
      ctrl::SendSender{pid(1), pid(2)}, ctrl::SendSenderTT{pid(1), pid(2), Term(0)},
      ctrl::PayloadExit{pid(1), pid(2)}, ctrl::PayloadExitTT{pid(1), pid(2), Term(0)},
      ctrl::PayloadExit2{pid(1), pid(2)}, ctrl::PayloadExit2TT{pid(1), pid(2), Term(0)},
      ctrl::PayloadMonitorPExit{Term(pid(3)), pid(1), ref(1)},
      ctrl::SpawnRequest{ref(1), pid(1), pid(2), Atom("m"), Atom("f"), 2, Term::nil()},
      ctrl::SpawnRequestTT{ref(1), pid(1), pid(2), Atom("m"), Atom("f"), 2, list(Atom("link")), Term(0)},
      ctrl::SpawnReply{ref(1), pid(1), 2, Term(pid(3))}, ctrl::SpawnReplyTT{ref(1), pid(1), 0, Term(Atom("notsup")), Term(0)},
      ctrl::AliasSend{pid(1), ref(2)}, ctrl::AliasSendTT{pid(1), ref(2), Term(0)},
      ctrl::UnlinkId{1, pid(1), pid(2)}, ctrl::UnlinkIdAck{1, pid(2), pid(1)},
  };
  for (const auto& m : all) {
    Term t = to_term(m);
    auto back = from_term(t);
    BOOST_REQUIRE_MESSAGE(back.ok(), "decode " << t);
    BOOST_TEST(to_term(*back) == t);
    BOOST_TEST(back->index() == m.index());
  }
}

// Malformed control terms: each must be rejected with the named error.
BOOST_AUTO_TEST_CASE(malformed_table) {
  struct Case {
    const char* what;
    Term t;
    Errc error;
  };
  std::vector<Case> cases = {
      {"not a tuple", list(1, 2), Errc::bad_control_message},
      {"empty tuple", Term::tuple({}), Errc::bad_control_message},
      {"op not an integer", tuple(Atom("link"), pid(1), pid(2)), Errc::bad_control_message},
      {"unknown op", tuple(99, pid(1)), Errc::unknown_control_op},
      {"op 9 (never used)", tuple(9), Errc::unknown_control_op},
      {"LINK arity", tuple(1, pid(1)), Errc::bad_control_message},
      {"LINK extra element", tuple(1, pid(1), pid(2), pid(3)), Errc::bad_control_message},
      {"LINK from not a pid", tuple(1, Atom("x"), pid(2)), Errc::bad_control_message},
      {"SEND to not a pid", tuple(2, Atom(""), Atom("name")), Errc::bad_control_message},
      {"REG_SEND name not an atom", tuple(6, pid(1), Atom(""), pid(2)), Errc::bad_control_message},
      {"MONITOR_P ref not a ref", tuple(19, pid(1), pid(2), 5), Errc::bad_control_message},
      {"MONITOR_P target a tuple", tuple(19, pid(1), tuple(Atom("a"), Atom("b")), ref(1)), Errc::bad_control_message},
      {"SPAWN_REQUEST mfa not a tuple", tuple(29, ref(1), pid(1), pid(2), Atom("m"), Term::nil()),
       Errc::bad_control_message},
      {"SPAWN_REQUEST arity not an int", tuple(29, ref(1), pid(1), pid(2), tuple(Atom("m"), Atom("f"), Atom("x")), Term::nil()),
       Errc::bad_control_message},
      {"SPAWN_REQUEST opts not a list", tuple(29, ref(1), pid(1), pid(2), tuple(Atom("m"), Atom("f"), 1), 7),
       Errc::bad_control_message},
      {"UNLINK_ID negative id", tuple(35, -1, pid(1), pid(2)), Errc::bad_control_message},
      {"ALIAS_SEND alias a pid", tuple(33, pid(1), pid(2)), Errc::bad_control_message},
  };
  for (const auto& c : cases) {
    auto r = from_term(c.t);
    BOOST_REQUIRE_MESSAGE(!r, c.what << " was accepted");
    BOOST_TEST(r.error() == make_error_code(c.error), c.what << ": " << r.message());
    BOOST_TEST(!r.what().empty(), c.what << ": the error says which element was wrong");
  }
}

BOOST_AUTO_TEST_CASE(dist_frame_round_trip) {
  Term payload = tuple(Atom("hello"), binary("world"), 42);
  auto bytes = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)}, &payload);
  BOOST_REQUIRE(bytes.size() > 5);
  BOOST_TEST(bytes[4] == 112);
  BOOST_TEST(bytes[5] == 131);
  auto r = parse_dist_frame(std::span(bytes).subspan(4));
  BOOST_REQUIRE(r.ok());
  auto* f = &*r;
  BOOST_TEST(f->payload.has_value());
  BOOST_TEST(*f->payload == payload);
  BOOST_TEST(std::holds_alternative<ctrl::SendSender>(f->control));
}

// The hand-written encodings of the send ops equal the generic codec output.
BOOST_AUTO_TEST_CASE(fast_control_encoding_matches_codec) {
  std::vector<ControlMessage> msgs = {ctrl::SendSender{pid(1), pid(70000)}, ctrl::RegSend{pid(1), Term(Atom("")), Atom("rex")},
                                      ctrl::AliasSend{pid(3), ref(12345)}, ctrl::Link{pid(1), pid(2)}};
  for (const auto& m : msgs) {
    std::vector<std::uint8_t> fast, generic;
    append_control(fast, m);
    generic.push_back(131);
    hc::encode_to(generic, to_term(m));
    BOOST_TEST(fast == generic, to_term(m));
  }
}

BOOST_AUTO_TEST_CASE(dist_frame_malformed_table) {
  Term payload(Atom("x"));
  auto good = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)}, &payload);
  std::vector<std::uint8_t> body(good.begin() + 4, good.end());
  auto no_payload = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)});
  auto link = encode_dist_frame(ctrl::Link{pid(1), pid(2)});
  std::vector<std::uint8_t> link_extra(link.begin() + 4, link.end());
  link_extra.insert(link_extra.end(), {131, 97, 1});
  std::vector<std::uint8_t> truncated(body.begin(), body.end() - 3);
  struct Case {
    const char* what;
    std::vector<std::uint8_t> frame;
    Errc error;
  };
  std::vector<Case> cases = {
      {"empty", {}, Errc::bad_dist_header},
      {"garbage", {1, 2, 3, 4}, Errc::bad_dist_header},
      {"atom cache header", {131, 68, 0}, Errc::unsupported_dist_header},
      {"fragment header", {131, 69, 0}, Errc::unsupported_dist_header},
      {"pass-through without term", {112}, Errc::malformed_term},
      {"bad version byte", {112, 130, 97, 1}, Errc::malformed_term},
      {"control not a control tuple", {112, 131, 97, 1}, Errc::bad_control_message},
      {"payload missing", std::vector<std::uint8_t>(no_payload.begin() + 4, no_payload.end()), Errc::bad_control_message},
      {"truncated payload", truncated, Errc::malformed_term},
      {"trailing bytes after a control without payload", link_extra, Errc::bad_dist_header},
  };
  for (const auto& c : cases) {
    auto r = parse_dist_frame(c.frame);
    BOOST_REQUIRE_MESSAGE(!r, c.what << " was accepted");
    BOOST_TEST(r.error() == make_error_code(c.error), c.what << ": " << r.message());
    BOOST_TEST(!r.what().empty(), c.what << ": the error says what was wrong");
  }
}

BOOST_AUTO_TEST_CASE(spawn_request_answers) {
  Pid fresh = pid(99);
  Pid live = pid(7);
  RpcExports exports;
  // As the node registers them: run synchronously, answer at once.
  std::optional<RpcOutcome> ran;
  auto alive = [&](std::span<const Term> a) { return Term(Atom(*a[0].as_pid() == live ? "true" : "false")); };
  exports.add_sync(Atom("Elixir.Process"), Atom("alive?"), 1, alive);
  exports.add_sync(Atom("erlang"), Atom("is_process_alive"), 1, alive);
  Term res_ref(ref(50));
  ctrl::SpawnRequest req{ref(1), pid(1), pid(2), Atom("erpc"), Atom("execute_call"), 4,
                         list(tuple(Atom("reply"), Atom("error_only")), Atom("monitor"))};
  for (auto [m, f] : {std::pair{"Elixir.Process", "alive?"}, std::pair{"erlang", "is_process_alive"}}) {
    for (bool is_live : {true, false}) {
      Term args = list(res_ref, Atom(m), Atom(f), list(is_live ? live : pid(8)));
      auto a = answer_spawn_request(req, args, fresh, exports);
      BOOST_TEST(a.handled);
      BOOST_REQUIRE_EQUAL(a.messages.size(), 1u);
      BOOST_TEST(to_term(a.messages[0]) == tuple(31, ref(1), pid(1), 2, fresh));
      BOOST_REQUIRE(a.function);
      (*a.function)(std::span<const Term>(a.erpc->args), [&](RpcOutcome o) { ran = o; });
      BOOST_REQUIRE(ran);
      auto exits = spawn_exit_messages(req, fresh, a.flags, erpc_exit_reason(a.erpc->res_ref, *ran));
      BOOST_REQUIRE_EQUAL(exits.size(), 1u);
      BOOST_TEST(to_term(exits[0]) ==
                 tuple(21, fresh, pid(1), ref(1), tuple(res_ref, Atom("return"), Atom(is_live ? "true" : "false"))));
    }
  }
  // A module we export something of, but not this function/arity: undef at
  // once, with the frame the BEAM reports.
  auto u = answer_spawn_request(req, list(res_ref, Atom("erlang"), Atom("node"), Term::nil()), fresh, exports);
  BOOST_TEST(u.handled);
  BOOST_TEST(!u.function);
  BOOST_REQUIRE_EQUAL(u.messages.size(), 2u);
  BOOST_TEST(to_term(u.messages[1]) ==
             tuple(21, fresh, pid(1), ref(1),
                   tuple(res_ref, Atom("error"), Atom("undef"),
                         list(tuple(Atom("erlang"), Atom("node"), Term::nil(), Term::nil())))));
  // A linked request gets an EXIT too.
  ctrl::SpawnRequest linked = req;
  linked.opts = list(Atom("link"), Atom("monitor"));
  auto l = answer_spawn_request(linked, list(res_ref, Atom("erlang"), Atom("node"), Term::nil()), fresh, exports);
  BOOST_REQUIRE_EQUAL(l.messages.size(), 3u);
  BOOST_TEST(to_term(l.messages[0]) == tuple(31, ref(1), pid(1), 3, fresh));
  BOOST_TEST((to_term(l.messages[2]).element(0)->as_int() == 3));
  // Modules without exports: an immediate spawn error.
  auto a = answer_spawn_request(req, list(res_ref, Atom("lists"), Atom("reverse"), list(Term::nil())), fresh, exports);
  BOOST_TEST(!a.handled);
  BOOST_REQUIRE_EQUAL(a.messages.size(), 1u);
  BOOST_TEST(to_term(a.messages[0]) == tuple(31, ref(1), pid(1), 0, Atom("notsup")));
  ctrl::SpawnRequest other{ref(1), pid(1), pid(2), Atom("m"), Atom("f"), 0, Term::nil()};
  BOOST_TEST(!answer_spawn_request(other, Term::nil(), fresh, exports).handled);
  // erpc:cast: SPAWN_REPLY, then the function runs.
  ctrl::SpawnRequest cast{ref(2), pid(1), pid(2), Atom("erpc"), Atom("execute_cast"), 3,
                          list(tuple(Atom("reply"), Atom("no")))};
  auto c = answer_spawn_request(cast, list(Atom("erlang"), Atom("is_process_alive"), list(live)), fresh, exports);
  BOOST_TEST(c.handled);
  BOOST_TEST(c.function);
  BOOST_TEST((c.erpc->kind == ErpcRequest::Kind::cast));
}

BOOST_AUTO_TEST_CASE(rpc_outcomes_map_as_erpc_does) {
  Atom m("Elixir.MyCpp.Math"), f("div");
  Term args[] = {Term(1), Term(0)};
  auto run = [&](RpcFunction fn) { return erpc_exit_reason(Term(7), run_rpc_function(fn, args, m, f)); };
  BOOST_TEST(run([](auto) { return Term(3); }) == tuple(7, Atom("return"), 3));
  BOOST_TEST(run([](auto) -> Term { throw RpcException::thrown(Term(Atom("x"))); }) == tuple(7, Atom("throw"), Atom("x")));
  BOOST_TEST(run([](auto) -> Term { throw RpcException::exit(Term(Atom("bye"))); }) == tuple(7, Atom("exit"), Atom("bye")));
  BOOST_TEST(run([](auto) -> Term { throw RpcException::error(Term(Atom("badarith"))); }) ==
             tuple(7, Atom("error"), Atom("badarith"), list(tuple(m, f, 2, Term::nil()))));
  BOOST_TEST(run([](auto) -> Term { throw std::runtime_error("boom"); }) ==
             tuple(7, Atom("error"), tuple(Atom("cpp_exception"), Term::binary("boom")), list(tuple(m, f, 2, Term::nil()))));
}

BOOST_AUTO_TEST_SUITE_END()
