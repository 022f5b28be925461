// Frames with a pre-encoded payload (FramePayload::encoded_body) against
// the same frames with the payload as a Term: the same bytes, in both
// frame formats.
#include "cnode/dist_frame.hpp"

#include <boost/test/unit_test.hpp>

#include "interop/codec.hpp"

using namespace hc;
using namespace hc::cnode;

BOOST_AUTO_TEST_SUITE(dist_frame_test)

BOOST_AUTO_TEST_CASE(an_encoded_payload_makes_the_frame_its_term_makes) {
  const Pid from{Atom("a@h"), 1, 0, 1}, to{Atom("b@h"), 2, 0, 1};
  const Term payload = tuple(Atom("diff"), Term::map({{Term(Atom("k")), binary("v")}}), list(Term(1), Term(300)));
  std::vector<std::uint8_t> body;
  encode_to(body, payload);
  for (FrameFormat format : {FrameFormat::pass_through, FrameFormat::dist_header}) {
    for (const ControlMessage& m : {ControlMessage(ctrl::SendSender{from, to}),
                                    ControlMessage(ctrl::RegSend{from, Term(Atom("")), Atom("N.Crdt")})}) {
      std::vector<std::uint8_t> direct{7}, via_term{7};  // appended after what is there
      BOOST_TEST(append_dist_frame(direct, m, FramePayload::encoded_body(body), format));
      BOOST_TEST(append_dist_frame(via_term, m, &payload, format));
      BOOST_TEST((direct == via_term));
    }
  }
  // And it parses back to the term.
  auto frame = encode_dist_frame(ctrl::SendSender{from, to}, &payload);
  std::vector<std::uint8_t> direct;
  append_dist_frame(direct, ctrl::SendSender{from, to}, FramePayload::encoded_body(body));
  auto parsed = parse_dist_frame(std::span(direct).subspan(4));
  BOOST_REQUIRE(parsed);
  BOOST_TEST(*parsed->payload == payload);
}

BOOST_AUTO_TEST_SUITE_END()
