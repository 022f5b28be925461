// What only the benchmarks need, next to the shared test support
// (test/support/: ChildProcess, TempDir, call, eventually, unique_name,
// erl_module_available): an Elixir peer running one of the erlang_harness
// bench scripts, clocks and /proc readings. Header-only (each bench is one
// file).
#pragma once

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnode/node.hpp"
#include "horde/registry_api.hpp"
#include "support/beam_node.hpp"       // unique_name, erl_module_available
#include "support/child_process.hpp"   // ChildProcess, TempDir
#include "support/cluster_support.hpp" // call, eventually

namespace hc::bench {

// Wall clock in µs: comparable with the BEAM's :os.system_time(:microsecond)
// on the same host.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// malloc's in-use bytes: the chunks of its arenas (uordblks) and the
// chunks it mapped on their own (hblkhd: every block of at least the mmap
// threshold, 128 KB under hc::sdk::tune_malloc, where a CRDT's large
// tables live). uordblks alone left those out: 65 B per name at 300 000
// names against `stats`' 246.
inline std::size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct ElixirPeerOptions {
  std::string script;                   // erlang_harness/<script>
  std::vector<std::string> args;        // after the script
  std::vector<std::string> env;         // extra NAME=VALUE entries
  std::string ready;                    // the line the script prints once it serves
  std::string erl_flags;                // more flags for --erl
  bool stdin_pipe = false;              // keep stdin open (scripts that halt on its EOF)
};

// An Elixir node running erlang_harness/<script>, bound to 127.0.0.1 with
// epmd on 127.0.0.1; the constructor returns once its stdout holds
// `ready` (throws after 90 s or when it exits first). A ChildProcess: its
// output goes to files in a TempDir (nothing to drain) and it is killed
// (SIGKILL to its process group) on destruction.
class ElixirPeer {
 public:
  ElixirPeer(const std::string& name, const std::string& cookie, const ElixirPeerOptions& o)
      : name_(name + "@127.0.0.1"), dir_("hc_bench_peer"), proc_(argv(o, cookie), dir_, child_options(o)) {
    if (!proc_.wait_for_output(o.ready, std::chrono::seconds(90)))
      throw std::runtime_error(name_ + " did not start: " + proc_.out() + proc_.err());
  }
  ElixirPeer(const ElixirPeer&) = delete;
  ElixirPeer& operator=(const ElixirPeer&) = delete;

  Atom name() const { return Atom(name_); }
  const std::string& node_name() const { return name_; }
  // SIGKILL now (a node going away without a goodbye); waits for it.
  void kill() {
    proc_.signal(SIGKILL);
    proc_.wait_for(std::chrono::seconds(10));
  }

 private:
  std::vector<std::string> argv(const ElixirPeerOptions& o, const std::string& cookie) const {
    std::vector<std::string> a{"elixir", "--name", name_, "--cookie", cookie, "--erl",
                               "-kernel inet_dist_use_interface {127,0,0,1} " + o.erl_flags,
                               std::string(HC_SOURCE_DIR) + "/erlang_harness/" + o.script};
    a.insert(a.end(), o.args.begin(), o.args.end());
    return a;
  }
  static test::ChildOptions child_options(const ElixirPeerOptions& o) {
    test::ChildOptions c;
    c.stdin_pipe = o.stdin_pipe;
    c.env = o.env;
    c.env.push_back("ERL_EPMD_ADDRESS=127.0.0.1");
    c.name = "elixir_peer";
    return c;
  }
  std::string name_;
  test::TempDir dir_;
  test::ChildProcess proc_;
};

// An Elixir node running registry_bench.exs, with room for 4 M processes
// (one per registered name; the default limit is 262 144); it halts when
// its stdin closes.
inline ElixirPeerOptions registry_peer_options() {
  ElixirPeerOptions o;
  o.script = "registry_bench.exs";
  o.ready = "registry_bench ready";
  o.erl_flags = "+P 4000000";
  o.stdin_pipe = true;
  return o;
}

// A call to registry_bench.exs's server from a throw-away C++ process
// (test::call), with `timeout` for one BEAM-side step; throws on failure.
inline Term bench_call(cnode::NodeRunner& r, const ElixirPeer& p, Term request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(900)) {
  auto res = test::call(r, cnode::Dest(Atom("registry_bench"), p.name()), std::move(request), timeout);
  if (!res.ok()) throw std::runtime_error("bench call failed: " + to_string(res.reason()));
  return res.value();
}

// {ok, X, ...} -> element i as an integer; `timeout` -> -1.
inline std::int64_t ok_int(const Term& t, std::size_t i = 1) {
  if (t.is_atom("timeout")) return -1;
  if (!t.is_tuple() || !t.element(0)->is_atom("ok")) throw std::runtime_error("unexpected reply " + to_string(t));
  return t.element(i)->as_int().value();
}

// Starts registry `reg` on `c` with one peer member {reg, peer} (the C++
// side of the registry benches); false when it does not start. Blocks the
// calling thread until the io thread has run it.
inline bool start_cpp_registry(cnode::NodeRunner& c, Atom reg, Atom peer, std::chrono::milliseconds sync_interval) {
  return c.run([&] {
            c.node().add_peer(peer);
            horde::RegistryOptions ro;
            ro.name = reg;
            ro.sync_interval = sync_interval;
            ro.members.push_back(horde::MemberSpec{reg, peer});
            return horde::RegistryProcess::start(c.node(), ro).has_value();
          }).get();
}

// Horde (Registry and DynamicSupervisor) in the inherited ERL_LIBS.
inline bool horde_available() { return test::erl_module_available("Elixir.Horde.Registry"); }

}  // namespace hc::bench
