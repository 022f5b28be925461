#include "support/beam_node.hpp"

#include "support/child_process.hpp"  // run_capture

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>

extern char** environ;

namespace hc::test {
namespace fs = std::filesystem;

namespace {

// Compile erlang_harness/node_*.erl once per test binary; returns the ebin directory.
const std::string& harness_ebin() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] {
    dir = (fs::temp_directory_path() / ("hc_harness_" + std::to_string(getpid()))).string();
    fs::create_directories(dir);
    // Removed when the test binary exits (a static path: no destruction-order issue).
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(dir, ec);
    });
    // Every erlang_harness/node_*.erl (the harness plus small test servers).
    std::string cmd = "erlc -o '" + dir + "' '" + std::string(HC_SOURCE_DIR) + "'/erlang_harness/node_*.erl 2>&1";
    std::string out = run_capture(cmd);
    if (!fs::exists(dir + "/node_harness.beam")) throw BeamError("erlc node_harness.erl failed: " + out);
  });
  return dir;
}

const std::string& elixir_ebin() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] {
    // Debian layout first (fast), then ask elixir itself.
    for (const char* d : {"/usr/lib/elixir/lib/elixir/ebin", "/usr/local/lib/elixir/lib/elixir/ebin"}) {
      if (fs::exists(std::string(d) + "/Elixir.GenServer.beam")) {
        dir = d;
        return;
      }
    }
    std::string out = run_capture("elixir -e 'IO.puts(:code.lib_dir(:elixir, :ebin))' 2>/dev/null");
    if (!out.empty() && fs::exists(out + "/Elixir.GenServer.beam")) dir = out;
  });
  return dir;
}

}  // namespace

std::string erl_libs_or_skip(std::string_view module, std::string_view hint) {
  const char* env = std::getenv("ERL_LIBS");
  const std::string base = env ? env : "";
  const std::string elixir_lib = run_capture("elixir -e 'IO.puts(Path.dirname(:code.lib_dir(:elixir)))' 2>/dev/null");
  const std::string all = elixir_lib.empty() ? base : base + ":" + elixir_lib;
  if (base.empty() || !erl_module_available(module, all)) {
    std::printf("skipped: %.*s cannot be loaded with ERL_LIBS='%s'. Set ERL_LIBS to a directory holding %.*s.\n",
                static_cast<int>(module.size()), module.data(), base.c_str(), static_cast<int>(hint.size()),
                hint.data());
    std::fflush(stdout);
    std::_Exit(77);
  }
  return all;
}

bool erl_module_available(std::string_view module, const std::string& erl_libs) {
  std::string cmd = erl_libs.empty() ? std::string() : "ERL_LIBS='" + erl_libs + "' ";
  cmd += "erl -noshell -eval \"halt(case code:which('" + std::string(module) +
         "') of non_existing -> 1; _ -> 0 end).\" >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string unique_name(std::string_view prefix) {
  static std::mt19937_64 gen{std::random_device{}() ^ (std::uint64_t(getpid()) << 20)};
  static std::mutex m;
  std::lock_guard lock(m);
  return std::string(prefix) + "_" + std::to_string(gen() % 100000000);
}

BeamNode::BeamNode(BeamNodeOptions options) : options_(std::move(options)) {
  full_name_ = options_.name + "@127.0.0.1";
  std::vector<std::string> args = {"erl",       "-name",  full_name_,  "-setcookie", options_.cookie,
                                   "-noshell",
                                   "-kernel",   "inet_dist_use_interface", "{127,0,0,1}",
                                   "-pa",       harness_ebin()};
  if (options_.elixir && !elixir_ebin().empty()) {
    args.push_back("-pa");
    args.push_back(elixir_ebin());
  }
  for (auto& a : options_.extra_args) args.push_back(a);
  args.push_back("-s");
  args.push_back("node_harness");
  args.push_back("start");

  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) throw BeamError("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  posix_spawn_file_actions_addclose(&fa, to_child[1]);
  posix_spawn_file_actions_addclose(&fa, from_child[0]);

  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (!options_.erl_libs.empty() && v.starts_with("ERL_LIBS=")) continue;
    env.emplace_back(v);
  }
  if (!options_.erl_libs.empty()) env.push_back("ERL_LIBS=" + options_.erl_libs);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = posix_spawnp(&pid_, "erl", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(to_child[0]);
  close(from_child[1]);
  in_fd_ = to_child[1];
  out_fd_ = from_child[0];
  fcntl(in_fd_, F_SETFD, FD_CLOEXEC);
  fcntl(out_fd_, F_SETFD, FD_CLOEXEC);
  if (rc != 0) {
    pid_ = -1;
    throw BeamError("cannot start erl");
  }
  // Wait until the harness answers (the node is up and distributed).
  try {
    eval("ok.", std::chrono::seconds(30));
  } catch (...) {
    kill();
    throw;
  }
}

BeamNode::~BeamNode() {
  kill();
  if (in_fd_ >= 0) close(in_fd_);
  if (out_fd_ >= 0) close(out_fd_);
}

void BeamNode::kill() {
  if (pid_ <= 0) return;
  // erl is a shell script that execs beam.smp: the pid is the VM's.
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string BeamNode::read_reply(std::chrono::milliseconds timeout) {
  static constexpr std::string_view kPrefix = "@@HC@@ ";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Complete lines already buffered?
    std::size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      auto at = line.find(kPrefix);
      if (at != std::string::npos) return line.substr(at + kPrefix.size());
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw BeamError("timeout waiting for " + full_name_);
    pollfd p{out_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0) continue;
    if (r == 0) continue;
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) throw BeamError(full_name_ + " exited");
    buffer_.append(buf, std::size_t(n));
  }
}

std::string BeamNode::try_eval(std::string_view exprs, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw BeamError(full_name_ + " is not running");
  std::string line(exprs);
  for (auto& c : line)
    if (c == '\n') c = ' ';
  line += '\n';
  if (write(in_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    throw BeamError("write to " + full_name_ + " failed");
  return read_reply(timeout);
}

std::string BeamNode::eval(std::string_view exprs, std::chrono::milliseconds timeout) {
  std::string r = try_eval(exprs, timeout);
  if (r.starts_with("ok ")) return r.substr(3);
  throw BeamError("eval on " + full_name_ + " of `" + std::string(exprs) + "` failed: " + r);
}

}  // namespace hc::test
