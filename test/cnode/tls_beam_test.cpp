// TLS distribution against real OTP nodes running `-proto_dist inet_tls
// -ssl_dist_optfile F` with the same option file (label beam).
#include "cnode/dist_stream.hpp"
#include "cnode/node.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <mutex>

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "support/beam_node.hpp"
#include "support/cluster_support.hpp"
#include "support/tls_certs.hpp"

using namespace hc;
using namespace hc::cnode;
using hc::test::BeamNode;
using hc::test::unique_name;
using namespace std::chrono_literals;

namespace {

class Echo final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& req, const Term&) override {
    if (req.is_atom("stop")) {
      exit(Term(Atom("normal")));
      return Term(Atom("ok"));
    }
    return req;
  }
};

// Collects log lines for assertions about what was logged.
class LogCapture {
 public:
  LogCapture() {
    log::set_sink([this](log::Level, std::string_view text) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(text);
    });
  }
  ~LogCapture() { log::set_sink({}); }
  bool contains(std::string_view a, std::string_view b = {}) {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_)
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TlsDistOptions load(const std::string& file) {
  TlsOptionProblem p;
  auto r = load_ssl_dist_optfile(file, &p);
  BOOST_REQUIRE_MESSAGE(r.ok(), p.detail);
  BOOST_REQUIRE(!finalize(*r, &p));
  return *r;
}

NodeOptions tls_node(const std::string& cookie, const std::string& optfile) {
  auto o = test::loopback_node_options(unique_name("cpp_tls"), cookie);
  o.tls = load(optfile);
  o.handshake_timeout = 4000ms;
  return o;
}

