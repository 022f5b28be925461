// Codec positions past 2 GiB (issue 13). erl_interface takes its buffer
// position as an `int`; the encoder used to hand it the absolute write
// position, so appending a term to a send buffer already holding more than
// INT_MAX bytes (a connection whose peer reads slowly while large sync
// messages queue up) made ei write 2 GiB before the buffer: the segfault in
// hc::Encoder::term seen at 300 000 Horde names. The decoder had the same
// `int` and refused buffers over 2 GiB.
//
// Needs ~2.2 GB of memory and ~1-3 s; its own CTest label "large".
#include "interop/codec.hpp"

#include <boost/test/unit_test.hpp>

#include <climits>
#include <vector>

using namespace hc;

BOOST_AUTO_TEST_SUITE(codec_large_test)

BOOST_AUTO_TEST_CASE(terms_append_and_decode_past_2_gib) {
  // Every kind of term the encoder hands to ei (small/large integers, atom,
  // float, binary, bitstring, byte string, list/tuple/map headers) plus the
  // hand-written ones (pid).
  const Term t = tuple(Atom("diff"), 42, std::int64_t{1} << 40, -7, 2.5, Term::binary("bytes"),
                       Term::list({1, 2, 3}), Term::list({Term(Atom("a")), 1000}),
                       Term::map({{Term(Atom("k")), Term(Atom("v"))}}),
                       Term(Pid{Atom("n@127.0.0.1"), 1, 2, 3}),
                       Term::bitstring(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("\xA0"), 1), 3));
  std::vector<std::uint8_t> expected;
  encode_to(expected, t);

  const std::size_t prefix = std::size_t{INT_MAX} + 17;  // the next write is past INT_MAX
  std::vector<std::uint8_t> buf;
  buf.reserve(prefix + expected.size() + 4096);  // no reallocation of 2 GiB inside the test
  buf.resize(prefix);
  encode_to(buf, t);
  BOOST_REQUIRE_EQUAL(buf.size(), prefix + expected.size());
  BOOST_TEST(std::equal(expected.begin(), expected.end(), buf.begin() + static_cast<std::ptrdiff_t>(prefix)));

  std::size_t index = prefix;
  auto back = decode_body_at(std::span<const std::uint8_t>(buf), index);
  BOOST_REQUIRE(static_cast<bool>(back));
  BOOST_TEST(*back == t);
  BOOST_TEST(index == buf.size());
}

BOOST_AUTO_TEST_SUITE_END()
