#include "sdk/application.hpp"

#include <unistd.h>
#if __has_include(<malloc.h>)
#include <malloc.h>  // mallopt (glibc)
#endif

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options/parsers.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "cnode/error.hpp"
#include "cnode/log.hpp"
#include "sdk/horde_roles.hpp"
#include "sdk/node_flags.hpp"
#include "sdk/version.hpp"

namespace hc::sdk {
namespace {

void print_version(std::ostream& os, const std::string& program) {
  os << program << ' ' << kVersion;
  if (program != "horde-cnode") os << " (horde-cnode " << kVersion << ')';
  os << " git " << kGitRevision << '\n'
     << "built with erl_interface " << kErlInterfaceVersion << " (Erlang/OTP " << kOtpRelease << ")\n"
     << "speaks: Erlang distribution protocol version 6; Horde 0.10 / DeltaCrdt 0.6 registry and supervisor\n";
}


// The running program: node, signals, stdin watch and the ordered stop.
class Runner {
 public:
  Runner(boost::asio::io_context& io, NodeFlags flags, std::vector<std::shared_ptr<Extension>> extensions,
         std::function<std::error_code(cnode::Node&)> on_start, std::string program)
      : io_(io),
        flags_(std::move(flags)),
        extensions_(std::move(extensions)),
        on_start_(std::move(on_start)),
        program_(std::move(program)),
        node_(io, flags_.node),
        signals_(io, SIGINT, SIGTERM),
        hangups_(io, SIGHUP) {}

  int run() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      HC_LOG(info) << "signal " << sig << " (" << strsignal(sig) << "): shutting down";
      graceful_stop();
    });
    wait_hangup();
    if (flags_.exit_on_stdin_close && !watch_stdin()) return kExitStartFailed;
    node_.start([this](std::error_code ec) { started(ec); });
    io_.run();
    return status_;
  }

 private:
  void started(std::error_code ec) {
    if (ec) {
      // Node::start reports one name_taken code, epmd_name_in_use (exit 3:
      // restarting will not help); a connection to epmd lost while
      // registering (epmd_failure) says so and exits 1 (a retry may help).
      const bool in_use = ec == hc::errc::name_taken;
      const std::string& n = flags_.node.name;
      if (in_use)
        std::cerr << program_ << ": name " << n.substr(0, n.find('@')) << " is in use (epmd on port "
                  << flags_.node.epmd_port << " has a node registered under it)\n";
      else if (ec == cnode::Errc::epmd_unreachable)
        std::cerr << program_ << ": cannot reach epmd on 127.0.0.1:" << flags_.node.epmd_port
                  << " (--epmd-port / ERL_EPMD_PORT; epmd is started automatically unless --no-epmd-start)\n";
      else if (ec == cnode::Errc::epmd_failure)
        std::cerr << program_ << ": lost the connection to epmd on 127.0.0.1:" << flags_.node.epmd_port
                  << " while registering name " << n.substr(0, n.find('@'))
                  << " (epmd closed it before answering; the name is not known to be in use)\n";
      else
        std::cerr << program_ << ": cannot start node " << n << ": " << ec.message() << '\n';
      HC_LOG(error) << "cannot start: " << ec.message();
      status_ = in_use ? kExitNameInUse : kExitStartFailed;
      stop_now();
      return;
    }
    for (const auto& e : extensions_) {
      if (auto se = e->start(node_)) {
        std::cerr << program_ << ": " << e->name() << ": " << se.message() << '\n';
        status_ = kExitStartFailed;
        stop_now();
        return;
      }
    }
    if (on_start_) {
      if (auto se = on_start_(node_)) {
        std::cerr << program_ << ": on_start: " << se.message() << '\n';
        status_ = kExitStartFailed;
        stop_now();
      }
    }
  }

  // SIGHUP (a closed terminal, a `kill -HUP` meant for log rotation) must not
  // kill the node silently: it is logged and otherwise ignored.
  void wait_hangup() {
    hangups_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      HC_LOG(warn) << "SIGHUP received and ignored (stop the node with SIGTERM or SIGINT)";
      wait_hangup();
    });
  }

  // The Port convention: a node started from a BEAM Port has the Port's
  // pipe as stdin, which reaches EOF when that BEAM exits (even by kill -9).
  // stdin may be a pipe, a tty or a regular file, which epoll cannot watch,
  // so a detached thread does the blocking read and then closes the write
  // end of a self-pipe; the io thread sees EOF on the read end. The thread
  // shares no object with the node, so it is harmless if it outlives us.
  bool watch_stdin() {
    int fds[2];
    if (::pipe(fds) != 0) {
      std::cerr << program_ << ": --exit-on-stdin-close: pipe: " << std::strerror(errno) << '\n';
      return false;
    }
    stdin_watch_.emplace(io_, fds[0]);
    std::thread([write_end = fds[1]] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR)) continue;
        break;
      }
      ::close(write_end);
    }).detach();
    stdin_watch_->async_read_some(boost::asio::buffer(&stdin_sink_, 1), [this](boost::system::error_code ec, std::size_t) {
      if (ec == boost::asio::error::operation_aborted) return;
      HC_LOG(info) << "standard input closed (--exit-on-stdin-close): shutting down";
      graceful_stop();
    });
    return true;
  }

  // Every extension's before_stop (bounded by a deadline), then the stop.
  void graceful_stop() {
    if (std::exchange(stopping_, true)) return;  // a signal and stdin EOF may both ask
    auto pending = std::make_shared<std::size_t>(1);
    auto finished = std::make_shared<bool>(false);
    auto finish = [this, pending, finished] {
      if (--*pending == 0 && !std::exchange(*finished, true)) stop_now();
    };
    auto deadline = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds(10));
    deadline->async_wait([this, finished, deadline](boost::system::error_code ec) {
      if (ec || std::exchange(*finished, true)) return;
      HC_LOG(warn) << "graceful stop took longer than 10 s: stopping now";
      stop_now();
    });
    for (const auto& e : extensions_) {
      ++*pending;
      e->before_stop(node_, finish);
    }
    finish();
  }

  void stop_now() {
    signals_.cancel();
    hangups_.cancel();
    if (stdin_watch_) stdin_watch_->cancel();
    node_.stop();
    // Let the closing connections flush, then leave the loop.
    auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(200));
    t->async_wait([this, t](boost::system::error_code) { io_.stop(); });
  }

  boost::asio::io_context& io_;
  NodeFlags flags_;
  std::vector<std::shared_ptr<Extension>> extensions_;
  std::function<std::error_code(cnode::Node&)> on_start_;
  std::string program_;
  cnode::Node node_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangups_;
  std::optional<boost::asio::posix::stream_descriptor> stdin_watch_;
  char stdin_sink_ = 0;
  bool stopping_ = false;
  int status_ = kExitOk;
};

}  // namespace

