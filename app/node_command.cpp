#include "app/node_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>
#include <cstring>

#include <cerrno>
#include <unistd.h>

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
    {"--cookie", "COOKIE", "distribution cookie (default: $HORDE_CNODE_COOKIE, else ~/.erlang.cookie)"},
    {"--cookie-file", "FILE", "read the cookie from the first line of FILE (keeps it off the command line)"},
    {"--connect", "NODE", "keep NODE connected, reconnecting with backoff (repeatable)"},
    {"--port", "N", "distribution listen port (default: any free port, published via epmd)"},
    {"--listen", "ADDRESS", "listen address (default 0.0.0.0)"},
    {"--log-level", "LEVEL", "trace, debug, info (default), warn, error or off"},
    {"--max-frame", "BYTES", "largest accepted distribution frame (default 67108864)"},
    {"--tick", "MS", "interval of our own ticks in milliseconds (default 5000)"},
    {"--no-discovery", "", "do not connect to the nodes our peers know"},
    {"--no-epmd-start", "", "do not start `epmd -daemon` when no epmd runs"},
    {"--epmd-port", "N", "epmd port (default: $ERL_EPMD_PORT, else 4369)"},
    {"--exit-on-stdin-close", "", "stop gracefully when standard input reaches end of file (for nodes run from a BEAM Port)"},
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
  os << "\nlimits:\n  atoms: at most " << kDefaultAtomLimit
     << " distinct atoms (the BEAM's default); a message from a peer that would add more is dropped\n"
        "\nexit status: 0 stopped; 1 start-up failure (e.g. epmd unreachable); 2 usage error; "
     << kExitNameInUse << " the name is in use in epmd\n";
}

bool parse_node_args(std::span<const std::string_view> args, NodeSettings& s, bool& help, std::ostream& err) {
  help = false;
  bool have_cookie = false;
  bool have_epmd_port = false;
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
    } else if (flag == "--cookie-file") {
      std::ifstream f{std::string(value)};
      std::getline(f, s.node.cookie);
      if (!f && s.node.cookie.empty()) {
        err << "horde-cnode: cannot read a cookie from --cookie-file '" << value << "'\n";
        return false;
      }
      have_cookie = true;
    } else if (flag == "--epmd-port") {
      if (!parse_number(value, s.node.epmd_port) || s.node.epmd_port == 0) {
        err << "horde-cnode: invalid --epmd-port '" << value << "' (1..65535)\n";
        return false;
      }
      have_epmd_port = true;
    } else if (flag == "--exit-on-stdin-close") {
      s.exit_on_stdin_close = true;
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
  if (!have_epmd_port) {
    // As erl and ei do: ERL_EPMD_PORT names the epmd port when no flag does.
    if (const char* env = std::getenv("ERL_EPMD_PORT"); env && *env) {
      if (!parse_number(std::string_view(env), s.node.epmd_port) || s.node.epmd_port == 0) {
        err << "horde-cnode: invalid ERL_EPMD_PORT '" << env << "' (1..65535)\n";
        return false;
      }
    }
  }
  if (!have_cookie) {
    if (const char* env = std::getenv("HORDE_CNODE_COOKIE"); env && *env) {
      s.node.cookie = env;
      return true;
    }
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
  boost::asio::signal_set hangups(io, SIGHUP);
  std::optional<boost::asio::posix::stream_descriptor> stdin_watch;  // --exit-on-stdin-close
  auto shutdown = [&] {
    signals.cancel();
    hangups.cancel();
    if (stdin_watch) stdin_watch->cancel();
    node.stop();
    // Let the closing connections flush, then leave the loop.
    auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(200));
    t->async_wait([&io, t](boost::system::error_code) { io.stop(); });
  };
  // On a signal: let the extensions' before_stop hooks finish (bounded by a
  // deadline), then stop.
  bool stopping = false;  // a signal and stdin EOF may both ask
  auto graceful_shutdown = [&] {
    if (std::exchange(stopping, true)) return;
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
  // SIGHUP (a closed terminal, a `kill -HUP` meant for log rotation) must not
  // kill the node silently: it is logged and otherwise ignored.
  std::function<void(boost::system::error_code, int)> on_hangup = [&](boost::system::error_code ec, int) {
    if (ec) return;
    HC_LOG(info) << "SIGHUP received and ignored (stop the node with SIGTERM or SIGINT)";
    hangups.async_wait(on_hangup);
  };
  hangups.async_wait(on_hangup);
  // The Port convention: a node started from a BEAM Port has the Port's pipe
  // as stdin, which reaches EOF when that BEAM exits (even by kill -9). stdin
  // may be a pipe, a tty or a regular file, which epoll cannot watch, so a
  // detached thread does the blocking read and then closes the write end of
  // a self-pipe; the io thread sees EOF on the read end. The thread shares no
  // object with the node, so it is harmless if it outlives this function.
  if (settings.exit_on_stdin_close) {
    int fds[2];
    if (::pipe(fds) != 0) {
      err << "horde-cnode: --exit-on-stdin-close: pipe: " << std::strerror(errno) << '\n';
      return 1;
    }
    stdin_watch.emplace(io, fds[0]);
    std::thread([write_end = fds[1]] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR)) continue;
        break;
      }
      ::close(write_end);
    }).detach();
    static char sink;
    stdin_watch->async_read_some(boost::asio::buffer(&sink, 1), [&](boost::system::error_code ec, std::size_t) {
      if (ec == boost::asio::error::operation_aborted) return;
      HC_LOG(info) << "standard input closed (--exit-on-stdin-close): shutting down";
      graceful_shutdown();
    });
  }
  node.start([&](std::error_code ec) {
    if (ec == cnode::Errc::epmd_name_in_use) {
      // A distinct status: a supervisor (systemd, a Port owner) can tell
      // "pick another name" from other failures.
      const std::string& n = settings.node.name;
      err << "horde-cnode: name " << n.substr(0, n.find('@')) << " is in use (epmd on port "
          << settings.node.epmd_port << " has a node registered under it)\n";
      status = kExitNameInUse;
      shutdown();
      return;
    }
    if (ec == cnode::Errc::epmd_unreachable) {
      err << "horde-cnode: cannot reach epmd on 127.0.0.1:" << settings.node.epmd_port
          << " (--epmd-port / ERL_EPMD_PORT; epmd is started automatically unless --no-epmd-start)\n";
      status = 1;
      shutdown();
      return;
    }
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
