#include "cnode/epmd_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <optional>

#include "cnode/error.hpp"
#include "wire_fixtures.hpp"

using namespace hc::cnode;
using Bytes = std::vector<std::uint8_t>;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// A fake epmd on 127.0.0.1: accepts one connection, reads the request
// (`request_bytes`), writes `answer`, then closes. What register_node /
// port_please returns against it. No `answer` and `close_at_once`: closes
// right after accepting, before reading anything.
struct FakeEpmd {
  std::size_t request_bytes = 0;
  Bytes answer;
  bool close_at_once = false;
};

template <class Client>
std::error_code against(const FakeEpmd& fake, Client client) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint ep = acceptor.local_endpoint();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        tcp::socket peer = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || fake.close_at_once) co_return;
        Bytes request(fake.request_bytes);
        co_await asio::async_read(peer, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
        if (!fake.answer.empty())
          co_await asio::async_write(peer, asio::buffer(fake.answer), asio::redirect_error(asio::use_awaitable, ec));
        peer.shutdown(tcp::socket::shutdown_both, ec);
      },
      asio::detached);
  std::optional<std::error_code> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await client(ep); }, asio::detached);
  io.run_for(std::chrono::seconds(10));
  BOOST_REQUIRE_MESSAGE(result, "the client did not finish");
  return *result;
}

std::error_code register_against(const FakeEpmd& fake, std::uint32_t* creation = nullptr) {
  return against(fake, [creation](tcp::endpoint ep) -> asio::awaitable<std::error_code> {
    tcp::socket socket(co_await asio::this_coro::executor);
    std::uint32_t c = 0;
    auto ec = co_await epmd::register_node(socket, ep, "lab_b", 47001, c);
    if (creation) *creation = c;
    co_return ec;
  });
}

std::error_code port_please_against(const FakeEpmd& fake, epmd::PortInfo* info = nullptr) {
  return against(fake, [info](tcp::endpoint ep) -> asio::awaitable<std::error_code> {
    epmd::PortInfo i;
    auto ec = co_await epmd::port_please(ep, "lab_b", i);
    if (info) *info = i;
    co_return ec;
  });
}

constexpr std::size_t kAlive2ReqBytes = 20;  // encode_alive2_req("lab_b", ...)
constexpr std::size_t kPortPleaseBytes = 8;  // encode_port_please2_req("lab_b")
}  // namespace

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

// Each way registration can end has its own code (and group).
BOOST_AUTO_TEST_CASE(register_tells_name_in_use_from_connection_lost) {
  std::uint32_t creation = 0;
  BOOST_TEST(!register_against({kAlive2ReqBytes, {118, 0, 0, 0, 0, 7}}, &creation));
  BOOST_TEST(creation == 7u);
  BOOST_TEST(!register_against({kAlive2ReqBytes, {121, 0, 0, 9}}, &creation));
  BOOST_TEST(creation == 9u);

  // What OTP's epmd answers for a taken name (result 1), in both formats.
  auto in_use = register_against({kAlive2ReqBytes, {118, 1, 0, 0, 0, 99}});
  BOOST_TEST((in_use == Errc::epmd_name_in_use));
  BOOST_TEST((in_use == hc::errc::name_taken));
  BOOST_TEST((in_use != hc::errc::connection_lost));
  BOOST_TEST((register_against({kAlive2ReqBytes, {121, 1}}) == Errc::epmd_name_in_use));

  // epmd closes the connection without an answer, or inside one.
  for (const FakeEpmd& fake : {FakeEpmd{kAlive2ReqBytes, {}}, FakeEpmd{kAlive2ReqBytes, {118}},
                               FakeEpmd{kAlive2ReqBytes, {118, 0, 0}}, FakeEpmd{0, {}, true}}) {
    auto lost = register_against(fake);
    BOOST_TEST((lost == Errc::epmd_failure), lost.message());
    BOOST_TEST((lost == hc::errc::connection_lost));
    BOOST_TEST((lost != hc::errc::name_taken));
  }

  // Something that is not epmd answers.
  auto bad = register_against({kAlive2ReqBytes, {'H', 'T', 'T', 'P'}});
  BOOST_TEST((bad == Errc::epmd_bad_answer), bad.message());
  BOOST_TEST((bad == hc::errc::protocol_violation));
}

BOOST_AUTO_TEST_CASE(register_without_epmd_is_unreachable) {
  asio::io_context io;
  tcp::endpoint ep;
  {
    // A port nobody listens on: bound, then released.
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ep = a.local_endpoint();
  }
  std::optional<std::error_code> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket(io);
        std::uint32_t c = 0;
        result = co_await epmd::register_node(socket, ep, "lab_b", 47001, c);
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  BOOST_REQUIRE(result);
  BOOST_TEST((*result == Errc::epmd_unreachable));
  BOOST_TEST((*result == hc::errc::unreachable));
}

BOOST_AUTO_TEST_CASE(port_please_outcomes) {
  epmd::PortInfo info;
  BOOST_TEST(!port_please_against({kPortPleaseBytes, {119, 0, 0xB7, 0x99, 77, 0, 0, 6, 0, 5, 0, 0}}, &info));
  BOOST_TEST(info.port == 47001);
  auto unknown = port_please_against({kPortPleaseBytes, {119, 1}});
  BOOST_TEST((unknown == Errc::epmd_unknown_node));
  BOOST_TEST((unknown == hc::errc::not_found));
  BOOST_TEST((port_please_against({kPortPleaseBytes, {}}) == Errc::epmd_failure));
  BOOST_TEST((port_please_against({kPortPleaseBytes, {119, 0, 1}}) == Errc::epmd_bad_answer));
  BOOST_TEST((port_please_against({kPortPleaseBytes, {120, 0}}) == Errc::epmd_bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()
