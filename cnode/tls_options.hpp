// TLS distribution options, read from the same sources a BEAM node reads them
// (`erl -proto_dist inet_tls -ssl_dist_optfile FILE` and `-ssl_dist_opt
// server_certfile FILE client_verify verify_peer ...`), so one option file
// serves the whole cluster.
//
// The option file holds one term, `[{server, Opts}, {client, Opts}]`, as
// OTP's ssl_dist_sup consults it; Opts are ssl options. We take the options
// that mean something for a C++ peer and refuse every other one BY NAME
// (never silently): an option we cannot honour would make this node weaker or
// different than the cluster's BEAM nodes believe.
//
// Semantics follow OTP 25's inet_tls_dist and ssl (lib/ssl/src/inet_tls_dist.erl):
// - when any option is given and `versions` is not, versions = ['tlsv1.2']
//   (inet_tls_dist:dist_defaults/1);
// - `verify` defaults to verify_none on both sides (OTP 25's ssl default;
//   OTP 26 changed the client default to verify_peer);
// - the client sends SNI and checks the server's certificate against the
//   host part of the peer's node name, unless `server_name_indication` names
//   another host or is `disable` (inet_tls_dist:do_setup/7 passes
//   {server_name_indication, Host});
// - the server checks the client's certificate chain when verify_peer, and
//   refuses a client without one when fail_if_no_peer_cert is true;
// - `-ssl_dist_opt` options come before the file's in OTP's option list, so
//   they win (get_ssl_options/1).
//
// Pure data and parsing; no OpenSSL here (see tls_context.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

// Every code is hc::errc::invalid_input (interop/error_condition.hpp).
enum class TlsOptionError {
  unreadable_file = 1,   // the option file cannot be read
  bad_file_syntax,       // not Erlang term text (see detail for line/column)
  bad_file_shape,        // not [{server, [...]}, {client, [...]}]
  unknown_option,        // not an ssl option OTP knows (erl: malformed_ssl_dist_opt)
  unsupported_option,    // an ssl option OTP knows that this node does not implement
  bad_option_value,      // a known option with a value of the wrong type or range
  missing_option,        // e.g. verify_peer without cacertfile, a server without certfile
};

const std::error_category& tls_option_category() noexcept;
std::error_code make_error_code(TlsOptionError e) noexcept;

enum class TlsVerify { none, peer };

// The options of one side (what `{server, Opts}` or `{client, Opts}` holds).
struct TlsSideOptions {
  std::string certfile;            // PEM certificate chain (leaf first)
  std::string keyfile;             // PEM private key; empty: the key is in certfile
  std::string password;            // of an encrypted keyfile
  std::string cacertfile;          // PEM trusted CAs
  TlsVerify verify = TlsVerify::none;
  bool fail_if_no_peer_cert = false;   // server side, with verify_peer
  int depth = 10;                      // max intermediate CAs (OTP default 10)
  // Client: the host name sent as SNI and checked against the server's
  // certificate. nullopt: the host of the peer's node name; "" : disabled
  // (`{server_name_indication, disable}`).
  std::optional<std::string> server_name_indication;
  std::vector<std::string> versions;   // "tlsv1.2", "tlsv1.3" (empty: default)
  std::vector<std::string> ciphers;    // OpenSSL or RFC suite names
  bool honor_cipher_order = false;     // server side
};

struct TlsDistOptions {
  TlsSideOptions server;
  TlsSideOptions client;
};

// An error with the option or place it is about ("option 'verify_fun' is not
// supported: ..."), for the log line and the CLI's message. The functions
// returning a Result carry the same detail in it (Result::what()), so their
// callers need not pass one; the std::error_code ones fill only this.
struct TlsOptionProblem {
  std::error_code code;
  std::string detail;
};

// Parse the text of an -ssl_dist_optfile.
Result<TlsDistOptions> parse_ssl_dist_optfile(std::string_view text, TlsOptionProblem* problem = nullptr);
// Read and parse the file.
Result<TlsDistOptions> load_ssl_dist_optfile(const std::string& path, TlsOptionProblem* problem = nullptr);

// One `-ssl_dist_opt` pair: `key` is server_OPT or client_OPT, `value` the
// text erl would take (a string, atom or integer as OTP's ssl_option/2
// converts it). Overrides what the option file set.
std::error_code apply_ssl_dist_opt(TlsDistOptions& options, std::string_view key, std::string_view value,
                                   TlsOptionProblem* problem = nullptr);

// Apply one {Name, Value} ssl option term to one side (used by both sources).
std::error_code apply_ssl_option(TlsSideOptions& side, bool server, const Term& option,
                                 TlsOptionProblem* problem = nullptr);

// Fill OTP's defaults and check cross-option requirements (verify_peer needs
// cacertfile, the server needs a certificate).
std::error_code finalize(TlsDistOptions& options, TlsOptionProblem* problem = nullptr);

// What erl does with `-ssl_dist_optfile FILE -ssl_dist_opt K V ...`: the file
// (when `optfile` is not empty), then the single options over it, then
// finalize(). The whole job of a command-line front-end.
Result<TlsDistOptions> tls_dist_options(const std::string& optfile,
                                        const std::vector<std::pair<std::string, std::string>>& single_options,
                                        TlsOptionProblem* problem = nullptr);

}  // namespace hc::cnode

template <>
struct std::is_error_code_enum<hc::cnode::TlsOptionError> : std::true_type {};
