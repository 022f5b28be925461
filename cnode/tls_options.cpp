#include "cnode/tls_options.hpp"

#include <fstream>
#include <sstream>

#include "interop/error_condition.hpp"
#include "interop/term_text.hpp"

namespace hc::cnode {
namespace {

class Category final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.tls_options"; }
  std::string message(int ev) const override {
    switch (static_cast<TlsOptionError>(ev)) {
      case TlsOptionError::unreadable_file: return "cannot read the ssl_dist_optfile";
      case TlsOptionError::bad_file_syntax: return "ssl_dist_optfile is not Erlang term text";
      case TlsOptionError::bad_file_shape: return "ssl_dist_optfile must hold [{server, Opts}, {client, Opts}]";
      case TlsOptionError::unknown_option: return "unknown ssl option";
      case TlsOptionError::unsupported_option: return "ssl option not supported by horde-cnode";
      case TlsOptionError::bad_option_value: return "bad ssl option value";
      case TlsOptionError::missing_option: return "required ssl option missing";
    }
    return "unknown hc.tls_options error";
  }

 protected:
  // The option file is the operator's configuration.
  ConditionGroups groups(int) const noexcept override { return {errc::invalid_input}; }
};

std::error_code problem_of(TlsOptionProblem* p, TlsOptionError e, std::string detail) {
  auto ec = make_error_code(e);
  if (p) *p = {ec, std::move(detail)};
  return ec;
}

// ssl options OTP knows that we refuse, with why (shown in the error).
// Anything neither here nor handled below is an unknown option.
struct Refusal {
  std::string_view name;
  std::string_view why;
};
constexpr Refusal kRefused[] = {
    {"verify_fun", "an Erlang fun; use cacertfile/verify_peer (and server_name_indication) instead"},
    {"partial_chain", "an Erlang fun"},
    {"customize_hostname_check", "an Erlang fun list; the C++ node checks host names as OTP's default does"},
    {"crl_check", "CRL checking is not implemented"},
    {"crl_cache", "CRL checking is not implemented"},
    {"cacerts", "DER terms are not supported; use cacertfile"},
    {"cert", "DER terms are not supported; use certfile"},
    {"key", "DER terms are not supported; use keyfile"},
    {"certs_keys", "use certfile/keyfile"},
    {"dhfile", "only ECDHE key exchange is configured"},
    {"psk_identity", "PSK suites are not supported"},
    {"user_lookup_fun", "an Erlang fun"},
    {"sni_fun", "an Erlang fun"},
    {"sni_hosts", "per-SNI server options are not supported"},
    {"alpn_advertised_protocols", "ALPN is not used by the distribution"},
    {"alpn_preferred_protocols", "ALPN is not used by the distribution"},
    {"next_protocols_advertised", "NPN is not used by the distribution"},
    {"client_preferred_next_protocols", "NPN is not used by the distribution"},
    {"signature_algs", "not configurable here"},
    {"signature_algs_cert", "not configurable here"},
    {"eccs", "not configurable here"},
    {"supported_groups", "not configurable here"},
    {"session_tickets", "TLS 1.3 session tickets are not configurable here"},
    {"use_ticket", "TLS 1.3 session tickets are not configurable here"},
    {"early_data", "0-RTT is not supported"},
    {"ocsp_stapling", "OCSP is not implemented"},
    {"ocsp_responder_certs", "OCSP is not implemented"},
    {"ocsp_nonce", "OCSP is not implemented"},
    {"log_level", "use --log-level"},
    {"keep_secrets", "not supported"},
    {"max_fragment_length", "not supported"},
    {"middlebox_comp_mode", "not configurable here"},
    {"padding_check", "not configurable here"},
    {"beast_mitigation", "not configurable here"},
    {"fallback", "not configurable here"},
    {"renegotiate_at", "renegotiation is not used"},
    {"client_renegotiation", "renegotiation is not used"},
    {"cookie", "DTLS only"},
    {"handshake", "hello continuation is not supported"},
    {"cb_info", "transport callbacks are Erlang modules"},
    {"ktls", "kernel TLS is not implemented (only ktls false)"},
};

std::optional<std::string> path_value(const Term& v) { return string_value(v); }

std::optional<bool> bool_value(const Term& v) {
  if (v.is_atom("true")) return true;
  if (v.is_atom("false")) return false;
  return std::nullopt;
}

std::string printed(const Term& t) { return to_string(t); }

}  // namespace

