// The horde-cnode program as an operator meets it (issue 11, operations):
// --exit-on-stdin-close, a wrong cookie on --connect, a name already in use,
// an unreachable epmd. Each runs build/app/horde-cnode with pipes for stdin
// and stderr and asserts on the exit status and the log.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/beam_node.hpp"

extern char** environ;

using namespace hc::test;
using namespace std::chrono_literals;

namespace {

std::string exe() { return std::string(HC_BINARY_DIR) + "/app/horde-cnode"; }

// One run of the program; killed (SIGKILL) by the destructor if still running.
class Cli {
 public:
  explicit Cli(std::vector<std::string> args) {
    int in[2], err[2];
    BOOST_REQUIRE(::pipe(in) == 0 && ::pipe(err) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    args.insert(args.begin(), exe());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    BOOST_REQUIRE(posix_spawn(&pid_, exe().c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(err[1]);
    in_ = in[1];
    err_ = err[0];
    ::fcntl(err_, F_SETFL, ::fcntl(err_, F_GETFL) | O_NONBLOCK);
  }
  ~Cli() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    close_stdin();
    if (err_ >= 0) ::close(err_);
  }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  // Reads stderr until `text` appears (true) or `timeout` passes / EOF (false).
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (log_.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!read_some(left)) return log_.find(text) != std::string::npos;
    }
    return true;
  }
  // The exit status once the process has exited within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        while (read_some(100ms)) {
        }
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      read_some(20ms);  // drains stderr while waiting (a full pipe would block the child)
    }
    return std::nullopt;
  }
  const std::string& log() const noexcept { return log_; }

 private:
  // false on EOF or error.
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{err_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char buf[4096];
    ssize_t n = ::read(err_, buf, sizeof buf);
    if (n > 0) {
      log_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    return n < 0 && errno == EAGAIN;
  }
  pid_t pid_ = -1;
  int in_ = -1, err_ = -1;
  std::string log_;
};

std::uint16_t unused_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);  // nothing listens there now
  return ntohs(a.sin_port);
}

std::vector<std::string> base_args(const std::string& name, const std::string& cookie) {
  return {"--name", name, "--cookie", cookie, "--listen", "127.0.0.1", "--no-discovery"};
}

bool have_exe() {
  if (std::filesystem::exists(exe())) return true;
  BOOST_TEST_MESSAGE("skipped: " << exe() << " not built");
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_beam_test)

BOOST_AUTO_TEST_CASE(exits_cleanly_when_stdin_closes) {
  if (!have_exe()) return;
  auto args = base_args(unique_name("stdin") + "@127.0.0.1", unique_name("cookie"));
  args.push_back("--exit-on-stdin-close");
  Cli cli(args);
  BOOST_REQUIRE_MESSAGE(cli.wait_for_log("listening on port", 15s), cli.log());
  const auto closed_at = std::chrono::steady_clock::now();
  cli.close_stdin();  // as when the BEAM that owns the Port dies
  auto status = cli.wait_exit(15s);
  BOOST_REQUIRE_MESSAGE(status.has_value(), "still running after stdin closed:\n" << cli.log());
  BOOST_TEST(*status == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - closed_at < 12s));  // graceful stop is bounded by 10 s
  BOOST_TEST(cli.log().find("standard input closed (--exit-on-stdin-close): shutting down") != std::string::npos,
             cli.log());
}

BOOST_AUTO_TEST_CASE(wrong_cookie_on_connect_is_logged_with_its_reason) {
  if (!have_exe()) return;
  BeamNode beam{{unique_name("cookiepeer"), unique_name("right")}};
  auto args = base_args(unique_name("wrongcookie") + "@127.0.0.1", unique_name("wrong"));
  args.insert(args.end(), {"--connect", beam.node_name(), "--log-level", "warn"});
  Cli cli(args);
  const std::string expected = "cannot connect to '" + beam.node_name() +
                               "': the peer closed the connection after our challenge reply: the cookies differ";
  BOOST_TEST_REQUIRE(cli.wait_for_log(expected, 20s), cli.log());
  // Retries go on with backoff; the second failure is logged too (then 4th, 8th...).
  BOOST_TEST(cli.wait_for_log("(failed attempt 2; next warning at attempt 4)", 20s), cli.log());
}

BOOST_AUTO_TEST_CASE(name_in_use_has_its_own_exit_status) {
  if (!have_exe()) return;
  const std::string short_name = unique_name("taken");
  BeamNode holder{{short_name, unique_name("cookie")}};
  Cli cli(base_args(short_name + "@127.0.0.1", "c"));
  auto status = cli.wait_exit(20s);
  BOOST_REQUIRE_MESSAGE(status.has_value(), cli.log());
  BOOST_TEST(*status == 3);
  BOOST_TEST(cli.log().find("name " + short_name + " is in use") != std::string::npos, cli.log());
}

BOOST_AUTO_TEST_CASE(unreachable_epmd_is_said_plainly) {
  if (!have_exe()) return;
  auto args = base_args(unique_name("noepmd") + "@127.0.0.1", "c");
  args.insert(args.end(), {"--epmd-port", std::to_string(unused_port()), "--no-epmd-start"});
  Cli cli(args);
  auto status = cli.wait_exit(20s);
  BOOST_REQUIRE_MESSAGE(status.has_value(), cli.log());
  BOOST_TEST(*status == 1);
  BOOST_TEST(cli.log().find("cannot reach epmd on 127.0.0.1:") != std::string::npos, cli.log());
}

BOOST_AUTO_TEST_SUITE_END()
