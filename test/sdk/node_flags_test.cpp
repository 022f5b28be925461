#include "sdk/node_flags.hpp"

#include <boost/program_options/parsers.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>

#include "sdk/horde_roles.hpp"
#include "support/child_process.hpp"

using namespace hc;
namespace po = boost::program_options;

namespace {

po::options_description all_options(sdk::Extension& roles) {
  po::options_description all;
  po::options_description node("Node");
  sdk::add_node_options(node);
  po::options_description r("roles");
  roles.add_options(r);
  all.add(node).add(r);
  return all;
}

po::variables_map parse(const std::vector<std::string>& args) {
  auto roles = sdk::make_horde_roles(horde::WorkerKinds::builtin());
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all_options(*roles)).run(), vm);
  po::notify(vm);
  return vm;
}

std::string node_error(const std::vector<std::string>& args) {
  auto r = sdk::node_flags(parse(args));
  auto* e = std::get_if<std::string>(&r);
  return e ? *e : "";
}

std::string roles_error(const std::vector<std::string>& args) {
  auto roles = sdk::make_horde_roles(horde::WorkerKinds::builtin());
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all_options(*roles)).run(), vm);
  po::notify(vm);
  return roles->configure(vm);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(node_flags_test)

BOOST_AUTO_TEST_CASE(flags_become_node_options) {
  auto r = sdk::node_flags(parse({"--name", "a@127.0.0.1", "--cookie", "c", "--connect", "b@127.0.0.1",
                                  "--connect=c@127.0.0.1", "--port", "4370", "--listen", "127.0.0.1", "--tick",
                                  "250", "--max-frame", "2048", "--no-discovery", "--epmd-port", "4999",
                                  "--log-level", "debug", "--exit-on-stdin-close", "--dial-timeout", "1500",
                                  "--max-pending-sends", "10", "--max-send-queue", "1048576"}));
  BOOST_REQUIRE(std::holds_alternative<sdk::NodeFlags>(r));
  const auto& f = std::get<sdk::NodeFlags>(r);
  BOOST_TEST(f.node.name == "a@127.0.0.1");
  BOOST_TEST(f.node.cookie == "c");
  BOOST_TEST(f.node.connect == (std::vector<std::string>{"b@127.0.0.1", "c@127.0.0.1"}),
             boost::test_tools::per_element());
  BOOST_TEST(f.node.port == 4370);
  BOOST_TEST(f.node.listen_address == "127.0.0.1");
  BOOST_TEST(f.node.tick_interval.count() == 250);
  BOOST_TEST(f.node.max_frame == 2048u);
  BOOST_TEST(!f.node.discovery);
  BOOST_TEST(f.node.epmd_port == 4999);
  BOOST_TEST(f.log_level == "debug");
  BOOST_TEST(f.exit_on_stdin_close);
  BOOST_TEST(f.node.dial_timeout.count() == 1500);
  BOOST_TEST(f.node.max_pending_sends == 10u);
  BOOST_TEST(f.node.max_send_queue == 1048576u);
}