const std::error_category& tls_option_category() noexcept {
  static const Category category;
  return category;
}
std::error_code make_error_code(TlsOptionError e) noexcept { return {static_cast<int>(e), tls_option_category()}; }

std::error_code apply_ssl_option(TlsSideOptions& side, bool server, const Term& option, TlsOptionProblem* problem) {
  const char* who = server ? "server" : "client";
  if (!option.is_tuple(2) || !option.element(0)->is_atom())
    return problem_of(problem, TlsOptionError::bad_file_shape,
                      std::string(who) + " option " + printed(option) + " is not {Name, Value}");
  std::string name(option.element(0)->as_atom()->text());
  const Term& v = *option.element(1);
  auto bad = [&](std::string_view expected) {
    return problem_of(problem, TlsOptionError::bad_option_value,
                      std::string(who) + " option '" + name + "': " + printed(v) + " is not " + std::string(expected));
  };
  if (name == "certfile" || name == "keyfile" || name == "cacertfile" || name == "password") {
    auto s = path_value(v);
    if (!s) return bad("a string");
    (name == "certfile" ? side.certfile : name == "keyfile" ? side.keyfile : name == "cacertfile" ? side.cacertfile
                                                                                                  : side.password) = *s;
  } else if (name == "verify") {
    if (v.is_atom("verify_none")) side.verify = TlsVerify::none;
    else if (v.is_atom("verify_peer")) side.verify = TlsVerify::peer;
    else return bad("verify_none or verify_peer");
  } else if (name == "fail_if_no_peer_cert") {
    if (!server) return problem_of(problem, TlsOptionError::bad_option_value, "fail_if_no_peer_cert is a server option");
    auto b = bool_value(v);
    if (!b) return bad("a boolean");
    side.fail_if_no_peer_cert = *b;
  } else if (name == "depth") {
    auto d = v.as_int();
    if (!d || *d < 0 || *d > 255) return bad("an integer 0..255");
    side.depth = static_cast<int>(*d);
  } else if (name == "server_name_indication") {
    if (server) return problem_of(problem, TlsOptionError::bad_option_value, "server_name_indication is a client option");
    if (v.is_atom("disable")) {
      side.server_name_indication = std::string();
    } else if (auto s = path_value(v); s && !s->empty()) {
      side.server_name_indication = *s;
    } else {
      return bad("a host name or disable");
    }
  } else if (name == "versions") {
    if (!v.is_proper_list() || v.is_nil()) return bad("a list of versions");
    std::vector<std::string> vs;
    for (const auto& e : v.list_elements()) {
      if (e.is_atom("tlsv1.2") || e.is_atom("tlsv1.3")) {
        vs.emplace_back(e.as_atom()->text());
      } else if (e.is_atom("tlsv1.1") || e.is_atom("tlsv1") || e.is_atom("sslv3")) {
        return problem_of(problem, TlsOptionError::unsupported_option,
                          std::string(who) + " option 'versions': " + printed(e) +
                              " is not supported (only 'tlsv1.2' and 'tlsv1.3')");
      } else {
        return bad("a list of 'tlsv1.2' / 'tlsv1.3'");
      }
    }
    side.versions = std::move(vs);
  } else if (name == "ciphers") {
    std::vector<std::string> cs;
    if (auto s = path_value(v); s && !v.is_nil()) {
      // One OpenSSL-style string "A:B:C" (OTP accepts that form too).
      std::stringstream ss(*s);
      for (std::string c; std::getline(ss, c, ':');)
        if (!c.empty()) cs.push_back(c);
    } else if (v.is_proper_list()) {
      for (const auto& e : v.list_elements()) {
        auto name_text = path_value(e);
        if (!name_text || e.is_nil())
          return problem_of(problem, TlsOptionError::unsupported_option,
                            std::string(who) + " option 'ciphers': " + printed(e) +
                                " (only cipher suite names as strings are supported, not maps or tuples)");
        cs.push_back(*name_text);
      }
    } else {
      return bad("a list of cipher suite names");
    }
    if (cs.empty()) return bad("a non-empty list of cipher suite names");
    side.ciphers = std::move(cs);
  } else if (name == "honor_cipher_order") {
    if (!server) return problem_of(problem, TlsOptionError::bad_option_value, "honor_cipher_order is a server option");
    auto b = bool_value(v);
    if (!b) return bad("a boolean");
    side.honor_cipher_order = *b;
  } else if (name == "secure_renegotiate") {
    // We never renegotiate and OpenSSL always insists on secure
    // renegotiation (RFC 5746); only `true` states that truthfully.
    auto b = bool_value(v);
    if (!b) return bad("a boolean");
    if (!*b)
      return problem_of(problem, TlsOptionError::unsupported_option,
                        std::string(who) + " option 'secure_renegotiate': false is not supported");
  } else if (name == "reuse_sessions" || name == "reuse_session") {
    // Session resumption only shortens reconnects; OpenSSL's default cache
    // serves both values equally correctly.
    if (name == "reuse_sessions" && !bool_value(v) && !v.is_atom("save")) return bad("a boolean or save");
  } else if (name == "hibernate_after") {
    // A BEAM process-memory knob with no meaning for a C++ connection.
    if (!v.as_int() && !v.is_atom("infinity")) return bad("an integer or infinity");
  } else if (name == "erl_dist") {
    // inet_tls_dist's own marker.
  } else if (name == "ktls" && v.is_atom("false")) {
    // kTLS off is what we do.
  } else {
    for (const auto& r : kRefused)
      if (r.name == name)
        return problem_of(problem, TlsOptionError::unsupported_option,
                          std::string(who) + " option '" + name + "' is not supported: " + std::string(r.why));
    return problem_of(problem, TlsOptionError::unknown_option, std::string(who) + " option '" + name + "' is unknown");
  }
  return {};
}