void tune_malloc() {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_MXFAST)
  // Why: see application.hpp. GLIBC_TUNABLES, when set, says what the
  // operator wants instead.
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_MXFAST, 0);
#if defined(M_ARENA_MAX)
  mallopt(M_ARENA_MAX, 1);
#endif
#endif
}

int run_node(int argc, const char* const* argv, ApplicationSpec spec) {
  const std::string& program = spec.program;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  if (!args.empty() && args.front() == "node") args.erase(args.begin());

  std::vector<std::shared_ptr<Extension>> extensions;
  extensions.push_back(make_horde_roles(std::move(spec.kinds)));
  for (auto& e : spec.extensions) extensions.push_back(std::move(e));

  po::options_description general("General");
  general.add_options()("help,h", "show this help and exit")("version", "show the version and exit");
  po::options_description node_options("Node");
  add_node_options(node_options);
  po::options_description all;
  all.add(general).add(node_options);
  std::vector<po::options_description> groups;
  groups.reserve(extensions.size());
  for (const auto& e : extensions) {
    groups.emplace_back(e->name());
    e->add_options(groups.back());
    all.add(groups.back());
  }

  po::variables_map vm;
  try {
    // No positional arguments: a stray word is an error, not silently ignored.
    po::store(po::command_line_parser(args).options(all).positional({}).run(), vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    std::cerr << program << ": unexpected argument (every option is a --flag; see --help)\nTry '" << program
              << " --help' for more information.\n";
    return kExitUsage;
  } catch (const po::error& e) {
    std::cerr << program << ": " << e.what() << "\nTry '" << program << " --help' for more information.\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << "usage: " << program << " --name NAME@HOST [--cookie-file FILE] [--connect NODE]... [OPTIONS]\n\n"
              << spec.description << "\n\n"
              << all << "\nLimits:\n  atoms: at most " << kDefaultAtomLimit
              << " distinct atoms (the BEAM's default); a message from a peer that would add more is dropped\n"
              << "\nExit status: 0 stopped cleanly, 1 start-up failure (e.g. epmd unreachable), 2 usage error, "
              << int(kExitNameInUse) << " the node name is in use in epmd.\n";
    return kExitOk;
  }
  if (vm.count("version")) {
    print_version(std::cout, program);
    return kExitOk;
  }
  // Every value is checked before anything listens or registers in epmd.
  auto parsed = node_flags(vm);
  if (auto* message = std::get_if<std::string>(&parsed)) {
    std::cerr << program << ": " << *message << "\nTry '" << program << " --help' for more information.\n";
    return kExitUsage;
  }
  for (const auto& e : extensions) {
    if (auto message = e->configure(vm); !message.empty()) {
      std::cerr << program << ": " << message << "\nTry '" << program << " --help' for more information.\n";
      return kExitUsage;
    }
  }
  NodeFlags flags = std::get<NodeFlags>(std::move(parsed));
  tune_malloc();
  log::set_level(*log::parse_level(flags.log_level));
  log::set_node_name(flags.node.name);

  boost::asio::io_context io(1);
  Runner runner(io, std::move(flags), std::move(extensions), std::move(spec.on_start), program);
  return runner.run();
}

}  // namespace hc::sdk
