// Real-Horde tier over TLS distribution: a BEAM node running Horde 0.10.0
// with `-proto_dist inet_tls -ssl_dist_optfile F` and a C++ node with the
// same option file share a Horde.Registry and a Horde.DynamicSupervisor
// (HordeCnode.MixedDistribution). Exits 77 (skipped) without Horde.
#include <cstdio>
#include <cstdlib>

#include "horde/echo_process.hpp"
#include "horde/registry_api.hpp"
#include "horde/registry_process.hpp"
#include "support/tls_certs.hpp"
#include "supervisor_test_support.hpp"

using namespace hc;
using namespace hc::test::sup;
using hc::test::BeamNode;
using hc::test::unique_name;

namespace {

const std::string& horde_erl_libs() {
  static const std::string libs = hc::test::erl_libs_or_skip("Elixir.Horde.Registry", "horde, delta_crdt, merkle_map, libring and telemetry");
  return libs;
}

cnode::TlsDistOptions tls_options(const std::string& optfile) {
  cnode::TlsOptionProblem p;
  auto r = cnode::load_ssl_dist_optfile(optfile, &p);
  BOOST_REQUIRE_MESSAGE(r.ok(), p.detail);
  BOOST_REQUIRE(!cnode::finalize(*r, &p));
  return *r;
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_horde_test)

BOOST_AUTO_TEST_CASE(tls_mixed_cluster_with_a_registry_and_a_supervisor) {
  const std::string& libs = horde_erl_libs();
  hc::test::TlsCerts certs;
  const std::string optfile = certs.optfile("dist.conf");
  const std::string cookie = unique_name("cookie");
  const Atom reg("Elixir.TlsTest.Registry"), sup("Elixir.TlsTest.Sup");

  auto options = hc::test::loopback_node_options(unique_name("cpp_tls"), cookie);
  options.tls = tls_options(optfile);
  cnode::NodeRunner cpp(options);
  BOOST_REQUIRE(!cpp.start());
  const Atom cpp_name = cpp.node().name();

  BeamNode beam({.name = unique_name("beam_tls"), .cookie = cookie, .erl_libs = libs,
                 .extra_args = {"-proto_dist", "inet_tls", "-ssl_dist_optfile", optfile}, .elixir = false});
  const Atom beam_name(beam.node_name());
  beam.eval("logger:set_primary_config(level, warning), {ok, _} = application:ensure_all_started(elixir), ok.");
  beam.eval("_ = 'Elixir.Code':require_file(<<\"" + std::string(HC_SOURCE_DIR) +
                "/erlang_harness/supervisor_harness.exs\">>), ok.",
            60s);

  // The C++ side: both roles, members [beam, cpp].
  cpp.run([&] {
    horde::RegistryOptions ro;
    ro.name = reg;
    ro.sync_interval = 100ms;
    ro.members = {horde::MemberSpec{reg, beam_name}, horde::MemberSpec{reg, cpp_name}};
    BOOST_REQUIRE(horde::RegistryProcess::start(cpp.node(), ro));
    horde::SupervisorOptions so;
    so.name = sup;
    so.members = {tuple(sup, beam_name), tuple(sup, cpp_name)};
    so.sync_interval = 100ms;
    so.strategy = std::make_shared<horde::MixedDistribution>();
    BOOST_REQUIRE(horde::SupervisorProcess::start(cpp.node(), so));
    cpp.node().add_peer(beam_name);
  }).get();
  // The BEAM side: real Horde.
  const std::string both = "[" + q(beam_name.text()) + ", " + q(cpp_name.text()) + "]";
  BOOST_REQUIRE_EQUAL(
      beam.eval("{ok, R} = 'Elixir.Horde.Registry':start_link([{name, " + q(reg.text()) + "}, {keys, unique}, "
                "{members, [{" + q(reg.text()) + ", N} || N <- " + both + "]}, "
                "{delta_crdt_options, [{sync_interval, 100}]}]), unlink(R), ok."),
      "ok");
  BOOST_REQUIRE_EQUAL(beam.eval("'Elixir.HordeCnodeTest.Peer':start(" + q(sup.text()) + ", mixed, " + both + ", 100)."),
                      "ok");
  BOOST_REQUIRE(eventually([&] { return cpp.run([&] { return cpp.node().is_connected(beam_name); }).get(); }, 15s));
  BOOST_TEST(beam.eval("{ok, I} = net_kernel:node_info(" + q(cpp_name.text()) +
                       "), element(4, proplists:get_value(address, I)).") == "tls");

  // Registry: a name registered on the BEAM is seen in C++, and the other way.
  beam.eval("Owner = spawn(fun() -> {ok, _} = 'Elixir.Horde.Registry':register(" + q(reg.text()) +
            ", <<\"beam-key\">>, bv), receive stop -> ok end end), ok.");
  auto lookup_cpp = [&](const Term& key) {
    return cpp.run([&] {
      auto api = horde::RegistryApi::find(cpp.node(), reg);
      return api ? api->lookup(key) : std::nullopt;
    }).get();
  };
  BOOST_TEST(eventually([&] { return lookup_cpp(binary("beam-key")).has_value(); }, 15s));
  const Pid echo = cpp.run([&] { return cpp.node().spawn(std::make_unique<horde::EchoProcess>()); }).get();
  auto registered = cpp.run([&] { return horde::RegistryApi::find(cpp.node(), reg)->register_pid(echo, binary("cpp-key"), Term(atom("cv"))); }).get();
  BOOST_REQUIRE(registered.ok());
  BOOST_TEST(eventually([&] {
    return beam.eval("'Elixir.Horde.Registry':lookup(" + q(reg.text()) + ", <<\"cpp-key\">>) =/= [].") == "true";
  }, 15s));
  BOOST_TEST(beam.eval("'Elixir.GenServer':call({via, 'Elixir.Horde.Registry', {" + q(reg.text()) +
                       ", <<\"cpp-key\">>}}, over_tls).") == "over_tls");

  // Supervisor: the BEAM starts a C++ worker kind, which runs on the C++ node.
  BOOST_REQUIRE(eventually([&] {
    return beam.eval("length([M || M = #{status := alive} <- maps:values(element(2, maps:find(members_info, "
                     "sys:get_state(" + q(sup.text()) + "))))]).") == "2";
  }, 15s));
  BOOST_TEST(beam.eval("{ok, W} = 'Elixir.Horde.DynamicSupervisor':start_child(" + q(sup.text()) +
                       ", #{id => c, start => {'Elixir.CppWorkers.Counter', start_link, [40]}}), node(W).") ==
             q(cpp_name.text()));
  BOOST_TEST(beam.eval("'Elixir.GenServer':call(W, {add, 2}).") == "42");
}

BOOST_AUTO_TEST_SUITE_END()