namespace {
// The Result-returning entry points carry the problem's detail in the
// Result (what()) whether or not the caller passed `problem`.
Result<TlsDistOptions> with_detail(Result<TlsDistOptions> r, const TlsOptionProblem& problem) {
  if (r || !r.what().empty()) return r;
  return Error(r.error(), problem.detail);
}

Result<TlsDistOptions> parse_optfile(std::string_view text, TlsOptionProblem* problem) {
  TextPosition where;
  auto terms = consult(text, &where);
  if (!terms) return problem_of(problem, TlsOptionError::bad_file_syntax, describe(terms.error(), where));
  if (terms->size() != 1 || !(*terms)[0].is_proper_list())
    return problem_of(problem, TlsOptionError::bad_file_shape, "expected one list term, [{server, Opts}, {client, Opts}].");
  TlsDistOptions out;
  for (const auto& side : (*terms)[0].list_elements()) {
    if (!side.is_tuple(2) || !(side.element(0)->is_atom("server") || side.element(0)->is_atom("client")) ||
        !side.element(1)->is_proper_list())
      return problem_of(problem, TlsOptionError::bad_file_shape,
                        "entry " + printed(side) + " is not {server, [Opts]} or {client, [Opts]}");
    bool server = side.element(0)->is_atom("server");
    auto& target = server ? out.server : out.client;
    for (const auto& opt : side.element(1)->list_elements())
      if (auto ec = apply_ssl_option(target, server, opt, problem)) return ec;
  }
  return out;
}

}  // namespace

Result<TlsDistOptions> parse_ssl_dist_optfile(std::string_view text, TlsOptionProblem* problem) {
  TlsOptionProblem local;
  TlsOptionProblem& p = problem ? *problem : local;
  return with_detail(parse_optfile(text, &p), p);
}

Result<TlsDistOptions> load_ssl_dist_optfile(const std::string& path, TlsOptionProblem* problem) {
  TlsOptionProblem local;
  TlsOptionProblem& p = problem ? *problem : local;
  std::ifstream in(path, std::ios::binary);
  if (!in) return with_detail(problem_of(&p, TlsOptionError::unreadable_file, path), p);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parse_optfile(ss.str(), &p);
  if (r) return r;
  p.detail = path + ": " + p.detail;
  return Error(r.error(), p.detail);
}

