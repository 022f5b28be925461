#include "cnode/handshake.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/error.hpp"
#include "cnode/flags.hpp"
#include "wire_fixtures.hpp"

using namespace hc;
using namespace hc::cnode;
using hc::test::kind_is;
using hc::test::raw_of;

namespace {

HandshakeConfig config(std::string name, std::string cookie, std::uint32_t challenge) {
  HandshakeConfig c;
  c.local_name = std::move(name);
  c.cookie = std::move(cookie);
  c.flags = dflag::HC_ADVERTISED;
  c.creation = 7;
  c.random = [challenge] { return challenge; };
  return c;
}

// Runs both sides against each other in memory. Returns the first error.
std::error_code run_pair(Handshake& a, Handshake& b) {
  std::vector<Bytes> to_b = a.start().send, to_a;
  b.start();
  for (int round = 0; round < 10 && !(a.done() && b.done()); ++round) {
    for (auto& m : to_b) {
      auto s = b.on_message(m);
      if (s.error) return s.error;
      to_a.insert(to_a.end(), s.send.begin(), s.send.end());
    }
    to_b.clear();
    for (auto& m : to_a) {
      auto s = a.on_message(m);
      if (s.error) return s.error;
      to_b.insert(to_b.end(), s.send.begin(), s.send.end());
    }
    to_a.clear();
  }
  return {};
}

Bytes bytes(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(std::uint8_t(x));
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(handshake_test)

// Byte-exact against the handshake recorded between two OTP 25.2 nodes.
BOOST_AUTO_TEST_CASE(recorded_otp25_messages_parse_and_reencode) {
  auto events = hc::test::load_wire_fixture("registry_wire.frames.etf");
  BOOST_REQUIRE(!events.empty());
  int seen = 0;
  for (const auto& ev : events) {
    Bytes raw = raw_of(ev);
    if (kind_is(ev, "send_name")) {
      auto n = SendName::decode(raw);
      BOOST_REQUIRE(n);
      BOOST_TEST(n->flags == std::uint64_t(*ev.map_get("flags")->as_int()));
      BOOST_TEST(n->creation == std::uint32_t(*ev.map_get("creation")->as_int()));
      BOOST_TEST(n->name == std::string(*ev.map_get("name")->as_binary()));
      BOOST_TEST(n->encode() == raw);
      BOOST_TEST(n->flags == 0xD07DF7FBDull);
      BOOST_TEST(dflag::has_mandatory(n->flags));
      ++seen;
    } else if (kind_is(ev, "challenge")) {
      auto c = Challenge::decode(raw);
      BOOST_REQUIRE(c);
      BOOST_TEST(c->challenge == std::uint32_t(*ev.map_get("challenge")->as_int()));
      BOOST_TEST(c->creation == std::uint32_t(*ev.map_get("creation")->as_int()));
      BOOST_TEST(c->name == std::string(*ev.map_get("name")->as_binary()));
      BOOST_TEST(c->encode() == raw);
      ++seen;
    } else if (kind_is(ev, "challenge_reply")) {
      auto r = ChallengeReply::decode(raw);
      BOOST_REQUIRE(r);
      BOOST_TEST(r->challenge == std::uint32_t(*ev.map_get("challenge")->as_int()));
      BOOST_TEST(r->encode() == raw);
      ++seen;
    } else if (kind_is(ev, "challenge_ack")) {
      auto a = ChallengeAck::decode(raw);
      BOOST_REQUIRE(a);
      BOOST_TEST(a->encode() == raw);
      ++seen;
    } else if (kind_is(ev, "status")) {
      BOOST_TEST(raw == encode_status("ok"));
      ++seen;
    }
  }
  BOOST_TEST(seen == 5);
}

BOOST_AUTO_TEST_CASE(our_send_name_layout) {
  SendName n{dflag::HC_ADVERTISED, 0x01020304, "a@b", false};
  Bytes expect = bytes({'N'});
  for (int i = 7; i >= 0; --i) expect.push_back(std::uint8_t(dflag::HC_ADVERTISED >> (8 * i)));
  for (int x : {1, 2, 3, 4, 0, 3, int('a'), int('@'), int('b')}) expect.push_back(std::uint8_t(x));
  BOOST_TEST(n.encode() == expect);
  // What we advertise: visible, monitors by name, spawn, unlink id; no atom cache, no fragments.
  for (auto f : {dflag::PUBLISHED, dflag::DIST_MONITOR, dflag::DIST_MONITOR_NAME, dflag::SPAWN, dflag::UNLINK_ID,
                 dflag::HANDSHAKE_23, dflag::BIG_CREATION, dflag::MANDATORY_25_DIGEST})
    BOOST_TEST((dflag::HC_ADVERTISED & f) != 0u);
  BOOST_TEST((dflag::HC_ADVERTISED & dflag::DIST_HDR_ATOM_CACHE) == 0u);  // FRAGMENTS yes, atom cache no
  BOOST_TEST((dflag::HC_ADVERTISED & dflag::FRAGMENTS) != 0u);
  BOOST_TEST((dflag::HC_ADVERTISED & dflag::MANDATORY_25) == dflag::MANDATORY_25);
}

BOOST_AUTO_TEST_CASE(initiator_and_acceptor_complete) {
  Handshake a(Handshake::Role::initiator, config("a@h", "cookie", 11), "b@h");
  Handshake b(Handshake::Role::acceptor, config("b@h", "cookie", 22));
  BOOST_TEST(!run_pair(a, b));
  BOOST_TEST(a.done());
  BOOST_TEST(b.done());
  BOOST_TEST(a.peer().name == "b@h");
  BOOST_TEST(b.peer().name == "a@h");
  BOOST_TEST(b.peer().creation == 7u);
  BOOST_TEST(a.peer().flags == dflag::HC_ADVERTISED);
}

BOOST_AUTO_TEST_CASE(exact_messages_of_a_run) {
  Handshake a(Handshake::Role::initiator, config("a@h", "ck", 0x0A0B0C0D), "b@h");
  auto s1 = a.start();
  BOOST_REQUIRE_EQUAL(s1.send.size(), 1u);
  BOOST_TEST(s1.send[0] == (SendName{dflag::HC_ADVERTISED, 7, "a@h", false}.encode()));
  BOOST_TEST(a.on_message(encode_status("ok")).send.empty());
  auto s3 = a.on_message(Challenge{dflag::HC_ADVERTISED, 1234, 9, "b@h"}.encode());
  BOOST_REQUIRE_EQUAL(s3.send.size(), 1u);
  // 'r', our challenge, then md5("ck1234") as OTP 25 computes it (md5_test).
  const Bytes reply = bytes({'r', 0x0A, 0x0B, 0x0C, 0x0D, 0x81, 0x10, 0x62, 0x2F, 0x87, 0x4A, 0x02, 0x3C, 0x01, 0xC6,
                             0x5C, 0xF7, 0x54, 0xCD, 0x3E, 0xCF});
  BOOST_TEST(s3.send[0] == reply);
  auto s4 = a.on_message(ChallengeAck{handshake_digest(0x0A0B0C0D, "ck")}.encode());
  BOOST_TEST(s4.done);
  BOOST_TEST(!s4.error);
}

BOOST_AUTO_TEST_CASE(wrong_cookie_fails_on_the_acceptor) {
  Handshake a(Handshake::Role::initiator, config("a@h", "one", 1), "b@h");
  Handshake b(Handshake::Role::acceptor, config("b@h", "two", 2));
  BOOST_TEST(run_pair(a, b) == make_error_code(Errc::bad_cookie));
  BOOST_TEST(!b.done());
}

BOOST_AUTO_TEST_CASE(wrong_cookie_in_ack_fails_on_the_initiator) {
  Handshake a(Handshake::Role::initiator, config("a@h", "ck", 5), "b@h");
  a.start();
  a.on_message(encode_status("ok"));
  a.on_message(Challenge{dflag::HC_ADVERTISED, 1, 2, "b@h"}.encode());
  auto s = a.on_message(ChallengeAck{handshake_digest(5, "other")}.encode());
  BOOST_TEST(s.error == make_error_code(Errc::bad_cookie));
}

BOOST_AUTO_TEST_CASE(rejected_status_and_names) {
  for (const char* status : {"nok", "not_allowed", "alive"}) {
    Handshake a(Handshake::Role::initiator, config("a@h", "ck", 5), "b@h");
    a.start();
    BOOST_TEST(a.on_message(encode_status(status)).error == make_error_code(Errc::handshake_rejected));
  }
  Handshake a(Handshake::Role::initiator, config("a@h", "ck", 5), "b@h");
  a.start();
  a.on_message(encode_status("ok"));
  BOOST_TEST(a.on_message(Challenge{dflag::HC_ADVERTISED, 1, 2, "other@h"}.encode()).error ==
             make_error_code(Errc::bad_peer_name));
  // The acceptor's status decision is honoured and ends the handshake.
  auto cfg = config("b@h", "ck", 1);
  cfg.decide_status = [](std::string_view) { return std::string("nok"); };
  Handshake b(Handshake::Role::acceptor, cfg);
  b.start();
  auto s = b.on_message(SendName{dflag::HC_ADVERTISED, 1, "a@h", false}.encode());
  BOOST_TEST(s.error == make_error_code(Errc::handshake_rejected));
  BOOST_REQUIRE_EQUAL(s.send.size(), 1u);
  BOOST_TEST(s.send[0] == encode_status("nok"));
}

// Malformed input table: every entry must fail with the given error.
BOOST_AUTO_TEST_CASE(malformed_messages_acceptor) {
  struct Case {
    const char* what;
    Bytes msg;
    Errc error;
  };
  Bytes no_flags = SendName{0, 1, "a@h", false}.encode();
  Bytes old_no23 = SendName{dflag::MANDATORY_25 & ~dflag::HANDSHAKE_23 & 0xffffffffu, 0, "a@h", true}.encode();
  std::vector<Case> cases = {
      {"empty", {}, Errc::bad_handshake_message},
      {"unknown tag", bytes({'X', 1, 2, 3}), Errc::bad_handshake_message},
      {"truncated N", bytes({'N', 0, 0, 0}), Errc::bad_handshake_message},
      {"name length beyond message", bytes({'N', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 'a'}),
       Errc::bad_handshake_message},
      {"name without @", SendName{dflag::HC_ADVERTISED, 1, "nohost", false}.encode(), Errc::bad_peer_name},
      {"name with empty host", SendName{dflag::HC_ADVERTISED, 1, "a@", false}.encode(), Errc::bad_peer_name},
      {"missing mandatory flags", no_flags, Errc::missing_mandatory_flags},
      {"old format without HANDSHAKE_23", old_no23, Errc::unsupported_version},
      {"challenge reply first", ChallengeReply{1, {}}.encode(), Errc::bad_handshake_message},
  };
  for (const auto& c : cases) {
    Handshake b(Handshake::Role::acceptor, config("b@h", "ck", 1));
    b.start();
    auto s = b.on_message(c.msg);
    BOOST_TEST(s.error == make_error_code(c.error), c.what << ": got " << s.error.message());
  }
}

BOOST_AUTO_TEST_CASE(malformed_messages_initiator) {
  struct Case {
    const char* what;
    Bytes msg;
  };
  std::vector<Case> cases = {
      {"short challenge", bytes({'N', 0, 0})},
      {"challenge with wrong tag", bytes({'n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
      {"trailing bytes", [] {
         auto b = Challenge{dflag::HC_ADVERTISED, 1, 2, "b@h"}.encode();
         b.push_back(0);
         return b;
       }()},
  };
  for (const auto& c : cases) {
    Handshake a(Handshake::Role::initiator, config("a@h", "ck", 1), "b@h");
    a.start();
    a.on_message(encode_status("ok"));
    BOOST_TEST(a.on_message(c.msg).error == make_error_code(Errc::bad_handshake_message), c.what);
  }
  Handshake a(Handshake::Role::initiator, config("a@h", "ck", 1), "b@h");
  a.start();
  BOOST_TEST(a.on_message(bytes({'x', 'o', 'k'})).error == make_error_code(Errc::bad_handshake_message));
}

// An OTP 23+ peer using the old 'n' send_name: challenge 'N', then its 'c' complement.
BOOST_AUTO_TEST_CASE(old_send_name_with_complement) {
  Handshake b(Handshake::Role::acceptor, config("b@h", "ck", 77));
  b.start();
  auto low = dflag::HC_ADVERTISED & 0xffffffffu;
  auto s = b.on_message(SendName{low, 0, "a@h", true}.encode());
  BOOST_REQUIRE(!s.error);
  BOOST_REQUIRE_EQUAL(s.send.size(), 2u);
  Bytes comp = bytes({'c'});
  auto high = std::uint32_t(dflag::HC_ADVERTISED >> 32);
  for (int i = 3; i >= 0; --i) comp.push_back(std::uint8_t(high >> (8 * i)));
  for (int x : {0, 0, 0, 42}) comp.push_back(std::uint8_t(x));
  BOOST_TEST(!b.on_message(comp).error);
  BOOST_TEST(b.peer().creation == 42u);
  BOOST_TEST(b.peer().flags == dflag::HC_ADVERTISED);
  auto r = b.on_message(ChallengeReply{5, handshake_digest(77, "ck")}.encode());
  BOOST_TEST(r.done);
}

BOOST_AUTO_TEST_SUITE_END()
