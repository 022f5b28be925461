// The horde-cnode program as an operator runs it: --version, usage errors
// before anything listens, the stdin-close switch, SIGHUP, a name in use, a
// connection to epmd lost while registering.
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "sdk/version.hpp"
#include "support/beam_node.hpp"
#include "support/child_process.hpp"
#include "support/cluster_support.hpp"

using namespace hc;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> node_argv(const std::string& name, const std::string& cookie,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{test::horde_cnode_executable().string(), "--name", name, "--cookie", cookie,
                                "--listen", "127.0.0.1", "--log-level", "info", "--no-default-roles"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Whether epmd lists `short_name` (`epmd -names`).
bool in_epmd(const std::string& short_name) {
  const std::string names = test::run_capture("epmd -names 2>/dev/null");
  return names.find("name " + short_name + " at port") != std::string::npos;
}

// Waits until the node's log says it listens (it is then registered in epmd).
bool wait_listening(test::ChildProcess& p) {
  return test::eventually([&] { return p.err().find("listening on port") != std::string::npos; }, 10s);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(program_beam_test)

BOOST_AUTO_TEST_CASE(version_names_the_build) {
  test::TempDir dir;
  auto r = test::run_program({test::horde_cnode_executable().string(), "--version"}, dir);
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out.find(std::string("horde-cnode ") + sdk::kVersion) == 0, r.out);
  BOOST_TEST(r.out.find(std::string("erl_interface ") + sdk::kErlInterfaceVersion) != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(bad_values_exit_2_before_listening) {
  test::TempDir dir;
  // A running BEAM node makes sure epmd runs, so "not registered" means something.
  test::BeamNode beam{{test::unique_name("prog_beam"), test::unique_name("cookie")}};
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{{{"--sync-interval", "abc"}, "--sync-interval 'abc'"},
                                         {{"--tick", "-1"}, "--tick '-1'"},
                                         {{"--members", "x"}, "'x' in --members"},
                                         {{"--bogus"}, "'--bogus'"},
                                         {{"stray"}, "unexpected argument"}}) {
    const std::string short_name = test::unique_name("prog_bad");
    auto r = test::run_program(node_argv(short_name + "@127.0.0.1", "c", c.extra), dir, 20s);
    BOOST_TEST_CONTEXT(c.message) {
      BOOST_TEST(r.status == 2);
      BOOST_TEST(r.err.find(c.message) != std::string::npos, r.err);
      BOOST_TEST(r.err.find("listening") == std::string::npos, r.err);
      BOOST_TEST(!in_epmd(short_name));
    }
  }
}

BOOST_AUTO_TEST_CASE(stdin_close_stops_the_node_gracefully) {
  test::TempDir dir;
  test::BeamNode beam{{test::unique_name("prog_beam"), test::unique_name("cookie")}};
  const std::string short_name = test::unique_name("prog_stdin");
  test::ChildProcess p(node_argv(short_name + "@127.0.0.1", beam.cookie(), {"--exit-on-stdin-close"}), dir,
                       {.stdin_pipe = true});
  BOOST_REQUIRE_MESSAGE(wait_listening(p), p.err());
  BOOST_TEST(beam.eval("net_adm:ping('" + short_name + "@127.0.0.1').") == "pong");
  // SIGHUP is logged and ignored.
  p.signal(SIGHUP);
  BOOST_TEST(test::eventually([&] { return p.err().find("SIGHUP received and ignored") != std::string::npos; }, 5s),
             p.err());
  BOOST_TEST(p.running());
  // Stdin reaching EOF (the BEAM that owned the Port died) stops it with status 0.
  p.close_stdin();
  auto status = p.wait_for(10s);
  BOOST_REQUIRE_MESSAGE(status.has_value(), "still running after stdin closed:\n" << p.err());
  BOOST_TEST(*status == 0);
  BOOST_TEST(p.err().find("standard input closed") != std::string::npos, p.err());
  BOOST_TEST(test::eventually([&] { return !in_epmd(short_name); }, 5s));
}

BOOST_AUTO_TEST_CASE(without_the_switch_stdin_eof_is_ignored) {
  test::TempDir dir;
  test::BeamNode beam{{test::unique_name("prog_beam"), test::unique_name("cookie")}};
  const std::string short_name = test::unique_name("prog_nostdin");
  test::ChildProcess p(node_argv(short_name + "@127.0.0.1", beam.cookie()), dir, {.stdin_pipe = true});
  BOOST_REQUIRE_MESSAGE(wait_listening(p), p.err());
  p.close_stdin();
  BOOST_TEST(!p.wait_for(1500ms).has_value());
  p.signal(SIGTERM);
  BOOST_TEST(p.wait_for(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_name_in_use_exits_3_and_says_so) {
  test::TempDir dir;
  test::BeamNode beam{{test::unique_name("prog_taken"), test::unique_name("cookie")}};
  // The BEAM node holds the name in epmd.
  const std::string taken = beam.node_name();
  auto r = test::run_program(node_argv(taken, beam.cookie()), dir, 20s);
  BOOST_TEST(r.status == 3, r.err);
  BOOST_TEST(r.err.find("in use") != std::string::npos, r.err);
}

// An "epmd" that reads the registration and hangs up without answering:
// the connection was lost, the name is not taken — exit 1 (a retry may
// succeed), not 3, and the message says which.
BOOST_AUTO_TEST_CASE(an_epmd_that_hangs_up_is_a_lost_connection_not_a_name_in_use) {
  namespace asio = boost::asio;
  using asio::ip::tcp;
  test::TempDir dir;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string port = std::to_string(acceptor.local_endpoint().port());
  tcp::socket peer(io);
  std::uint8_t request[4];
  acceptor.async_accept(peer, [&](boost::system::error_code ec) {
    if (ec) return;
    // The start of ALIVE2_REQ, then close.
    asio::async_read(peer, asio::buffer(request), [&](boost::system::error_code, std::size_t) { peer.close(); });
  });
  auto guard = asio::make_work_guard(io);
  std::thread server([&] { io.run(); });
  auto r = test::run_program(node_argv(test::unique_name("prog_lost") + "@127.0.0.1", "cookie",
                                       {"--epmd-port", port, "--no-epmd-start"}),
                             dir, 20s);
  guard.reset();
  io.stop();
  server.join();
  BOOST_TEST(r.status == 1, r.err);
  BOOST_TEST(r.err.find("lost the connection to epmd") != std::string::npos, r.err);
  BOOST_TEST(r.err.find(" is in use") == std::string::npos, r.err);  // the name-in-use message
}

BOOST_AUTO_TEST_SUITE_END()
