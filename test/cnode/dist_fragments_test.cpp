#include "cnode/dist_fragments.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/dist_frame.hpp"
#include "cnode/error.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::cnode;
using Kind = FragmentAssembler::Step::Kind;

BOOST_TEST_DONT_PRINT_LOG_VALUE(Kind)

namespace {

Pid pid(std::uint32_t id) { return Pid{Atom("a@h"), id, 0, 1}; }

void put64(std::vector<std::uint8_t>& v, std::uint64_t x) {
  for (int i = 7; i >= 0; --i) v.push_back(std::uint8_t(x >> (8 * i)));
}
std::vector<std::uint8_t> first(std::uint64_t seq, std::uint64_t frag, std::span<const std::uint8_t> data,
                                std::uint8_t refs = 0) {
  std::vector<std::uint8_t> f{131, 69};
  put64(f, seq);
  put64(f, frag);
  f.push_back(refs);
  f.insert(f.end(), data.begin(), data.end());
  return f;
}
std::vector<std::uint8_t> next(std::uint64_t seq, std::uint64_t frag, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> f{131, 70};
  put64(f, seq);
  put64(f, frag);
  f.insert(f.end(), data.begin(), data.end());
  return f;
}
// The body (Ctrl Msg, no version bytes) of a SEND_SENDER with a payload.
std::vector<std::uint8_t> body_of(const Term& payload) {
  auto frame = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)}, &payload, FrameFormat::dist_header);
  return {frame.begin() + 4 + 3, frame.end()};  // length prefix, 131 68 0
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dist_fragments_test)

BOOST_AUTO_TEST_CASE(header_frames_round_trip) {
  const Term payload = tuple(Atom("hello"), Term::binary("world"), 42);
  auto frame = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)}, &payload, FrameFormat::dist_header);
  // 131, 68, 0 and then the same terms as pass-through, minus version bytes.
  auto plain = encode_dist_frame(ctrl::SendSender{pid(1), pid(2)}, &payload);
  BOOST_TEST(frame[4] == 131);
  BOOST_TEST(frame[5] == 68);
  BOOST_TEST(frame[6] == 0);
  BOOST_TEST(frame.size() == plain.size());  // 131,68,0 instead of 112 and two version bytes
  FragmentAssembler a(1 << 20);
  auto step = a.feed(std::span(frame).subspan(4));
  BOOST_REQUIRE(step.kind == Kind::message);
  auto parsed = parse_dist_body(step.body);
  BOOST_REQUIRE(parsed.ok());
  auto& f = *parsed;
  BOOST_TEST(f.payload.value() == payload);
  BOOST_TEST((std::get<ctrl::SendSender>(f.control).to == pid(2)));
}

BOOST_AUTO_TEST_CASE(fragments_reassemble_while_other_frames_interleave) {
  const Term big = Term::binary(std::string(100000, 'x'));
  const auto body = body_of(big);
  const std::size_t third = body.size() / 3;
  std::span<const std::uint8_t> b(body);
  const auto small = body_of(Term(Atom("small")));
  FragmentAssembler a(1 << 20);
  BOOST_TEST(a.feed(first(7, 3, b.subspan(0, third))).kind == Kind::pending);
  // Another message (its own one-fragment sequence) gets through meanwhile.
  auto s1 = a.feed(first(8, 1, small));
  BOOST_REQUIRE(s1.kind == Kind::message);
  BOOST_TEST((std::vector<std::uint8_t>(s1.body.begin(), s1.body.end()) == small));
  BOOST_TEST(a.feed(next(7, 2, b.subspan(third, third))).kind == Kind::pending);
  BOOST_TEST(a.in_flight() == 1u);
  auto done = a.feed(next(7, 1, b.subspan(2 * third)));
  BOOST_REQUIRE(done.kind == Kind::message);
  BOOST_TEST((std::vector<std::uint8_t>(done.body.begin(), done.body.end()) == body));
  BOOST_TEST(a.in_flight() == 0u);
  auto parsed = parse_dist_body(done.body);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->payload.value() == big);
  // Once decoded, the reassembled bytes can go (a sync slice is tens of MB).
  BOOST_TEST(a.bytes_held() >= body.size());
  a.release();
  BOOST_TEST(a.bytes_held() == 0u);
}

BOOST_AUTO_TEST_CASE(bad_fragments_are_named_errors) {
  const std::vector<std::uint8_t> data{1, 2, 3};
  struct Case {
    std::vector<std::vector<std::uint8_t>> frames;
    std::string what;
  };
  const Case cases[] = {
      {{{131, 68, 2, 0, 0}}, "atom-cache references"},
      {{first(1, 2, data, 1)}, "atom-cache references"},
      {{next(5, 1, data)}, "unknown sequence 5"},
      {{first(1, 3, data), next(1, 1, data)}, "out of order (expected 2)"},
      {{first(1, 0, data)}, "fragment id 0"},
      {{first(1, 3, data), first(1, 3, data)}, "started twice"},
      {{{131, 69, 0, 0}}, "truncated"},
      {{{131, 71, 0}}, "unknown distribution header type 71"},
      {{first(1, 3, std::vector<std::uint8_t>(60)), next(1, 2, std::vector<std::uint8_t>(60))}, "maximum frame size"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      FragmentAssembler a(100);
      FragmentAssembler::Step last;
      for (const auto& f : c.frames) last = a.feed(f);
      BOOST_REQUIRE(last.kind == Kind::error);
      BOOST_TEST(last.error == make_error_code(Errc::bad_dist_header));
      BOOST_TEST(last.what.find(c.what) != std::string::npos, last.what);
    }
  }
  FragmentAssembler few(1000, 2);
  BOOST_TEST(few.feed(first(1, 2, data)).kind == Kind::pending);
  BOOST_TEST(few.feed(first(2, 2, data)).kind == Kind::pending);
  auto third = few.feed(first(3, 2, data));
  BOOST_TEST(third.kind == Kind::error);
  BOOST_TEST(third.what.find("in flight") != std::string::npos);
}

// The buffer of a fragmented message is sized from its first fragment
// (FragId fragments of that size), so it is never copied to grow: growing
// by doubling copied up to half a 67 MB message in the turn of one fragment.
// The size is the peer's claim: bounded by max_message and 256 MiB.
BOOST_AUTO_TEST_CASE(a_fragmented_messages_buffer_is_reserved_from_its_first_fragment) {
  const std::vector<std::uint8_t> data(1000, 7);
  FragmentAssembler a(1 << 30);
  BOOST_TEST(a.feed(first(1, 50, data)).kind == Kind::pending);
  const std::size_t reserved = a.bytes_held();
  BOOST_TEST(reserved >= 50u * 1000);
  for (std::uint64_t frag = 49; frag > 1; --frag) BOOST_TEST(a.feed(next(1, frag, data)).kind == Kind::pending);
  BOOST_TEST(a.bytes_held() == reserved);  // no reallocation on the way
  BOOST_TEST(a.feed(next(1, 1, data)).kind == Kind::message);
  a.release();

  // An absurd claim is not reserved: capped by max_message ...
  FragmentAssembler small(64 * 1024);
  BOOST_TEST(small.feed(first(2, 1'000'000, data)).kind == Kind::pending);
  BOOST_TEST(small.bytes_held() <= 64u * 1024);
  // ... and by 256 MiB.
  FragmentAssembler large(std::size_t{1} << 32);
  BOOST_TEST(large.feed(first(3, std::uint64_t{1} << 40, data)).kind == Kind::pending);
  BOOST_TEST(large.bytes_held() <= std::size_t{256} << 20);
}

BOOST_AUTO_TEST_SUITE_END()