BOOST_AUTO_TEST_CASE(every_bad_value_is_named) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<std::string> base{"--name", "a@127.0.0.1", "--cookie", "c"};
  for (const Case& c : std::vector<Case>{
           {{"--cookie", "c"}, "missing required option --name"},
           {{"--name", "nohost", "--cookie", "c"}, "invalid --name 'nohost'"},
           {{"--port", "70000"}, "invalid --port '70000'"},
           {{"--tick", "0"}, "invalid --tick '0'"},
           {{"--max-frame", "12"}, "invalid --max-frame '12'"},
           {{"--epmd-port", "x"}, "invalid --epmd-port 'x'"},
           {{"--dial-timeout", "-1"}, "invalid --dial-timeout '-1'"},
           {{"--max-pending-sends", "0"}, "invalid --max-pending-sends '0'"},
           {{"--max-send-queue", "100"}, "invalid --max-send-queue '100'"},
           {{"--log-level", "loud"}, "invalid --log-level 'loud'"},
           {{"--connect", "bad"}, "invalid node name 'bad' for --connect"},
           {{"--cookie-file", "/nonexistent/cookie"}, "give either --cookie or --cookie-file"},
       }) {
    std::vector<std::string> args = c.args;
    if (c.args.front() != "--cookie" && c.args.front() != "--name") args.insert(args.begin(), base.begin(), base.end());
    BOOST_TEST_CONTEXT(c.expected) { BOOST_TEST(node_error(args).find(c.expected) != std::string::npos, node_error(args)); }
  }
  BOOST_TEST(node_error({"--name", "a@127.0.0.1", "--cookie-file", "/nonexistent/cookie"}).find(
                 "cannot read a cookie from --cookie-file '/nonexistent/cookie'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cookie_from_file_and_environment) {
  test::TempDir dir;
  const auto file = dir.path() / "cookie";
  {
    std::ofstream(file) << "from_file\nignored\n";
  }
  auto r = sdk::node_flags(parse({"--name", "a@127.0.0.1", "--cookie-file", file.string()}));
  BOOST_REQUIRE(std::holds_alternative<sdk::NodeFlags>(r));
  BOOST_TEST(std::get<sdk::NodeFlags>(r).node.cookie == "from_file");
  ::setenv("HORDE_CNODE_COOKIE", "from_env", 1);
  auto e = sdk::node_flags(parse({"--name", "a@127.0.0.1"}));
  ::unsetenv("HORDE_CNODE_COOKIE");
  BOOST_REQUIRE(std::holds_alternative<sdk::NodeFlags>(e));
  BOOST_TEST(std::get<sdk::NodeFlags>(e).node.cookie == "from_env");
}

BOOST_AUTO_TEST_CASE(erl_epmd_port_is_the_default) {
  ::setenv("ERL_EPMD_PORT", "4444", 1);
  auto r = sdk::node_flags(parse({"--name", "a@127.0.0.1", "--cookie", "c"}));
  auto bad = (::setenv("ERL_EPMD_PORT", "0", 1), node_error({"--name", "a@127.0.0.1", "--cookie", "c"}));
  ::unsetenv("ERL_EPMD_PORT");
  BOOST_REQUIRE(std::holds_alternative<sdk::NodeFlags>(r));
  BOOST_TEST(std::get<sdk::NodeFlags>(r).node.epmd_port == 4444);
  BOOST_TEST(bad.find("invalid ERL_EPMD_PORT '0'") != std::string::npos, bad);
  // The flag wins over the environment.
  ::setenv("ERL_EPMD_PORT", "4444", 1);
  auto f = sdk::node_flags(parse({"--name", "a@127.0.0.1", "--cookie", "c", "--epmd-port", "4555"}));
  ::unsetenv("ERL_EPMD_PORT");
  BOOST_TEST(std::get<sdk::NodeFlags>(f).node.epmd_port == 4555);
}

BOOST_AUTO_TEST_CASE(role_flags_are_checked) {
  BOOST_TEST(roles_error({"--members", "a@127.0.0.1,auto"}) == "");
  BOOST_TEST(roles_error({"--members", "nohost"}).find("invalid node name 'nohost' in --members") != std::string::npos);
  BOOST_TEST(roles_error({"--sync-interval", "-5"}).find("invalid --sync-interval '-5'") != std::string::npos);
  BOOST_TEST(roles_error({"--distribution", "random"}).find("invalid --distribution 'random'") != std::string::npos);
  for (const char* s : {"uniform", "uniform_quorum", "uniform_random", "mixed", "mixed_quorum", "mixed_random"})
    BOOST_TEST(roles_error({"--distribution", s}) == "", s);
  BOOST_TEST(roles_error({"--distribution", "mixed", "--cpp-namespace", "MyCpp"}) == "");
}

BOOST_AUTO_TEST_CASE(module_atoms_follow_elixir_aliases) {
  BOOST_TEST(sdk::module_atom("MyApp.Registry") == Atom("Elixir.MyApp.Registry"));
  BOOST_TEST(sdk::module_atom("Elixir.MyApp.Registry") == Atom("Elixir.MyApp.Registry"));
  BOOST_TEST(sdk::module_atom("my_registry") == Atom("my_registry"));
}

BOOST_AUTO_TEST_SUITE_END()
