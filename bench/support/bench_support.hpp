// Shared pieces of the benchmarks that drive BEAM nodes: an Elixir peer
// running erlang_harness/registry_bench.exs, a synchronous call from the
// C++ node, clocks and /proc readings. Header-only (each bench is one file).
#pragma once

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnode/node.hpp"

extern char** environ;

namespace hc::bench {

inline std::string source_dir() {
  const char* s = std::getenv("HC_SOURCE_DIR");
  return s ? s : ".";
}

inline std::string rnd(const std::string& prefix) {
  static std::mt19937_64 g{std::random_device{}()};
  return prefix + "_" + std::to_string(g() % 1000000);
}

// Wall clock in µs: comparable with the BEAM's :os.system_time(:microsecond)
// on the same host.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool horde_available() {
  return std::system("ERL_LIBS=\"$ERL_LIBS\" erl -noshell -eval \"halt(case code:which('Elixir.Horde.Registry') of "
                     "non_existing -> 1; _ -> 0 end).\" >/dev/null 2>&1") == 0;
}

// CPU seconds (user + system) of this process.
inline double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A field of /proc/self/status in kB (VmRSS, VmHWM).
inline std::int64_t self_status_kb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

inline std::size_t heap_in_use() { return mallinfo2().uordblks; }

// An Elixir node running registry_bench.exs, bound to 127.0.0.1 with epmd on
// 127.0.0.1, room for 4 M processes (one per registered name; the default
// limit is 262 144); killed (SIGKILL) on destruction.
class ElixirPeer {
 public:
  ElixirPeer(const std::string& name, const std::string& cookie) : name_(name + "@127.0.0.1") {
    std::vector<std::string> args{"elixir", "--name", name_, "--cookie", cookie, "--erl",
                                  "-kernel inet_dist_use_interface {127,0,0,1} +P 4000000",
                                  source_dir() + "/erlang_harness/registry_bench.exs"};
    setenv("ERL_EPMD_ADDRESS", "127.0.0.1", 0);
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, "elixir", &fa, nullptr, argv.data(), environ) != 0) throw std::runtime_error("spawn elixir");
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    std::string buf;
    char c;
    while (buf.find("registry_bench ready") == std::string::npos) {
      if (read(out[0], &c, 1) != 1) throw std::runtime_error("elixir peer died: " + buf);
      buf += c;
    }
    out_ = out[0];
  }
  ElixirPeer(const ElixirPeer&) = delete;
  ElixirPeer& operator=(const ElixirPeer&) = delete;
  ~ElixirPeer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdin_);
    close(out_);
  }
  Atom name() const { return Atom(name_); }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int stdin_ = -1, out_ = -1;
};

// A gen_server call from a throw-away C++ process, waited for by the caller.
inline cnode::CallResult call(cnode::NodeRunner& runner, cnode::Dest dest, Term request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(900)) {
  auto promise = std::make_shared<std::promise<cnode::CallResult>>();
  auto future = promise->get_future();
  runner.post([&runner, dest, request, timeout, promise] {
    runner.node().spawn_fn([](cnode::Process&, const Term&) {}, {},
                           [dest, request, timeout, promise](cnode::Process& self) {
                             self.call(dest, request, timeout, [promise, &self](cnode::CallResult r) {
                               promise->set_value(std::move(r));
                               self.exit(Term(Atom("normal")));
                             });
                           });
  });
  return future.get();
}

inline Term bench_call(cnode::NodeRunner& r, const ElixirPeer& p, Term request) {
  auto res = call(r, cnode::Dest(Atom("registry_bench"), p.name()), std::move(request));
  if (!res.ok()) throw std::runtime_error("bench call failed: " + to_string(res.reason()));
  return res.value();
}

// {ok, X, ...} -> element i as an integer; `timeout` -> -1.
inline std::int64_t ok_int(const Term& t, std::size_t i = 1) {
  if (t.is_atom("timeout")) return -1;
  if (!t.is_tuple() || !t.element(0)->is_atom("ok")) throw std::runtime_error("unexpected reply " + to_string(t));
  return t.element(i)->as_int().value();
}

}  // namespace hc::bench