std::error_code apply_ssl_dist_opt(TlsDistOptions& options, std::string_view key, std::string_view value,
                                   TlsOptionProblem* problem) {
  bool server;
  std::string opt;
  if (key.starts_with("server_")) {
    server = true;
    opt = std::string(key.substr(7));
  } else if (key.starts_with("client_")) {
    server = false;
    opt = std::string(key.substr(7));
  } else {
    return problem_of(problem, TlsOptionError::unknown_option,
                      "ssl_dist_opt '" + std::string(key) + "' does not start with server_ or client_");
  }
  // The conversions of OTP's inet_tls_dist:ssl_option/2: file names and
  // passwords are strings, verify & co atoms, depth an integer, ciphers and
  // versions a single element.
  Term v;
  if (opt == "certfile" || opt == "cacertfile" || opt == "keyfile" || opt == "password" || opt == "dhfile" ||
      opt == "server_name_indication") {
    if (opt == "server_name_indication" && value == "disable") v = Term(Atom("disable"));
    else v = Term::binary(value);
  } else if (opt == "verify" || opt == "fail_if_no_peer_cert" || opt == "secure_renegotiate" ||
             opt == "reuse_sessions" || opt == "crl_check" || opt == "ktls" || opt == "honor_cipher_order") {
    v = Term(Atom(value));
  } else if (opt == "depth" || opt == "hibernate_after") {
    auto t = parse_term(value);
    if (!t || !t->as_int())
      return problem_of(problem, TlsOptionError::bad_option_value,
                        "ssl_dist_opt '" + std::string(key) + "': '" + std::string(value) + "' is not an integer");
    v = *t;
  } else if (opt == "ciphers") {
    v = Term::list({Term::binary(value)});
  } else if (opt == "versions") {
    v = Term::list({Term(Atom(value))});
  } else if (opt == "verify_fun" || opt == "crl_cache") {
    v = Term::binary(value);  // refused by name below
  } else {
    return problem_of(problem, TlsOptionError::unknown_option,
                      "ssl_dist_opt '" + std::string(key) + "' is unknown (erl: malformed_ssl_dist_opt)");
  }
  return apply_ssl_option(server ? options.server : options.client, server, Term::tuple({Term(Atom(opt)), v}),
                          problem);
}

std::error_code finalize(TlsDistOptions& options, TlsOptionProblem* problem) {
  for (auto* side : {&options.server, &options.client}) {
    // inet_tls_dist:dist_defaults/1.
    if (side->versions.empty()) side->versions = {"tlsv1.2"};
    const char* who = side == &options.server ? "server" : "client";
    if (side->verify == TlsVerify::peer && side->cacertfile.empty())
      return problem_of(problem, TlsOptionError::missing_option,
                        std::string(who) + ": verify_peer needs cacertfile (the CAs to verify the peer against)");
    if (!side->keyfile.empty() && side->certfile.empty())
      return problem_of(problem, TlsOptionError::missing_option, std::string(who) + ": keyfile without certfile");
  }
  if (options.server.certfile.empty())
    return problem_of(problem, TlsOptionError::missing_option,
                      "server: certfile is required (the certificate this node presents to connecting nodes)");
  if (options.server.fail_if_no_peer_cert && options.server.verify != TlsVerify::peer)
    return problem_of(problem, TlsOptionError::bad_option_value,
                      "server: fail_if_no_peer_cert needs verify verify_peer (OTP refuses this combination)");
  return {};
}

Result<TlsDistOptions> tls_dist_options(const std::string& optfile,
                                        const std::vector<std::pair<std::string, std::string>>& single_options,
                                        TlsOptionProblem* problem) {
  TlsOptionProblem local;
  TlsOptionProblem& p = problem ? *problem : local;
  TlsDistOptions tls;
  if (!optfile.empty()) {
    auto r = load_ssl_dist_optfile(optfile, &p);
    if (!r) return r;
    tls = std::move(*r);
  }
  for (const auto& [k, v] : single_options)
    if (auto ec = apply_ssl_dist_opt(tls, k, v, &p)) return with_detail(ec, p);
  if (auto ec = finalize(tls, &p)) return with_detail(ec, p);
  return tls;
}

}  // namespace hc::cnode
