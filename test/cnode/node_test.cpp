// The Node facade with its parts wired: NodeOptions::dial_timeout runs on the
// node's injected TimerService, and what a process waits for on that node
// (a monitor, a connect) ends with it. The peer's "epmd" is a local socket
// that accepts and never answers, so the dial hangs exactly where a
// firewalled or overloaded host would leave it; no BEAM is needed.
#include "cnode/node.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/test/unit_test.hpp>

#include "cnode/error.hpp"
#include "cnode/links_monitors.hpp"
#include "support/cluster_support.hpp"
#include "io_loop.hpp"

using namespace hc;
using namespace hc::cnode;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cnode::test::run_for;
using cnode::test::run_until;
using asio::ip::tcp;

namespace {

// Accepts connections and keeps them open without a byte of answer.
struct SilentServer {
  tcp::acceptor acceptor;
  std::vector<std::shared_ptr<tcp::socket>> held;
  explicit SilentServer(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  void accept() {
    auto s = std::make_shared<tcp::socket>(acceptor.get_executor());
    acceptor.async_accept(*s, [this, s](boost::system::error_code ec) {
      if (ec) return;
      held.push_back(s);
      accept();
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};


}  // namespace

BOOST_AUTO_TEST_SUITE(node_test)

BOOST_AUTO_TEST_CASE(a_dial_that_hangs_ends_at_dial_timeout_with_noconnection_for_monitors) {
  asio::io_context io;
  SilentServer epmd(io);
  NodeOptions o = hc::test::loopback_node_options("unit_dial", "c");
  o.use_epmd = false;
  o.epmd_port = epmd.port();  // where the peer's epmd is asked for its port
  o.dial_timeout = 3000ms;
  auto timers = std::make_unique<ManualTimerService>();
  ManualTimerService& clock = *timers;
  std::vector<Term> got;  // before the node: its processes write here until it stops
  Node node(io, o, std::move(timers));
  bool started = false;
  node.start([&](std::error_code ec) { started = !ec; });
  BOOST_REQUIRE(run_until(io, [&] { return started; }));

  const Atom ghost("ghost@127.0.0.1");
  const Pid w = node.spawn_fn([&](Process&, const Term& m) { got.push_back(m); });
  const Reference ref = node.find(w)->monitor(Dest(Atom("srv"), ghost));
  std::optional<std::error_code> outcome;
  node.connect(ghost, [&](std::error_code ec) { outcome = ec; });
  BOOST_REQUIRE(run_until(io, [&] { return !epmd.held.empty(); }));  // the lookup is under way, unanswered
  BOOST_TEST(!node.is_connected(ghost));

  clock.advance(2999ms);
  run_for(io, 50ms);
  BOOST_TEST(!outcome);
  BOOST_TEST(got.empty());

  clock.advance(1ms);
  BOOST_REQUIRE(run_until(io, [&] { return outcome && !got.empty(); }));
  BOOST_TEST(*outcome == make_error_code(Errc::dial_timeout));
  BOOST_TEST(got == (std::vector<Term>{make_down(ref, tuple(Atom("srv"), ghost), Term(Atom("noconnection")))}));
  node.stop();
  run_for(io, 50ms);
}

BOOST_AUTO_TEST_SUITE_END()
