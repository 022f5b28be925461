#include "app/node_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cnode/handshake.hpp"
#include "cnode/log.hpp"

namespace hc::app {
namespace {

std::vector<NodeExtension>& extensions() {
  static std::vector<NodeExtension> list;
  return list;
}

struct BuiltinFlag {
  std::string_view name, value_name, help;
};
constexpr BuiltinFlag kBuiltin[] = {
    {"--name", "NAME@HOST", "node name (HOST: an IP address or a resolvable host name); required"},
    {"--cookie", "COOKIE", "distribution cookie (default: the contents of ~/.erlang.cookie)"},
    {"--connect", "NODE", "keep NODE connected, reconnecting with backoff (repeatable)"},
    {"--port", "N", "distribution listen port (default: any free port, published via epmd)"},
    {"--listen", "ADDRESS", "listen address (default 0.0.0.0)"},
    {"--log-level", "LEVEL", "trace, debug, info (default), warn, error or off"},
    {"--max-frame", "BYTES", "largest accepted distribution frame (default 4294967295, the protocol maximum)"},
    {"--tick", "MS", "interval of our own ticks in milliseconds (default 5000)"},
    {"--no-discovery", "", "do not connect to the nodes our peers know"},
    {"--no-epmd-start", "", "do not start `epmd -daemon` when no epmd runs"},
    {"--help", "", "show this help"},
};

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

const std::vector<std::string>& NodeSettings::values(const std::string& flag) const {
  static const std::vector<std::string> empty;
  auto it = extension_values.find(flag);
  return it == extension_values.end() ? empty : it->second;
}

bool register_node_extension(NodeExtension extension) {
  extensions().push_back(std::move(extension));
  return true;
}

void print_node_usage(std::ostream& os) {
  os << "usage: horde-cnode [node] --name NAME@HOST [--cookie COOKIE] [--connect NODE]... [OPTIONS]\n"
        "\nRun a visible Erlang distribution node until SIGINT or SIGTERM.\n\noptions:\n";
  auto line = [&](std::string_view name, std::string_view value, std::string_view help) {
    std::string left = "  " + std::string(name) + (value.empty() ? "" : " " + std::string(value));
    os << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << help << '\n';
  };
  for (const auto& f : kBuiltin) line(f.name, f.value_name, f.help);
  for (const auto& e : extensions())
    for (const auto& f : e.flags) line(f.name, f.value_name, f.help);
}

bool parse_node_args(std::span<const std::string_view> args, NodeSettings& s, bool& help, std::ostream& err) {
  help = false;
  bool have_cookie = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::string_view flag = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    // Find the flag and whether it takes a value.
    const BuiltinFlag* builtin = nullptr;
    for (const auto& f : kBuiltin)
      if (f.name == flag) builtin = &f;
    const NodeFlag* ext = nullptr;
    if (!builtin)
      for (const auto& e : extensions())
        for (const auto& f : e.flags)
          if (f.name == flag) ext = &f;
    if (!builtin && !ext) {
      err << "horde-cnode: unknown option '" << a << "'\n";
      return false;
    }
    bool wants_value = builtin ? !builtin->value_name.empty() : !ext->value_name.empty();
    if (wants_value && !inline_value) {
      if (i + 1 >= args.size()) {
        err << "horde-cnode: option '" << flag << "' requires an argument\n";
        return false;
      }
      value = args[++i];
    } else if (!wants_value && inline_value) {
      err << "horde-cnode: option '" << flag << "' takes no argument\n";
      return false;
    }
    if (ext) {
      s.extension_values[ext->name].emplace_back(wants_value ? std::string(value) : "true");
      continue;
    }
    if (flag == "--help") {
      help = true;
    } else if (flag == "--name") {
      s.node.name = value;
    } else if (flag == "--cookie") {
      s.node.cookie = value;
      have_cookie = true;
    } else if (flag == "--connect") {
      if (!cnode::valid_node_name(value)) {
        err << "horde-cnode: invalid node name '" << value << "' for --connect (expected NAME@HOST)\n";
        return false;
      }
      s.node.connect.emplace_back(value);
    } else if (flag == "--port") {
      if (!parse_number(value, s.node.port)) {
        err << "horde-cnode: invalid port '" << value << "'\n";
        return false;
      }
    } else if (flag == "--listen") {
      s.node.listen_address = value;
    } else if (flag == "--log-level") {
      if (!log::parse_level(value)) {
        err << "horde-cnode: invalid log level '" << value << "' (trace, debug, info, warn, error, off)\n";
        return false;
      }
      s.log_level = value;
    } else if (flag == "--max-frame") {
      if (!parse_number(value, s.node.max_frame) || s.node.max_frame < 1024) {
        err << "horde-cnode: invalid --max-frame '" << value << "' (bytes, at least 1024)\n";
        return false;
      }
    } else if (flag == "--tick") {
      unsigned ms = 0;
      if (!parse_number(value, ms) || ms == 0) {
        err << "horde-cnode: invalid --tick '" << value << "'\n";
        return false;
      }
      s.node.tick_interval = std::chrono::milliseconds(ms);
    } else if (flag == "--no-discovery") {
      s.node.discovery = false;
    } else if (flag == "--no-epmd-start") {
      s.node.start_epmd = false;
    }
  }
  if (help) return true;
  if (s.node.name.empty()) {
    err << "horde-cnode: missing required option --name NAME@HOST\n";
    return false;
  }
  if (!cnode::valid_node_name(s.node.name)) {
    err << "horde-cnode: invalid node name '" << s.node.name << "' (expected NAME@HOST)\n";
    return false;
  }
  if (!have_cookie) {
    const char* home = std::getenv("HOME");
    std::ifstream f(std::string(home ? home : "") + "/.erlang.cookie");
    std::getline(f, s.node.cookie);
    if (s.node.cookie.empty()) {
      err << "horde-cnode: no --cookie given and ~/.erlang.cookie is unreadable\n";
      return false;
    }
  }
  return true;
}

int run_node_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  NodeSettings settings;
  bool help = false;
  if (!parse_node_args(args, settings, help, err)) {
    err << "Try 'horde-cnode node --help' for more information.\n";
    return 2;
  }
  if (help) {
    print_node_usage(out);
    return 0;
  }
  log::set_level(*log::parse_level(settings.log_level));
  log::set_node_name(settings.node.name);

