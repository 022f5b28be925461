#include "cnode/framing.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <vector>

#include "cnode/error.hpp"

using namespace hc::cnode;
using Bytes = std::vector<std::uint8_t>;

namespace {
// next_frame's three outcomes.
bool is_frame(const hc::Result<std::optional<Frame>>& r) { return r && r->has_value(); }
bool need_more(const hc::Result<std::optional<Frame>>& r) { return r && !r->has_value(); }
}  // namespace

BOOST_AUTO_TEST_SUITE(framing_test)

BOOST_AUTO_TEST_CASE(two_byte_frames) {
  Bytes in{0, 3, 'a', 'b', 'c', 0, 1, 'x'};
  auto r = next_frame(in, LengthPrefix::two);
  BOOST_REQUIRE(is_frame(r));
  BOOST_TEST((*r)->consumed == 5u);
  BOOST_TEST(Bytes((*r)->payload.begin(), (*r)->payload.end()) == (Bytes{'a', 'b', 'c'}));
  auto r2 = next_frame(std::span(in).subspan(5), LengthPrefix::two);
  BOOST_REQUIRE(is_frame(r2));
  BOOST_TEST((*r2)->payload.size() == 1u);
}

BOOST_AUTO_TEST_CASE(four_byte_frames_and_ticks) {
  Bytes tick{0, 0, 0, 0};
  auto t = next_frame(tick, LengthPrefix::four);
  BOOST_REQUIRE(is_frame(t));
  BOOST_TEST((*t)->payload.empty());
  BOOST_TEST((*t)->consumed == 4u);
  Bytes in{0, 0, 0, 2, 112, 131};
  auto r = next_frame(in, LengthPrefix::four);
  BOOST_REQUIRE(is_frame(r));
  BOOST_TEST((*r)->consumed == 6u);
}

BOOST_AUTO_TEST_CASE(need_more_for_every_prefix_of_a_frame) {
  Bytes frame = make_frame(Bytes{1, 2, 3, 4, 5}, LengthPrefix::four);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    auto r = next_frame(std::span(frame).first(n), LengthPrefix::four);
    BOOST_TEST(need_more(r), "prefix of " << n << " bytes");
  }
  BOOST_TEST(is_frame(next_frame(frame, LengthPrefix::four)));
}

BOOST_AUTO_TEST_CASE(oversized_length_is_an_error_before_the_body_arrives) {
  Bytes in{0, 0x10, 0, 1};  // 1 MiB + 1 declared, nothing else
  auto r = next_frame(in, LengthPrefix::four, 1024 * 1024);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error() == make_error_code(Errc::frame_too_large));
  BOOST_TEST((r.error() == hc::errc::protocol_violation));
  BOOST_TEST(declared_length(in, LengthPrefix::four) == 1024u * 1024 + 1);
  BOOST_TEST(header_size(LengthPrefix::four) == 4u);  // what to skip before the payload
  Bytes ok{0, 0x10, 0, 0};  // exactly the limit: need more, not an error
  BOOST_TEST(need_more(next_frame(ok, LengthPrefix::four, 1024 * 1024)));
  Bytes hs{0xff, 0xff};
  BOOST_TEST(!next_frame(hs, LengthPrefix::two, 4096));
  BOOST_TEST(declared_length(hs, LengthPrefix::two) == 0xffffu);
  BOOST_TEST(declared_length(Bytes{0xff}, LengthPrefix::two) == 0u);  // header incomplete
}

// The reading loop of a connection, over bytes arriving in chunks: an
// oversized frame is skipped as it arrives, the frames around it come out.
BOOST_AUTO_TEST_CASE(oversized_frame_is_skipped_without_buffering) {
  const std::size_t limit = 1000;
  Bytes stream;
  append_frame(stream, Bytes{1, 2, 3}, LengthPrefix::four);
  append_frame(stream, Bytes(5000, 7), LengthPrefix::four);  // over the limit
  append_frame(stream, Bytes{4, 5}, LengthPrefix::four);
  std::vector<Bytes> frames;
  std::vector<std::size_t> skipped;
  Bytes buffer;
  std::size_t largest_buffer = 0;
  FrameSkipper skip;
  for (std::size_t at = 0; at < stream.size(); at += 100) {  // 100-byte reads
    buffer.insert(buffer.end(), stream.begin() + at, stream.begin() + std::min(stream.size(), at + 100));
    largest_buffer = std::max(largest_buffer, buffer.size());
    std::size_t off = 0;
    for (;;) {
      if (skip.active()) {
        off += skip.take(buffer.size() - off);
        if (skip.active()) break;
        continue;
      }
      const auto rest = std::span(buffer).subspan(off);
      auto r = next_frame(rest, LengthPrefix::four, limit);
      if (need_more(r)) break;
      if (!r) {
        BOOST_REQUIRE(r.error() == make_error_code(Errc::frame_too_large));
        const std::size_t declared = declared_length(rest, LengthPrefix::four);
        skipped.push_back(declared);
        off += header_size(LengthPrefix::four);
        skip.start(declared);
        continue;
      }
      frames.emplace_back((*r)->payload.begin(), (*r)->payload.end());
      off += (*r)->consumed;
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(off));
  }
  BOOST_TEST(frames.size() == 2u);
  BOOST_TEST((frames.at(0) == Bytes{1, 2, 3}));
  BOOST_TEST((frames.at(1) == Bytes{4, 5}));
  BOOST_TEST((skipped == std::vector<std::size_t>{5000}));
  BOOST_TEST(largest_buffer <= 200u);  // never more than what one read brings plus a partial header
  BOOST_TEST(!skip.active());
}

BOOST_AUTO_TEST_CASE(append_frame_round_trips) {
  Bytes out;
  append_frame(out, Bytes{9, 8, 7}, LengthPrefix::two);
  append_frame(out, Bytes(300, 1), LengthPrefix::four);
  BOOST_TEST((Bytes(out.begin(), out.begin() + 5)) == (Bytes{0, 3, 9, 8, 7}));
  auto r = next_frame(std::span(out).subspan(5), LengthPrefix::four);
  BOOST_REQUIRE(is_frame(r));
  BOOST_TEST((*r)->payload.size() == 300u);
}

BOOST_AUTO_TEST_SUITE_END()
