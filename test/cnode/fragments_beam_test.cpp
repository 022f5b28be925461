// Fragmented messages from a real OTP node (label beam): with FRAGMENTS
// negotiated the BEAM splits large messages into fragments; they arrive
// whole, and the frames we send (after a distribution header) are accepted.
#include "cnode/node.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/gen_server.hpp"
#include "support/beam_node.hpp"
#include "support/cluster_support.hpp"

using namespace hc;
using namespace hc::cnode;
using hc::test::BeamNode;
using hc::test::unique_name;

namespace {
class Echo final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& req, const Term&) override { return req; }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(fragments_beam_test)

BOOST_AUTO_TEST_CASE(large_messages_arrive_in_fragments_and_whole) {
  const std::string cookie = unique_name("cookie");
  NodeRunner cpp(test::loopback_node_options(unique_name("cpp_frag"), cookie));
  BOOST_REQUIRE(!cpp.start());
  cpp.run([&] { return cpp.node().spawn(std::make_unique<Echo>(), {.register_as = Atom("echo")}); }).get();
  BeamNode beam({.name = unique_name("beam_frag"), .cookie = cookie});
  const std::string n = "'" + std::string(cpp.node().name().text()) + "'";
  BOOST_REQUIRE_EQUAL(beam.eval("net_adm:ping(" + n + ")."), "pong");
  const auto before = cpp.run([&] { return cpp.node().stats().frames_in; }).get();
  // 8 MB out and back: the BEAM fragments it (64 KiB pieces), we answer it whole.
  BOOST_TEST(beam.eval("B = crypto:strong_rand_bytes(8000000), {big, B} =:= gen_server:call({echo, " + n +
                       "}, {big, B}, 30000).") == "true");
  const auto frames = cpp.run([&] { return cpp.node().stats().frames_in; }).get() - before;
  BOOST_TEST(frames > 100u, frames << " frames for one 8 MB call");
  // Small messages keep working on the same connection afterwards.
  BOOST_TEST(beam.eval("gen_server:call({echo, " + n + "}, small).") == "small");
}

BOOST_AUTO_TEST_SUITE_END()