  boost::asio::io_context io(1);
  cnode::Node node(io, settings.node);
  int status = 0;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  auto shutdown = [&] {
    signals.cancel();
    node.stop();
    // Let the closing connections flush, then leave the loop.
    auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(200));
    t->async_wait([&io, t](boost::system::error_code) { io.stop(); });
  };
  // On a signal: let the extensions' before_stop hooks finish (bounded by a
  // deadline), then stop.
  auto graceful_shutdown = [&] {
    auto pending = std::make_shared<int>(1);
    auto finished = std::make_shared<bool>(false);
    auto finish = [&shutdown, pending, finished] {
      if (--*pending == 0 && !*finished) {
        *finished = true;
        shutdown();
      }
    };
    auto deadline = std::make_shared<boost::asio::steady_timer>(io, std::chrono::seconds(10));
    deadline->async_wait([&shutdown, finished, deadline](boost::system::error_code ec) {
      if (ec || *finished) return;
      *finished = true;
      shutdown();
    });
    for (const auto& e : extensions()) {
      if (!e.before_stop) continue;
      ++*pending;
      e.before_stop(node, finish);
    }
    finish();
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    HC_LOG(info) << "signal " << sig << ": shutting down";
    graceful_shutdown();
  });
  node.start([&](std::error_code ec) {
    if (ec) {
      err << "horde-cnode: cannot start node " << settings.node.name << ": " << ec.message() << '\n';
      status = 1;
      shutdown();
      return;
    }
    for (const auto& e : extensions()) {
      if (!e.install) continue;
      if (auto ie = e.install(node, settings)) {
        err << "horde-cnode: " << e.name << ": " << ie.message() << '\n';
        status = 1;
        shutdown();
        return;
      }
    }
  });
  io.run();
  return status;
}

}  // namespace hc::app
