// InboundDecoder without sockets: frames are fed by hand (pass-through and
// distribution-header ones, fragments, malformed ones) and the deliveries
// recorded, the worker's completions run by polling the io_context.
#include "cnode/inbound_decoder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "cnode/connection.hpp"
#include "cnode/error.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::cnode;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

class NoHandler final : public ConnectionHandler {
 public:
  std::string decide_status(Connection&, std::string_view) override { return "ok"; }
  bool on_established(const std::shared_ptr<Connection>&) override { return true; }
  void on_frame(Connection&, std::span<const std::uint8_t>) override {}
  void on_closed(const std::shared_ptr<Connection>&, std::error_code) override {}
};

struct Delivery {
  Connection* conn;
  std::optional<Term> payload;  // nullopt: malformed
  std::string error;
  std::size_t bytes;
};

// A decoder that offloads messages of 4 KiB and more, and two (never
// started) connections to feed it.
struct Fixture {
  asio::io_context io;
  NoHandler handler;
  std::vector<Delivery> got;
  InboundDecoder decoder{io, 1 << 30, 4096, [this](Connection& c, Result<DistFrame>& r, std::size_t bytes) {
                           if (r) got.push_back({&c, r->payload, {}, bytes});
                           else got.push_back({&c, std::nullopt, r.message(), bytes});
                         }};
  std::shared_ptr<Connection> c1 = make(), c2 = make();
  std::shared_ptr<Connection> make() {
    return std::make_shared<Connection>(DistStream(asio::ip::tcp::socket(io)), ConnectionConfig{},
                                        Handshake::Role::acceptor, "", handler);
  }
  // Run completions until `n` deliveries (bounded).
  bool wait_for(std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    io.restart();
    while (got.size() < n && std::chrono::steady_clock::now() < until) io.run_one_for(10ms);
    return got.size() >= n;
  }
};

const Pid kFrom{Atom("from@127.0.0.1"), 1, 0, 1}, kTo{Atom("to@127.0.0.1"), 2, 0, 1};

// One frame (without its 4-byte length) carrying `t`, in `format`.
std::vector<std::uint8_t> frame_of(const Term& t, FrameFormat format) {
  auto bytes = encode_dist_frame(ctrl::SendSender{kFrom, kTo}, &t, format);
  return {bytes.begin() + 4, bytes.end()};
}

