#include "app/tls_flags.hpp"

#include <ostream>

namespace hc::app {

TlsFlagResult parse_tls_flag(std::span<const std::string_view> args, std::size_t& i, TlsFlags& flags,
                             std::ostream& err) {
  std::string_view a = args[i], value;
  bool inline_value = false;
  if (auto eq = a.find('='); eq != std::string_view::npos) {
    value = a.substr(eq + 1);
    a = a.substr(0, eq);
    inline_value = true;
  }
  auto take = [&](std::string_view& out) {
    if (inline_value) { out = value; inline_value = false; return true; }
    if (i + 1 >= args.size()) return false;
    out = args[++i];
    return true;
  };
  if (a == "--proto-dist") {
    if (!take(value)) { err << "horde-cnode: option '--proto-dist' requires an argument\n"; return TlsFlagResult::error; }
    if (value != "inet_tls" && value != "inet_tcp") {
      err << "horde-cnode: --proto-dist must be inet_tcp or inet_tls, not '" << value << "'\n";
      return TlsFlagResult::error;
    }
    flags.proto_dist = value;
  } else if (a == "--ssl-dist-optfile") {
    if (!take(value)) { err << "horde-cnode: option '--ssl-dist-optfile' requires an argument\n"; return TlsFlagResult::error; }
    flags.optfile = value;
  } else if (a == "--ssl-dist-opt") {
    // Pairs up to the next --flag, as erl's -ssl_dist_opt takes them.
    std::size_t pairs = 0;
    while (!inline_value && i + 2 < args.size() && !args[i + 1].starts_with("--")) {
      flags.opts.emplace_back(args[i + 1], args[i + 2]);
      i += 2;
      ++pairs;
    }
    if (pairs == 0) {
      err << "horde-cnode: option '--ssl-dist-opt' requires KEY VALUE (e.g. server_certfile FILE)\n";
      return TlsFlagResult::error;
    }
  } else {
    return TlsFlagResult::not_mine;
  }
  return TlsFlagResult::taken;
}

bool apply_tls_flags(const TlsFlags& flags, cnode::NodeOptions& node, std::ostream& err) {
  if (flags.proto_dist != "inet_tls") {
    if (!flags.optfile.empty() || !flags.opts.empty()) {
      err << "horde-cnode: --ssl-dist-optfile/--ssl-dist-opt need --proto-dist inet_tls\n";
      return false;
    }
    return true;
  }
  cnode::TlsOptionProblem problem;
  auto tls = cnode::tls_dist_options(flags.optfile, flags.opts, &problem);
  if (!tls) {
    err << "horde-cnode: TLS distribution: " << problem.code.message() << ": " << problem.detail << '\n';
    return false;
  }
  node.tls = std::move(*tls);
  return true;
}

void print_tls_usage(std::ostream& os) {
  os << "  --proto-dist inet_tls       distribution over TLS (as erl -proto_dist inet_tls); default inet_tcp\n"
        "  --ssl-dist-optfile FILE     TLS options, the file of erl -ssl_dist_optfile ([{server,Opts},{client,Opts}].)\n"
        "  --ssl-dist-opt KEY VALUE    one TLS option as erl -ssl_dist_opt (server_certfile F, client_verify verify_peer, ...)\n";
}

}  // namespace hc::app