std::vector<std::string> tls_args(const std::string& optfile) {
  return {"-proto_dist", "inet_tls", "-ssl_dist_optfile", optfile};
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

struct Fixture {
  test::TlsCerts certs;
  std::string cookie = unique_name("cookie");
  std::string optfile = certs.optfile("dist.conf");
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_beam_test)

BOOST_FIXTURE_TEST_CASE(beam_pings_calls_and_monitors_over_tls, Fixture) {
  NodeRunner cpp(tls_node(cookie, optfile));
  BOOST_REQUIRE(!cpp.start());
  std::string name(cpp.node().name().text());
  cpp.run([&] { return cpp.node().spawn(std::make_unique<Echo>(), {.register_as = Atom("echo")}); }).get();

  BeamNode beam({.name = unique_name("beam_tls"), .cookie = cookie, .extra_args = tls_args(optfile)});
  BOOST_REQUIRE_EQUAL(beam.eval("net_adm:ping(" + q(name) + ")."), "pong");
  // The connection is TLS as far as the BEAM is concerned.
  BOOST_TEST(beam.eval("{ok, I} = net_kernel:node_info(" + q(name) + "), element(4, proplists:get_value(address, I)).") ==
             "tls");
  BOOST_TEST(beam.eval("gen_server:call({echo, " + q(name) + "}, {hello, [1,2,3], <<\"over tls\">>}).") ==
             "{hello,[1,2,3],<<\"over tls\">>}");
  // A large message crosses many TLS records.
  BOOST_TEST(beam.eval("byte_size(gen_server:call({echo, " + q(name) + "}, binary:copy(<<7>>, 1000000))).") ==
             "1000000");
  BOOST_TEST(beam.eval("Ref = erlang:monitor(process, {echo, " + q(name) + "}), gen_server:call({echo, " + q(name) +
                       "}, stop), receive {'DOWN', Ref, process, _, R} -> R after 5000 -> timeout end.") == "normal");
  // erpc too (spawn_request inside TLS).
  BOOST_TEST(beam.eval("erpc:call(" + q(name) + ", erlang, is_process_alive, [self()]).") == "false");
}

BOOST_FIXTURE_TEST_CASE(cpp_dials_a_tls_beam_node, Fixture) {
  BeamNode beam({.name = unique_name("beam_tls"), .cookie = cookie, .extra_args = tls_args(optfile)});
  NodeRunner cpp(tls_node(cookie, optfile));
  BOOST_REQUIRE(!cpp.start());
  std::promise<std::error_code> done;
  cpp.run([&] { cpp.node().connect(Atom(beam.node_name()), [&](std::error_code ec) { done.set_value(ec); }); }).get();
  auto f = done.get_future();
  BOOST_REQUIRE(f.wait_for(10s) == std::future_status::ready);
  auto ec = f.get();
  BOOST_REQUIRE_MESSAGE(!ec, ec.message());
  std::string name(cpp.node().name().text());
  BOOST_TEST(beam.eval("lists:member(" + q(name) + ", nodes()).") == "true");
  BOOST_TEST(beam.eval("{ok, I} = net_kernel:node_info(" + q(name) + "), element(4, proplists:get_value(address, I)).") ==
             "tls");
  // C++ -> BEAM messages over the connection C++ opened.
  cpp.run([&] {
    cpp.node().send(cpp.node().null_pid(), Dest(Atom("hc_inbox"), Atom(beam.node_name())), Term(Atom("from_cpp_tls")));
  }).get();
  BOOST_TEST(beam.eval("node_harness:take(5000).") == "{ok,from_cpp_tls}");
}

BOOST_FIXTURE_TEST_CASE(plain_tcp_nodes_do_not_get_in, Fixture) {
  LogCapture logs;
  NodeRunner cpp(tls_node(cookie, optfile));
  BOOST_REQUIRE(!cpp.start());
  std::string name(cpp.node().name().text());
  BeamNode plain({.name = unique_name("beam_plain"), .cookie = cookie});
  BOOST_TEST(plain.eval("net_adm:ping(" + q(name) + ").") == "pang");
  BOOST_TEST(cpp.run([&] { return cpp.node().connected_nodes().size(); }).get() == 0u);
  BOOST_TEST(test::eventually([&] { return logs.contains("TLS handshake with", "failed"); }));
  // And the TLS node cannot reach into the plain one either.
  std::promise<std::error_code> done;
  cpp.run([&] { cpp.node().connect(Atom(plain.node_name()), [&](std::error_code ec) { done.set_value(ec); }); }).get();
  auto f = done.get_future();
  BOOST_REQUIRE(f.wait_for(15s) == std::future_status::ready);
  BOOST_TEST(f.get());
  BOOST_TEST(plain.eval("nodes().") == "[]");
}

BOOST_FIXTURE_TEST_CASE(untrusted_certificates_are_refused_with_the_reason, Fixture) {
  LogCapture logs;
  NodeRunner cpp(tls_node(cookie, optfile));
  BOOST_REQUIRE(!cpp.start());
  std::string name(cpp.node().name().text());
  // A BEAM node presenting a certificate of a CA the cluster does not trust.
  std::string rogue = certs.optfile("rogue.conf", "rogue", "ca");
  {
    BeamNode beam({.name = unique_name("beam_rogue"), .cookie = cookie, .extra_args = tls_args(rogue)});
    BOOST_TEST(beam.eval("net_adm:ping(" + q(name) + ").") == "pang");
    BOOST_TEST(test::eventually([&] { return logs.contains("TLS handshake", "unable to get local issuer certificate"); }));
  }
  // The C++ node refuses a server with an untrusted certificate, and one
  // whose certificate is for another host (the host check of inet_tls_dist).
  for (std::string cert : {"rogue", "wrong_host"}) {
    BOOST_TEST_CONTEXT(cert) {
      // The BEAM side trusts both CAs so that only our check can refuse.
      std::string both = certs.path("both_ca.pem");
      test::run_capture("cat '" + certs.path("ca.pem") + "' '" + certs.path("rogue_ca.pem") + "' > '" + both + "'");
      std::string f = certs.optfile(cert + ".conf", cert, "ca");
      test::run_capture("sed -i 's|" + certs.path("ca.pem") + "|" + both + "|g' '" + f + "'");
      BeamNode beam({.name = unique_name("beam_bad"), .cookie = cookie, .extra_args = tls_args(f)});
      std::promise<std::error_code> done;
      cpp.run([&] { cpp.node().connect(Atom(beam.node_name()), [&](std::error_code ec) { done.set_value(ec); }); })
          .get();
      auto fut = done.get_future();
      BOOST_REQUIRE(fut.wait_for(15s) == std::future_status::ready);
      BOOST_TEST(fut.get());
      BOOST_TEST(beam.eval("nodes().") == "[]");
      // The verify error OpenSSL names: the rogue server sends its CA along
      // ("self-signed certificate in certificate chain").
      BOOST_TEST(logs.contains(beam.node_name(), cert == "rogue" ? "certificate verify failed: self-signed certificate"
                                                                  : "certificate verify failed: hostname mismatch"));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(mutual_verification_needs_a_client_certificate, Fixture) {
  LogCapture logs;
  NodeRunner cpp(tls_node(cookie, optfile));
  BOOST_REQUIRE(!cpp.start());
  std::string name(cpp.node().name().text());
  // A BEAM client with no certificate: fail_if_no_peer_cert refuses it.
  std::string f = certs.path("nocert.conf");
  {
    std::ofstream o(f);
    o << "[{server, [{certfile, \"" << certs.path("node.pem") << "\"}, {keyfile, \"" << certs.path("node.key")
      << "\"}]}, {client, [{cacertfile, \"" << certs.path("ca.pem") << "\"}, {verify, verify_peer}]}].\n";
  }
  BeamNode beam({.name = unique_name("beam_nocert"), .cookie = cookie, .extra_args = tls_args(f)});
  BOOST_TEST(beam.eval("net_adm:ping(" + q(name) + ").") == "pang");
  BOOST_TEST(test::eventually([&] { return logs.contains("TLS handshake", "certificate"); }));
}

BOOST_AUTO_TEST_CASE(bad_certificate_files_fail_at_start_up) {
  test::TlsCerts certs;
  TlsDistOptions o;
  BOOST_REQUIRE(!apply_ssl_dist_opt(o, "server_certfile", certs.path("missing.pem")));
  BOOST_REQUIRE(!finalize(o));
  TlsOptionProblem p;
  auto r = make_tls_contexts(o, &p);
  BOOST_TEST(!r.ok());
  BOOST_TEST(p.detail.find("missing.pem") != std::string::npos, p.detail);
  // A key that does not belong to the certificate.
  TlsDistOptions k;
  BOOST_REQUIRE(!apply_ssl_dist_opt(k, "server_certfile", certs.path("node.pem")));
  BOOST_REQUIRE(!apply_ssl_dist_opt(k, "server_keyfile", certs.path("rogue.key")));
  BOOST_REQUIRE(!finalize(k));
  BOOST_TEST(!make_tls_contexts(k, &p).ok());
  BOOST_TEST(p.detail.find("rogue.key") != std::string::npos, p.detail);
}

BOOST_AUTO_TEST_CASE(cli_takes_erls_flags_and_names_what_it_refuses) {
  const std::string bin = std::string(HC_BINARY_DIR) + "/app/horde-cnode --name cli_tls@127.0.0.1 --cookie c ";
  auto out = test::run_capture(bin + "--proto-dist inet_tls --ssl-dist-opt server_certfile /x client_verify_fun f 2>&1; echo rc=$?");
  BOOST_TEST(out.find("client option 'verify_fun' is not supported") != std::string::npos, out);
  BOOST_TEST(out.find("rc=2") != std::string::npos, out);
  out = test::run_capture(bin + "--ssl-dist-optfile /x 2>&1; echo rc=$?");
  BOOST_TEST(out.find("need --proto-dist inet_tls") != std::string::npos, out);
  test::TlsCerts certs;
  {
    std::ofstream(certs.path("bad.conf")) << "[{server, [{certfile, \"x\"}, {crl_check, peer}]}].\n";
  }
  out = test::run_capture(bin + "--proto-dist inet_tls --ssl-dist-optfile " + certs.path("bad.conf") + " 2>&1; echo rc=$?");
  BOOST_TEST(out.find("'crl_check' is not supported") != std::string::npos, out);
  out = test::run_capture(bin + "--proto-dist inet_tls --ssl-dist-opt server_certfile " + certs.path("missing.pem") +
                          " 2>&1; echo rc=$?");
  BOOST_TEST(out.find("missing.pem") != std::string::npos, out);
  BOOST_TEST(out.find("rc=1") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
