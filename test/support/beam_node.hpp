// BeamNode: a real Erlang/OTP node for tests, driven from C++.
//
//   hc::test::BeamNode beam({.name = hc::test::unique_name("beam_a"), .cookie = cookie});
//   beam.eval("net_adm:ping('cpp@127.0.0.1').");          // -> "pong"
//   beam.eval("P = spawn(fun() -> receive X -> X end end).");
//   beam.eval("is_process_alive(P).");                     // bindings persist: "true"
//
// - Starts `erl -name NAME@127.0.0.1 -setcookie COOKIE -noshell` bound to
//   127.0.0.1 (distribution listener and epmd lookups), with
//   erlang_harness/node_harness.erl compiled into a temporary directory and
//   Elixir's ebin on the code path when Elixir is installed (so
//   'Elixir.GenServer':call/3 and 'Elixir.Process':'alive?'/1 work), plus
//   ERL_LIBS when given.
// - eval() sends one line of Erlang expressions (ending in '.') and returns
//   the value printed with ~tp on one line; an exception or a timeout throws
//   BeamError. Each evaluation runs in a fresh process; variables bound by
//   earlier evals are visible in later ones.
// - Messages sent to {hc_inbox, Node} are queued; read them with
//   eval("node_harness:take(2000).") -> "{ok,Msg}" | "timeout".
// - The OS process is always killed (SIGKILL) by the destructor, also when a
//   test fails; kill() does it earlier (to test noconnection).
// Thread-safety: one BeamNode per thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hc::test {

struct BeamError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct BeamNodeOptions {
  std::string name;                     // short part, e.g. "beam_a_1234"; host is 127.0.0.1
  std::string cookie;
  std::string erl_libs;                 // ERL_LIBS for the node (e.g. /work/erl_libs); empty: inherit
  std::vector<std::string> extra_args;  // more erl arguments
  bool elixir = true;                   // put Elixir's ebin on the path when available
};

// "prefix_<random>" for node names and cookies that do not collide.
std::string unique_name(std::string_view prefix);

// True when `erl` (with ERL_LIBS=erl_libs when given, else the inherited
// one) can load `module`, e.g. "Elixir.Horde.Registry". Starts one erl
// (about a second); call it once per test binary or benchmark.
bool erl_module_available(std::string_view module, const std::string& erl_libs = {});

// ERL_LIBS for BEAM nodes that need `module` (e.g. "Elixir.Horde.Registry"):
// the inherited ERL_LIBS plus Elixir's own lib directory (elixir, logger).
// When ERL_LIBS is unset or `module` cannot be loaded with it, prints
// "skipped: ..." with `hint` (what ERL_LIBS must hold) and exits with 77,
// CTest's skip code (HC_TEST_SKIP_CODE). Starts elixir and erl (a second or
// two): keep the result in a function-local static.
std::string erl_libs_or_skip(std::string_view module, std::string_view hint);

class BeamNode {
 public:
  explicit BeamNode(BeamNodeOptions options);
  ~BeamNode();
  BeamNode(const BeamNode&) = delete;
  BeamNode& operator=(const BeamNode&) = delete;

  // NAME@127.0.0.1
  const std::string& node_name() const noexcept { return full_name_; }
  const std::string& cookie() const noexcept { return options_.cookie; }

  // Evaluate and return the printed value (throws BeamError on an exception,
  // a timeout or a dead node).
  std::string eval(std::string_view exprs, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Like eval, but returns "error <reason>" instead of throwing on an Erlang exception.
  std::string try_eval(std::string_view exprs, std::chrono::milliseconds timeout = std::chrono::seconds(15));

  void kill();  // SIGKILL now (idempotent)
  bool running() const noexcept { return pid_ > 0; }
  pid_t os_pid() const noexcept { return pid_; }

 private:
  std::string read_reply(std::chrono::milliseconds timeout);
  BeamNodeOptions options_;
  std::string full_name_;
  pid_t pid_ = -1;
  int in_fd_ = -1;   // to erl's stdin
  int out_fd_ = -1;  // from erl's stdout
  std::string buffer_;
};

}  // namespace hc::test
