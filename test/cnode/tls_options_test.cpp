#include "cnode/tls_options.hpp"

#include <boost/test/unit_test.hpp>

using namespace hc;
using namespace hc::cnode;

namespace {
const char* kFile =
    "%% the same file erl -ssl_dist_optfile reads\n"
    "[{server, [{certfile, \"/c/node.pem\"}, {keyfile, \"/c/node.key\"}, {cacertfile, \"/c/ca.pem\"},\n"
    "           {verify, verify_peer}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true},\n"
    "           {versions, ['tlsv1.2', 'tlsv1.3']}, {ciphers, [\"ECDHE-ECDSA-AES256-GCM-SHA384\"]}]},\n"
    " {client, [{certfile, \"/c/node.pem\"}, {keyfile, \"/c/node.key\"}, {cacertfile, \"/c/ca.pem\"},\n"
    "           {verify, verify_peer}, {server_name_indication, \"cluster.example\"}, {depth, 3}]}].\n";

TlsOptionProblem parse_problem(const std::string& text) {
  TlsOptionProblem p;
  auto r = parse_ssl_dist_optfile(text, &p);
  BOOST_TEST(!r.ok());
  // The Result carries the same code and detail as the out-parameter.
  BOOST_TEST(r.error() == p.code);
  BOOST_TEST(r.what() == p.detail);
  BOOST_TEST(parse_ssl_dist_optfile(text).what() == p.detail);
  return p;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(tls_options_test)

BOOST_AUTO_TEST_CASE(reads_the_beam_option_file) {
  auto r = parse_ssl_dist_optfile(kFile);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  BOOST_TEST(r->server.certfile == "/c/node.pem");
  BOOST_TEST(r->server.keyfile == "/c/node.key");
  BOOST_TEST((r->server.verify == TlsVerify::peer));
  BOOST_TEST(r->server.fail_if_no_peer_cert);
  BOOST_TEST(r->server.versions == (std::vector<std::string>{"tlsv1.2", "tlsv1.3"}));
  BOOST_TEST(r->server.ciphers == (std::vector<std::string>{"ECDHE-ECDSA-AES256-GCM-SHA384"}));
  BOOST_TEST(r->client.server_name_indication.value() == "cluster.example");
  BOOST_TEST(r->client.depth == 3);
  BOOST_TEST(!finalize(*r));
}

BOOST_AUTO_TEST_CASE(defaults_as_inet_tls_dist) {
  TlsDistOptions o;
  BOOST_TEST(!apply_ssl_dist_opt(o, "server_certfile", "/c/node.pem"));
  BOOST_TEST(!finalize(o));
  // inet_tls_dist:dist_defaults/1: TLS 1.2 unless versions are given; OTP 25: verify_none.
  BOOST_TEST(o.server.versions == (std::vector<std::string>{"tlsv1.2"}));
  BOOST_TEST(o.client.versions == (std::vector<std::string>{"tlsv1.2"}));
  BOOST_TEST((o.client.verify == TlsVerify::none));
  BOOST_TEST(!o.client.server_name_indication.has_value());  // the peer's host
}

BOOST_AUTO_TEST_CASE(single_options_override_the_file) {
  auto r = parse_ssl_dist_optfile(kFile);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!apply_ssl_dist_opt(*r, "client_verify", "verify_none"));
  BOOST_TEST(!apply_ssl_dist_opt(*r, "server_depth", "5"));
  BOOST_TEST(!apply_ssl_dist_opt(*r, "client_versions", "tlsv1.3"));
  BOOST_TEST(!apply_ssl_dist_opt(*r, "client_server_name_indication", "disable"));
  BOOST_TEST((r->client.verify == TlsVerify::none));
  BOOST_TEST(r->server.depth == 5);
  BOOST_TEST(r->client.versions == (std::vector<std::string>{"tlsv1.3"}));
  BOOST_TEST(r->client.server_name_indication.value().empty());
}

struct Bad {
  std::string text;
  TlsOptionError error;
  std::string names;  // must appear in the detail
};

BOOST_AUTO_TEST_CASE(unsupported_and_malformed_options_are_named) {
  const Bad cases[] = {
      {"[{server, [{verify_fun, {m, f, []}}]}].", TlsOptionError::unsupported_option, "verify_fun"},
      {"[{server, [{crl_check, true}]}].", TlsOptionError::unsupported_option, "crl_check"},
      {"[{client, [{cacerts, []}]}].", TlsOptionError::unsupported_option, "cacerts"},
      {"[{client, [{versions, ['tlsv1.1']}]}].", TlsOptionError::unsupported_option, "tlsv1.1"},
      {"[{client, [{ciphers, [#{cipher => aes_128_gcm}]}]}].", TlsOptionError::unsupported_option, "ciphers"},
      {"[{client, [{secure_renegotiate, false}]}].", TlsOptionError::unsupported_option, "secure_renegotiate"},
      {"[{client, [{no_such_option, 1}]}].", TlsOptionError::unknown_option, "no_such_option"},
      {"[{client, [{verify, maybe}]}].", TlsOptionError::bad_option_value, "verify"},
      {"[{client, [{depth, -1}]}].", TlsOptionError::bad_option_value, "depth"},
      {"[{client, [{fail_if_no_peer_cert, true}]}].", TlsOptionError::bad_option_value, "server option"},
      {"[{other, []}].", TlsOptionError::bad_file_shape, "other"},
      {"{server, []}.", TlsOptionError::bad_file_shape, "one list"},
      {"[{server, [certfile]}].", TlsOptionError::bad_file_shape, "certfile"},
      {"[{server, [{certfile, \"x\"}]}]", TlsOptionError::bad_file_syntax, "line 1"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto p = parse_problem(c.text);
      BOOST_TEST(p.code == make_error_code(c.error), p.code.message() << ": " << p.detail);
      BOOST_TEST(p.detail.find(c.names) != std::string::npos, p.detail);
    }
  }
  TlsDistOptions o;
  TlsOptionProblem p;
  BOOST_TEST(apply_ssl_dist_opt(o, "server_frobnicate", "1", &p) == make_error_code(TlsOptionError::unknown_option));
  BOOST_TEST(p.detail.find("server_frobnicate") != std::string::npos);
  BOOST_TEST(apply_ssl_dist_opt(o, "certfile", "x", &p) == make_error_code(TlsOptionError::unknown_option));
  BOOST_TEST(apply_ssl_dist_opt(o, "server_depth", "x", &p) == make_error_code(TlsOptionError::bad_option_value));
}

// Without a TlsOptionProblem, the Result alone says what was wrong.
BOOST_AUTO_TEST_CASE(results_carry_the_problem_detail) {
  auto missing = tls_dist_options("/nonexistent/hc_tls_options_test.conf", {});
  BOOST_TEST(missing.error() == make_error_code(TlsOptionError::unreadable_file));
  BOOST_TEST(missing.what() == "/nonexistent/hc_tls_options_test.conf");
  auto unknown = tls_dist_options("", {{"server_frobnicate", "1"}});
  BOOST_TEST(unknown.error() == make_error_code(TlsOptionError::unknown_option));
  BOOST_TEST(unknown.what().find("server_frobnicate") != std::string::npos, unknown.message());
  auto unfinished = tls_dist_options("", {{"server_certfile", "/c/n.pem"}, {"client_verify", "verify_peer"}});
  BOOST_TEST(unfinished.error() == make_error_code(TlsOptionError::missing_option));
  BOOST_TEST(unfinished.what().find("cacertfile") != std::string::npos, unfinished.message());
}

BOOST_AUTO_TEST_CASE(cross_option_requirements) {
  TlsOptionProblem p;
  TlsDistOptions none;
  BOOST_TEST(finalize(none, &p) == make_error_code(TlsOptionError::missing_option));
  BOOST_TEST(p.detail.find("certfile") != std::string::npos);
  TlsDistOptions o;
  BOOST_TEST(!apply_ssl_dist_opt(o, "server_certfile", "/c/n.pem"));
  BOOST_TEST(!apply_ssl_dist_opt(o, "client_verify", "verify_peer"));
  BOOST_TEST(finalize(o, &p) == make_error_code(TlsOptionError::missing_option));
  BOOST_TEST(p.detail.find("cacertfile") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
