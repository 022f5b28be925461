#include "cnode/epmd_client.hpp"

#include <boost/test/unit_test.hpp>

#include "wire_fixtures.hpp"

using namespace hc::cnode;
using Bytes = std::vector<std::uint8_t>;

BOOST_AUTO_TEST_SUITE(epmd_client_test)

BOOST_AUTO_TEST_CASE(alive2_req_layout) {
  Bytes expect{0, 18, 120, 0xB7, 0x99, 77, 0, 0, 6, 0, 6, 0, 5, 'l', 'a', 'b', '_', 'b', 0, 0};
  BOOST_TEST(epmd::encode_alive2_req("lab_b", 47001) == expect);
  BOOST_TEST(epmd::encode_port_please2_req("lab_b") == (Bytes{0, 6, 122, 'l', 'a', 'b', '_', 'b'}));
}

// Responses recorded from OTP 25's epmd.
BOOST_AUTO_TEST_CASE(recorded_responses) {
  auto events = hc::test::load_wire_fixture("registry_wire.frames.etf");
  BOOST_TEST((epmd::decode_alive2_resp(hc::test::raw_of(events.at(1))) == std::optional<std::uint32_t>(0x6b00e7d3)));
  auto p = epmd::decode_port2_resp(hc::test::raw_of(events.at(5)));
  BOOST_REQUIRE(p);
  BOOST_TEST(p->port == 47001);
  BOOST_TEST(p->highest_version == 6);
  BOOST_TEST(p->lowest_version == 5);
}

BOOST_AUTO_TEST_CASE(malformed_responses) {
  BOOST_TEST(!epmd::decode_alive2_resp(Bytes{118, 1, 0, 0, 0, 1}));  // result 1: name taken
  BOOST_TEST(!epmd::decode_alive2_resp(Bytes{118, 0, 0}));
  BOOST_TEST(!epmd::decode_alive2_resp(Bytes{}));
  BOOST_TEST((epmd::decode_alive2_resp(Bytes{121, 0, 0, 3}) == std::optional<std::uint32_t>(3)));
  BOOST_TEST(!epmd::decode_port2_resp(Bytes{119, 1}));  // not registered
  BOOST_TEST(!epmd::decode_port2_resp(Bytes{119, 0, 1}));
}

BOOST_AUTO_TEST_SUITE_END()
