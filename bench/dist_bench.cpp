// Distribution benchmark: the C++ node against the BEAM, in one run.
//
// Starts the C++ node (cpp_echo gen_server + cpp_sink) and two BEAM nodes:
// B runs the same services in Erlang (erlang_harness/dist_bench.erl), A is the
// client that measures, from the BEAM side, GenServer.call round trips to the
// C++ process vs. to the BEAM process on B, and one-way message throughput in
// both directions. Goal: the C++ side no slower than the BEAM side.
//
//   dist_bench [N] [tls]   (N calls per latency series, default 20000; 10*N messages)
// With `tls` every node (C++, A, B) runs the distribution over TLS
// (-proto_dist inet_tls, one -ssl_dist_optfile with mutual verification,
// certificates made with `openssl` in a temporary directory), so the A -> B
// lines are BEAM <-> BEAM over TLS next to A -> C++ over TLS.
// Needs erl/erlc in PATH and HC_SOURCE_DIR (set by bench/run).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "support/beam_node.hpp"  // unique_name
#include "support/child_process.hpp"
#include "support/tls_certs.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {

class Echo final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& req, const Term&) override {
    if (req.is_record("echo", 2)) return *req.element(1);
    return Term(Atom("unknown"));
  }
};

// {count, From, N}: count the next N messages then From ! {counted, N};
// {blast, To, N}: send N messages {msg, I} to To; {big_to, To, Size}: one
// binary of Size bytes to To. Same as dist_bench:sink/1, except that the
// 50 MB binary is built ahead (at start): building it in the handler took
// 89 ms of the io thread, which the first call behind it measured instead
// of the send path (the BEAM builds its binary in ~10 ms).
class Sink final : public Process {
 public:
  Sink() : big_(binary_of(kBigSize)) {}
  void handle_message(const Term& m) override {
    if (counting_) {
      if (++seen_ == expected_) {
        send(from_, tuple(Atom("counted"), expected_));
        counting_ = false;
      }
      return;
    }
    if (m.is_record("count", 3)) {
      from_ = *m.element(1)->as_pid();
      expected_ = *m.element(2)->as_int();
      seen_ = 0;
      counting_ = expected_ > 0;
    } else if (m.is_record("blast", 3)) {
      Pid to = *m.element(1)->as_pid();
      for (std::int64_t i = *m.element(2)->as_int(); i > 0; --i) send(to, tuple(Atom("msg"), i));
    } else if (m.is_record("big_to", 3)) {  // {big_to, To, Size}: To ! {big, <<7, 7, ...>>}
      const auto size = std::size_t(*m.element(2)->as_int());
      if (size != big_size_) {
        big_ = binary_of(size);
        big_size_ = size;
      }
      send(*m.element(1)->as_pid(), big_);
    }
  }

 private:
  static constexpr std::size_t kBigSize = 50 * 1024 * 1024;  // dist_bench.erl's
  static Term binary_of(std::size_t size) { return tuple(Atom("big"), Term::binary(std::string(size, '\x07'))); }
  Term big_;
  std::size_t big_size_ = kBigSize;
  bool counting_ = false;
  Pid from_;
  std::int64_t expected_ = 0, seen_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const bool tls = argc > 2 && std::string_view(argv[2]) == "tls";
  const char* src = std::getenv("HC_SOURCE_DIR");
  std::string root = src ? src : ".";
  const std::string suffix = test::unique_name("b");
  const std::string cookie = "bench_" + suffix;
  test::TempDir dir("hc_dist_bench");
  const std::string ebin = dir.path().string();
  if (std::system(("erlc -o '" + ebin + "' '" + root + "/erlang_harness/dist_bench.erl'").c_str()) != 0) {
    std::cerr << "dist_bench: erlc failed (is HC_SOURCE_DIR set?)\n";
    return 1;
  }
  log::set_level(log::Level::warn);

  NodeOptions opts;
  opts.name = "bench_cpp_" + suffix + "@127.0.0.1";
  opts.cookie = cookie;
  opts.listen_address = "127.0.0.1";
  opts.discovery = false;
  std::vector<std::string> dist_args;
  std::unique_ptr<test::TlsCerts> certs;
  if (tls) {
    // A CA and a node certificate (IP and DNS SAN 127.0.0.1), and the
    // option file every node reads (test/support/tls_certs.hpp).
    std::string optfile;
    try {
      certs = std::make_unique<test::TlsCerts>();
      optfile = certs->optfile("dist.conf");
    } catch (const std::exception& e) {
      std::cerr << "dist_bench: " << e.what() << "\n";
    }
    TlsOptionProblem problem;
    auto t = optfile.empty() ? Result<TlsDistOptions>(make_error_code(TlsOptionError::unreadable_file))
                             : load_ssl_dist_optfile(optfile, &problem);
    if (!t || finalize(*t, &problem)) {
      std::cerr << "dist_bench: TLS set-up failed: " << problem.detail << "\n";
      return 1;
    }
    opts.tls = *t;
    dist_args = {"-proto_dist", "inet_tls", "-ssl_dist_optfile", optfile};
  }
  NodeRunner cpp(opts);
  if (auto ec = cpp.start()) {
    std::cerr << "dist_bench: cannot start the C++ node: " << ec.message() << "\n";
    return 1;
  }
  cpp.run([&] {
    cpp.node().spawn(std::make_unique<Echo>(), SpawnOptions{false, Atom("cpp_echo"), false});
    cpp.node().spawn(std::make_unique<Sink>(), SpawnOptions{false, Atom("cpp_sink"), false});
  }).get();

  const std::string b_name = "bench_b_" + suffix + "@127.0.0.1";
  const std::string a_name = "bench_a_" + suffix + "@127.0.0.1";
  auto erl_args = [&](std::vector<std::string> v) {
    v.insert(v.begin() + 1, dist_args.begin(), dist_args.end());
    return v;
  };
  test::ChildProcess b(erl_args({"erl", "-name", b_name, "-setcookie", cookie, "-noshell", "-kernel",
                              "inet_dist_use_interface", "{127,0,0,1}", "-pa", ebin, "-eval", "dist_bench:server()"}),
                       dir, {.name = "server"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  std::cout << "dist_bench: C++ node " << opts.name << " vs BEAM node " << b_name << ", client " << a_name
            << " (OTP, 127.0.0.1, " << (tls ? "TLS distribution" : "plain TCP distribution") << ")\n";
  std::cout.flush();
  test::ChildProcess a(erl_args({"erl", "-name", a_name, "-setcookie", cookie, "-noshell", "-kernel",
                              "inet_dist_use_interface", "{127,0,0,1}", "-pa", ebin, "-eval",
                              "dist_bench:client([\"" + opts.name + "\", \"" + b_name + "\", \"" + std::to_string(n) +
                                  "\"])"}),
                       dir, {.name = "client"});
  // The client prints the results and halts; its output goes to a file.
  const std::optional<int> status = a.wait_for(std::chrono::hours(1));
  std::cout << a.out() << a.err();
  auto stats = cpp.run([&] { return cpp.node().stats(); }).get();
  std::cout << "C++ node: " << stats.frames_in << " frames in, " << stats.frames_out << " frames out\n";
  cpp.stop();
  return status == 0 ? 0 : 1;
}