Term big_list(int n) {
  std::vector<Term> items;
  for (int i = 0; i < n; ++i) items.emplace_back(i);
  return Term::list(std::move(items));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(inbound_decoder_test)

BOOST_FIXTURE_TEST_CASE(small_messages_are_delivered_at_once_large_ones_after_the_worker, Fixture) {
  decoder.feed(*c1, frame_of(Term(1), FrameFormat::dist_header));
  BOOST_REQUIRE(got.size() == 1u);  // inline: no io turn needed
  BOOST_TEST(*got[0].payload == Term(1));
  decoder.feed(*c1, frame_of(big_list(5000), FrameFormat::dist_header));
  BOOST_TEST(got.size() == 1u);
  BOOST_TEST(decoder.decoding(*c1));
  decoder.feed(*c1, frame_of(Term(2), FrameFormat::dist_header));  // waits behind the large one
  BOOST_TEST(got.size() == 1u);
  BOOST_TEST(decoder.bytes_held(*c1) > 0u);
  // Another connection is not held up.
  decoder.feed(*c2, frame_of(Term(3), FrameFormat::pass_through));
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST((got[1].conn == c2.get()));
  BOOST_REQUIRE(wait_for(4));
  BOOST_TEST(*got[2].payload == big_list(5000));
  BOOST_TEST(*got[3].payload == Term(2));
  BOOST_TEST((got[3].conn == c1.get()));
  BOOST_TEST(decoder.offloaded() == 1u);
  BOOST_TEST(!decoder.decoding(*c1));
  BOOST_TEST(decoder.bytes_held(*c1) == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_large_pass_through_frame_is_offloaded_too, Fixture) {
  decoder.feed(*c1, frame_of(big_list(5000), FrameFormat::pass_through));
  BOOST_TEST(decoder.decoding(*c1));
  BOOST_REQUIRE(wait_for(1));
  BOOST_TEST(*got[0].payload == big_list(5000));
}

BOOST_FIXTURE_TEST_CASE(a_fragmented_message_is_reassembled_then_decoded_on_the_worker, Fixture) {
  // 131,69 first fragment and 131,70 the rest, as OTP sends a large message.
  const Term big = big_list(8000);
  auto whole = frame_of(big, FrameFormat::dist_header);  // 131, 68, 0, Body
  std::span<const std::uint8_t> body(whole.data() + 3, whole.size() - 3);
  const std::size_t half = body.size() / 2;
  std::vector<std::uint8_t> f1{131, 69, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0};
  f1.insert(f1.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(half));
  std::vector<std::uint8_t> f2{131, 70, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1};
  f2.insert(f2.end(), body.begin() + static_cast<std::ptrdiff_t>(half), body.end());
  decoder.feed(*c1, f1);
  BOOST_TEST(!decoder.decoding(*c1));
  decoder.feed(*c1, f2);
  BOOST_TEST(decoder.decoding(*c1));
  BOOST_REQUIRE(wait_for(1));
  BOOST_TEST(*got[0].payload == big);
  BOOST_TEST(got[0].bytes == body.size());
}

BOOST_FIXTURE_TEST_CASE(a_malformed_large_message_is_reported_and_the_next_one_delivered, Fixture) {
  auto bad = frame_of(big_list(5000), FrameFormat::dist_header);
  bad.resize(bad.size() - 3);  // the payload's list is cut short
  decoder.feed(*c1, bad);
  decoder.feed(*c1, frame_of(Term(9), FrameFormat::dist_header));
  BOOST_REQUIRE(wait_for(2));
  BOOST_TEST(!got[0].payload.has_value());
  BOOST_TEST(got[0].error.find("payload") != std::string::npos, got[0].error);
  BOOST_TEST(got[0].bytes == bad.size() - 3);  // the body: the frame without 131, 68, 0
  BOOST_TEST(*got[1].payload == Term(9));
}

BOOST_FIXTURE_TEST_CASE(a_forgotten_connection_gets_neither_its_decode_nor_what_waited, Fixture) {
  decoder.feed(*c1, frame_of(big_list(20000), FrameFormat::dist_header));
  decoder.feed(*c1, frame_of(Term(1), FrameFormat::dist_header));
  BOOST_REQUIRE(decoder.decoding(*c1));
  decoder.forget(*c1);
  decoder.feed(*c2, frame_of(big_list(5000), FrameFormat::dist_header));
  BOOST_REQUIRE(wait_for(1));
  // Give a stale completion of c1 every chance to run.
  io.restart();
  io.run_for(200ms);
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST((got[0].conn == c2.get()));
  // c1's next messages (a connection object reused) start afresh.
  decoder.feed(*c1, frame_of(Term(5), FrameFormat::dist_header));
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST(*got[1].payload == Term(5));
}

// A payload decoder claims the payloads it recognises (here: lists of
// integers, delivered as an atom), small (inline) or large (worker), in
// both frame formats; payloads it declines get the general decoder; an
// error it reports is a malformed message; a later decoder under the same
// key replaces the first.
BOOST_FIXTURE_TEST_CASE(payload_decoders_claim_large_payloads_of_their_shape, Fixture) {
  int calls = 0;
  decoder.add_payload_decoder("lists", [&calls](std::span<const std::uint8_t> body) -> std::optional<Result<Term>> {
    ++calls;
    if (body.empty() || body[0] != 108) return std::nullopt;  // LIST_EXT
    if (body.size() > 20000) return Result<Term>(Error(TermError::bad_length, "too long for this test"));
    return Result<Term>(Term(Atom("a_list")));
  });
  decoder.feed(*c1, frame_of(big_list(2000), FrameFormat::dist_header));
  BOOST_REQUIRE(wait_for(1));
  decoder.feed(*c1, frame_of(big_list(2000), FrameFormat::pass_through));
  BOOST_REQUIRE(wait_for(2));
  decoder.feed(*c1, frame_of(big_list(300), FrameFormat::dist_header));        // small: inline
  decoder.feed(*c1, frame_of(Term::binary(std::string(9000, 'x')), FrameFormat::dist_header));  // declined
  BOOST_REQUIRE(wait_for(4));
  decoder.feed(*c1, frame_of(big_list(5000), FrameFormat::dist_header));       // an error of the decoder
  BOOST_REQUIRE(wait_for(5));
  BOOST_REQUIRE_EQUAL(got.size(), 5u);
  BOOST_CHECK(got[0].payload && *got[0].payload == Term(Atom("a_list")));
  BOOST_CHECK(got[1].payload && *got[1].payload == Term(Atom("a_list")));
  BOOST_CHECK(got[2].payload && *got[2].payload == Term(Atom("a_list")));
  BOOST_CHECK(got[3].payload && got[3].payload->as_binary()->size() == 9000u);
  BOOST_CHECK(!got[4].payload);
  BOOST_CHECK_MESSAGE(got[4].error.find("too long for this test") != std::string::npos, got[4].error);
  BOOST_CHECK_EQUAL(calls, 5);

  decoder.add_payload_decoder("lists", [](std::span<const std::uint8_t>) -> std::optional<Result<Term>> {
    return std::nullopt;
  });
  decoder.feed(*c1, frame_of(big_list(2000), FrameFormat::dist_header));
  BOOST_REQUIRE(wait_for(6));
  BOOST_CHECK(got[5].payload && *got[5].payload == big_list(2000));
  BOOST_CHECK_EQUAL(calls, 5);
}

BOOST_AUTO_TEST_CASE(the_destructor_waits_for_a_running_decode_and_runs_no_completion) {
  asio::io_context io;
  NoHandler handler;
  int deliveries = 0;
  auto conn = std::make_shared<Connection>(DistStream(asio::ip::tcp::socket(io)), ConnectionConfig{},
                                           Handshake::Role::acceptor, "", handler);
  {
    InboundDecoder d(io, 1 << 30, 4096, [&](Connection&, Result<DistFrame>&, std::size_t) { ++deliveries; });
    d.feed(*conn, frame_of(big_list(50000), FrameFormat::dist_header));
    BOOST_TEST(d.decoding(*conn));
  }
  io.restart();
  io.run_for(100ms);
  BOOST_TEST(deliveries == 0);
}

BOOST_AUTO_TEST_SUITE_END()
