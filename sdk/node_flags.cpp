#include "sdk/node_flags.hpp"

#include <boost/program_options/value_semantic.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>

#include "cnode/framing.hpp"
#include "cnode/handshake.hpp"  // valid_node_name
#include "cnode/log.hpp"
#include "cnode/tls_options.hpp"

namespace hc::sdk {
namespace po = boost::program_options;
namespace {

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string first_line(const std::string& path, bool& ok) {
  std::ifstream f(path);
  std::string line;
  ok = static_cast<bool>(std::getline(f, line)) && !line.empty();
  return line;
}

}  // namespace

void add_node_options(po::options_description& options) {
  const std::string max_frame_help =
      "largest accepted distribution frame in bytes (default " + std::to_string(cnode::kDefaultMaxFrame) + ")";
  const std::string pending_help =
      "messages that may wait for a connection being set up, per peer; more are dropped with a warning (default " +
      std::to_string(cnode::kDefaultMaxPendingSends) + ")";
  const std::string send_queue_help =
      "bytes that may wait to be written to one peer; past it that connection is closed (default " +
      std::to_string(cnode::kDefaultMaxSendQueue) + ")";
  options.add_options()
      ("name", po::value<std::string>()->value_name("NAME@HOST"),
       "node name (HOST: an IP address or a resolvable host name); required")
      ("cookie", po::value<std::string>()->value_name("COOKIE"),
       "distribution cookie (default: $HORDE_CNODE_COOKIE, else ~/.erlang.cookie); visible in ps: prefer --cookie-file")
      ("cookie-file", po::value<std::string>()->value_name("FILE"),
       "read the cookie from the first line of FILE")
      ("connect", po::value<std::vector<std::string>>()->value_name("NODE")->composing(),
       "keep NODE connected, reconnecting with backoff (repeatable)")
      ("port", po::value<std::string>()->value_name("N"),
       "distribution listen port (default: any free port, published through epmd)")
      ("listen", po::value<std::string>()->value_name("ADDRESS")->default_value("0.0.0.0"),
       "listen address")
      ("epmd-port", po::value<std::string>()->value_name("N"), "epmd port (default: $ERL_EPMD_PORT, else 4369)")
      ("no-epmd-start", po::bool_switch(), "do not start `epmd -daemon` when no epmd runs")
      ("max-frame", po::value<std::string>()->value_name("BYTES"), max_frame_help.c_str())
      ("tick", po::value<std::string>()->value_name("MS"), "interval of our own ticks in milliseconds (default 5000)")
      ("dial-timeout", po::value<std::string>()->value_name("MS"),
       "an outgoing connection must be up (epmd, connect, handshake) within MS milliseconds (default 7000, as "
       "net_kernel's setup time; 0: only the handshake timeout)")
      ("max-pending-sends", po::value<std::string>()->value_name("N"),
       pending_help.c_str())
      ("max-send-queue", po::value<std::string>()->value_name("BYTES"),
       send_queue_help.c_str())
      ("no-discovery", po::bool_switch(), "do not connect to the nodes our peers know")
      ("log-level", po::value<std::string>()->value_name("LEVEL")->default_value("info"),
       "trace, debug, info, warn, error or off")
      ("proto-dist", po::value<std::string>()->value_name("MODULE")->default_value("inet_tcp"),
       "distribution carrier: inet_tcp, or inet_tls for TLS distribution (as erl -proto_dist inet_tls)")
      ("ssl-dist-optfile", po::value<std::string>()->value_name("FILE"),
       "TLS options: the file of erl -ssl_dist_optfile ([{server, Opts}, {client, Opts}].)")
      ("ssl-dist-opt", po::value<std::vector<std::string>>()->value_name("KEY VALUE...")->multitoken()->composing(),
       "TLS options as erl -ssl_dist_opt (server_certfile F client_verify verify_peer ...); win over the file")
      ("exit-on-stdin-close", po::bool_switch(),
       "stop gracefully when standard input reaches end of file (for nodes run from a BEAM Port)");
}

std::variant<NodeFlags, std::string> node_flags(const po::variables_map& vm) {
  NodeFlags s;
  auto has = [&](const char* k) { return vm.count(k) && !vm[k].defaulted(); };
  auto str = [&](const char* k) { return vm[k].as<std::string>(); };

  if (!vm.count("name")) return std::string("missing required option --name NAME@HOST");
  s.node.name = str("name");
  if (!cnode::valid_node_name(s.node.name))
    return "invalid --name '" + s.node.name + "' (expected NAME@HOST)";

  if (has("cookie") && has("cookie-file")) return std::string("give either --cookie or --cookie-file, not both");
  if (has("cookie")) {
    s.node.cookie = str("cookie");
  } else if (has("cookie-file")) {
    bool ok = false;
    s.node.cookie = first_line(str("cookie-file"), ok);
    if (!ok) return "cannot read a cookie from --cookie-file '" + str("cookie-file") + "'";
  } else if (const char* env = std::getenv("HORDE_CNODE_COOKIE"); env && *env) {
    s.node.cookie = env;
  } else {
    const char* home = std::getenv("HOME");
    bool ok = false;
    s.node.cookie = first_line(std::string(home ? home : "") + "/.erlang.cookie", ok);
    if (!ok) return std::string("no --cookie given and ~/.erlang.cookie is unreadable");
  }
  if (s.node.cookie.empty()) return std::string("the cookie is empty (--cookie)");

  if (vm.count("connect"))
    for (const auto& n : vm["connect"].as<std::vector<std::string>>()) {
      if (!cnode::valid_node_name(n)) return "invalid node name '" + n + "' for --connect (expected NAME@HOST)";
      s.node.connect.push_back(n);
    }
  if (has("port") && !parse_number(str("port"), s.node.port)) return "invalid --port '" + str("port") + "' (0..65535)";
  s.node.listen_address = str("listen");
  if (has("epmd-port")) {
    if (!parse_number(str("epmd-port"), s.node.epmd_port) || s.node.epmd_port == 0)
      return "invalid --epmd-port '" + str("epmd-port") + "' (1..65535)";
  } else if (const char* env = std::getenv("ERL_EPMD_PORT"); env && *env) {
    // As erl and ei do: ERL_EPMD_PORT names the epmd port when no flag does.
    if (!parse_number(std::string_view(env), s.node.epmd_port) || s.node.epmd_port == 0)
      return "invalid ERL_EPMD_PORT '" + std::string(env) + "' (1..65535)";
  }
  s.node.start_epmd = !vm["no-epmd-start"].as<bool>();
  if (has("max-frame") && (!parse_number(str("max-frame"), s.node.max_frame) || s.node.max_frame < 1024))
    return "invalid --max-frame '" + str("max-frame") + "' (bytes, at least 1024)";
  if (has("tick")) {
    unsigned ms = 0;
    if (!parse_number(str("tick"), ms) || ms == 0) return "invalid --tick '" + str("tick") + "' (milliseconds > 0)";
    s.node.tick_interval = std::chrono::milliseconds(ms);
  }
  if (has("dial-timeout")) {
    unsigned ms = 0;
    if (!parse_number(str("dial-timeout"), ms))
      return "invalid --dial-timeout '" + str("dial-timeout") + "' (milliseconds, 0 for none)";
    s.node.dial_timeout = std::chrono::milliseconds(ms);
  }
  if (has("max-pending-sends") && (!parse_number(str("max-pending-sends"), s.node.max_pending_sends) ||
                                   s.node.max_pending_sends == 0))
    return "invalid --max-pending-sends '" + str("max-pending-sends") + "' (messages, at least 1)";
  if (has("max-send-queue") &&
      (!parse_number(str("max-send-queue"), s.node.max_send_queue) || s.node.max_send_queue < 65536))
    return "invalid --max-send-queue '" + str("max-send-queue") + "' (bytes, at least 65536)";
  s.node.discovery = !vm["no-discovery"].as<bool>();
  s.log_level = str("log-level");
  if (!log::parse_level(s.log_level))
    return "invalid --log-level '" + s.log_level + "' (trace, debug, info, warn, error, off)";
  s.exit_on_stdin_close = vm["exit-on-stdin-close"].as<bool>();

  // TLS distribution (cnode/tls_options.hpp parses and checks the options).
  const std::string proto = str("proto-dist");
  if (proto != "inet_tcp" && proto != "inet_tls") return "invalid --proto-dist '" + proto + "' (inet_tcp or inet_tls)";
  std::vector<std::pair<std::string, std::string>> single;
  if (vm.count("ssl-dist-opt")) {
    const auto& words = vm["ssl-dist-opt"].as<std::vector<std::string>>();
    if (words.size() % 2 != 0)
      return "--ssl-dist-opt takes KEY VALUE pairs (e.g. server_certfile FILE); '" + words.back() + "' has no value";
    for (std::size_t i = 0; i < words.size(); i += 2) single.emplace_back(words[i], words[i + 1]);
  }
  const std::string optfile = vm.count("ssl-dist-optfile") ? str("ssl-dist-optfile") : std::string();
  if (proto != "inet_tls") {
    if (!optfile.empty() || !single.empty()) return std::string("--ssl-dist-optfile/--ssl-dist-opt need --proto-dist inet_tls");
    return s;
  }
  auto tls = cnode::tls_dist_options(optfile, single);
  if (!tls) return "TLS distribution (--ssl-dist-optfile/--ssl-dist-opt): " + tls.message();
  s.node.tls = std::move(*tls);
  return s;
}

}  // namespace hc::sdk
