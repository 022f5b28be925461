// Sync at scale (issue 13): a Horde.Registry with Horde's defaults (sync
// interval 300 ms), N names registered on one node, time from the last
// registration until the peer holds all N. Side by side in one run:
//   bb     BEAM -> BEAM   (B1 registers, B2 is the peer)
//   bc     BEAM -> C++    (B1 registers, the C++ node is the peer)
//   cb     C++  -> BEAM   (the C++ node registers, B1 is the peer)
//   cp     C++  -> BEAM, paced: as cb, but the C++ node registers at the
//          BEAM registrar's rate, so the registration spans the same wall
//          time as bb's and "lag after the last registration" compares the
//          same scenario (in cb the BEAM peer gets N names at 20-45x that
//          rate and must absorb them after the producer stopped). The rate:
//          that bb measured for the same N in this invocation; else
//          `--pace R` (names/s); else bb for that N runs first (its row is
//          printed) -- the BEAM registrar's rate falls steeply with N
//          (35 000/s at 10 000 names, 3 400/s at 300 000), so neither a
//          short probe nor one default would match.
//   jb     cold join, BEAM: B1 holds N names, B2 starts the registry
//   jc     cold join, C++:  B1 holds N names, the C++ node starts and joins
// Every (set-up, N) runs in a fresh child process with fresh BEAM nodes, so
// CPU seconds and peak RSS belong to that run alone. Registrations: BEAM
// one GenServer.call per name, one process per name (registry_bench.exs);
// C++ RegistryApi::register_pid in batches of 1 000 per io-thread turn,
// one local process per name; paced (cp): every 10 ms one io-thread turn
// registers the names due by then at the given rate. CPU and RSS of a BEAM
// node are its OS process's (/proc).
//
//   sync_scale_bench                      10k, 30k, 100k, 300k, all set-ups
//   sync_scale_bench --million            ... and 1 000 000
//   sync_scale_bench --sizes 10000,30000 --setups bb,bc
//   sync_scale_bench --setups cp --pace 20000
// Needs Horde in ERL_LIBS and `elixir` in PATH (prints SKIPPED otherwise).
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cnode/log.hpp"
#include "horde/echo_process.hpp"
#include "horde/registry_api.hpp"
#include "sdk/application.hpp"
#include "support/bench_support.hpp"

using namespace hc;
using namespace hc::bench;
using namespace std::chrono_literals;

namespace {

// The C++ registrar's k-th name, <<"c", K>>. (Appended rather than
// `"c" + to_string(k)`, on which GCC 12 -O3 warns -Wrestrict falsely.)
Term cpp_name(std::size_t k) {
  std::string name = "c";
  name += std::to_string(k);
  return binary(name);
}

constexpr std::int64_t kSyncMs = 300;
constexpr int kTimeoutS = 900;

struct Row {
  double lag_s = -1;        // last registration (or join start) -> peer has all N
  double rate = 0;          // registrar's names/s (0 for a join)
  double cpu_reg = 0;       // CPU s of the registrar / existing member, during the run
  double cpu_peer = 0;      // CPU s of the peer / joining node
  double rss_peak_mb = 0;   // peer's peak RSS (MB)
  double rss_per_name = 0;  // C++ peer: RSS growth per name after settling (B)
  double heap_per_name = 0; // C++ peer: malloc in-use growth per name (B)
  double stats_per_name = 0;  // C++ peer: registry `stats` memory per name (B)
  double stall_ms = -1;       // C++ node: the longest its io thread kept a probe waiting (-1: not in the run)
  double stall_cpu_ms = -1;   // ... and the most io-thread CPU time during one such wait
};

// How long the C++ node's io thread is unavailable at a stretch: a probe
// posted to it every 2 ms (the next one once the last ran) and the longest
// wait for one to run, which is about the node's longest turn (a handler,
// a decode, a send) during the run. Also the CPU time the io thread used
// during that wait (its thread CPU clock): on this 2-core machine, with the
// BEAM peer and the node's workers busy, a turn is often preempted and its
// wall time twice its CPU time; the CPU figure is the turn's own length.
class StallProbe {
 public:
  explicit StallProbe(cnode::NodeRunner& c)
      : thread_([this, &c] {
          clockid_t io_clock{};
          c.run([&] { pthread_getcpuclockid(pthread_self(), &io_clock); }).get();
          auto cpu_ms = [&] {
            timespec ts{};
            clock_gettime(io_clock, &ts);
            return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
          };
          while (!stop_) {
            auto ran = std::make_shared<std::promise<void>>();
            auto done = ran->get_future();
            const auto t0 = std::chrono::steady_clock::now();
            const double c0 = cpu_ms();
            c.post([ran] { ran->set_value(); });
            done.wait();
            const auto t1 = std::chrono::steady_clock::now();
            const double wall = std::chrono::duration<double, std::milli>(t1 - t0).count();
            if (wall > longest_) {
              // steady_clock is CLOCK_MONOTONIC: the window lines up with
              // `perf record -k CLOCK_MONOTONIC` samples (HC_SCALE_TRACE).
              longest_from_ = std::chrono::duration<double>(t0.time_since_epoch()).count();
              longest_to_ = std::chrono::duration<double>(t1.time_since_epoch()).count();
            }
            longest_ = std::max(longest_, wall);
            longest_any_cpu_ = std::max(longest_any_cpu_, cpu_ms() - c0);
            std::this_thread::sleep_for(2ms);
          }
        }) {}
  ~StallProbe() { stop(); }
  double stop() {
    stop_ = true;
    if (!thread_.joinable()) return longest_;
    thread_.join();
    if (std::getenv("HC_SCALE_TRACE"))
      std::fprintf(stderr, "  longest wait %.1f ms, CLOCK_MONOTONIC %.6f .. %.6f\n", longest_, longest_from_, longest_to_);
    return longest_;
  }
  // The longest io-thread CPU time during one wait (after stop()).
  double cpu() const { return longest_any_cpu_; }

 private:
  std::atomic<bool> stop_{false};
  double longest_ = 0, longest_any_cpu_ = 0;
  double longest_from_ = 0, longest_to_ = 0;  // the longest wait, CLOCK_MONOTONIC seconds
  std::thread thread_;
};

// HC_SCALE_TRACE=S: every S seconds, what the C++ registry's CRDT has done
// so far and how many bytes wait to be written to the BEAM peer, on stderr
// (to see why a run falls behind: rounds held back, slices sent, the
// longest handler).
class SyncTrace {
 public:
  SyncTrace(cnode::NodeRunner& c, Atom reg, Atom peer) {
    const char* e = std::getenv("HC_SCALE_TRACE");
    const double every = e ? std::atof(e) : 0;
    if (!(every > 0)) return;
    thread_ = std::thread([this, &c, reg, peer, every] {
      const auto t0 = std::chrono::steady_clock::now();
      while (!stop_) {
        std::string line = c.run([&] {
                              std::ostringstream o;
                              o << "queued=" << c.node().queued_bytes(peer) / 1'000'000 << "MB";
                              auto api = horde::RegistryApi::find(c.node(), reg);
                              const Term st = api ? api->stats_term() : Term();
                              const Term* crdt = st.is_map() ? st.map_get(std::string_view("crdt")) : nullptr;
                              if (crdt)
                                for (const char* k : {"keys", "diffs_in", "diffs_out", "get_diffs_in", "slices_out", "slices_in",
                                                      "stale_diffs", "backlogged_diffs", "backlogged_rounds_skipped",
                                                      "deferred_peer_rounds", "longest_handler_us", "longest_handler",
                                                      "handlers_over_50ms"})
                                  if (const Term* v = crdt->map_get(std::string_view(k))) o << ' ' << k << '=' << to_string(*v);
                              return o.str();
                            }).get();
        const double at = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "  trace %6.1fs %s\n", at, line.c_str());
        for (int i = 0; i < static_cast<int>(every * 10) && !stop_; ++i) std::this_thread::sleep_for(100ms);
      }
    });
  }
  ~SyncTrace() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct OsStats {
  double cpu_s;
  double hwm_mb;
  double rss_mb;
};
OsStats beam_stats(cnode::NodeRunner& c, const ElixirPeer& p) {
  Term t = bench_call(c, p, tuple(Atom("os_stats")));
  return {*t.element(0)->as_int() / 1000.0, *t.element(1)->as_int() / 1024.0, *t.element(2)->as_int() / 1024.0};
}
OsStats self_stats() { return {self_cpu_seconds(), self_status_kb("VmHWM") / 1024.0, self_status_kb("VmRSS") / 1024.0}; }

// The process's mappings (/proc/self/smaps): start address -> name and
// resident kB. HC_SCALE_VERBOSE prints what grew between two snapshots, to
// tell the heap, other anonymous mappings (mmapped buffers, thread stacks)
// and code pages apart in the RSS growth.
struct Mapping {
  std::string name;
  std::int64_t size_kb = 0, rss_kb = 0;
};
std::map<std::uint64_t, Mapping> mappings() {
  std::map<std::uint64_t, Mapping> out;
  std::ifstream f("/proc/self/smaps");
  Mapping* cur = nullptr;
  for (std::string line; std::getline(f, line);) {
    unsigned long long a = 0, b = 0;
    char perms[8] = {};
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %*s %*s %*s %n", &a, &b, perms, &name_at) >= 3 && name_at > 0) {
      cur = &out[a];
      cur->name = line.substr(static_cast<std::size_t>(name_at));
      if (cur->name.empty()) cur->name = "[anon]";
      cur->size_kb = static_cast<std::int64_t>((b - a) / 1024);
    } else if (cur && line.rfind("Rss:", 0) == 0) {
      cur->rss_kb = std::atoll(line.c_str() + 4);
    }
  }
  return out;
}
void print_mapping_growth(const std::map<std::uint64_t, Mapping>& before, const std::map<std::uint64_t, Mapping>& after) {
  std::map<std::string, std::int64_t> by_name;
  for (const auto& [at, m] : after) {
    auto b = before.find(at);
    const std::int64_t grew = m.rss_kb - (b == before.end() ? 0 : b->second.rss_kb);
    by_name[m.name] += grew;
    if (std::abs(grew) >= 64)
      std::fprintf(stderr, "  mapping %llx %s (%lld kB): RSS %+lld kB\n", static_cast<unsigned long long>(at), m.name.c_str(),
                   static_cast<long long>(m.size_kb), static_cast<long long>(grew));
  }
  for (const auto& [at, m] : before)
    if (!after.count(at) && m.rss_kb >= 64)
      std::fprintf(stderr, "  mapping %llx %s (%lld kB): gone, RSS -%lld kB\n", static_cast<unsigned long long>(at), m.name.c_str(),
                   static_cast<long long>(m.size_kb), static_cast<long long>(m.rss_kb));
  for (const auto& [at, m] : before)
    if (!after.count(at)) by_name[m.name] -= m.rss_kb;
  for (const auto& [name, kb] : by_name)
    if (kb != 0) std::fprintf(stderr, "  RSS growth %-40s %+lld kB\n", name.c_str(), static_cast<long long>(kb));
}

cnode::NodeOptions node_options(const std::string& cookie) {
  cnode::NodeOptions o;
  o.name = test::unique_name("ssc") + "@127.0.0.1";
  o.cookie = cookie;
  o.listen_address = "127.0.0.1";
  o.discovery = false;
  // HC_SCALE_OFFLOAD=0: decode and encode every message on the io thread
  // (as before the worker threads), for a before/after in one binary.
  if (const char* e = std::getenv("HC_SCALE_OFFLOAD"); e && *e == '0') o.offload_decode_bytes = o.offload_encode_terms = 0;
  return o;
}

void connect(cnode::NodeRunner& c, const ElixirPeer& p) {
  std::promise<std::error_code> done;
  c.post([&] { c.node().connect(p.name(), [&](std::error_code ec) { done.set_value(ec); }); });
  if (auto ec = done.get_future().get()) throw std::runtime_error("cannot connect to " + std::string(p.name().text()));
}

void start_beam(cnode::NodeRunner& c, const ElixirPeer& p, Atom reg, std::vector<Atom> members) {
  TermVector v;
  for (auto& m : members) v.push_back(Term(m));
  Term r = bench_call(c, p, tuple(Atom("start"), reg, Term::list(v), Term(kSyncMs)));
  if (!(r == Term(Atom("ok")))) throw std::runtime_error("start failed: " + to_string(r));
}

void start_cpp(cnode::NodeRunner& c, Atom reg, Atom peer) {
  if (!start_cpp_registry(c, reg, peer, std::chrono::milliseconds(kSyncMs))) throw std::runtime_error("cannot start the C++ registry");
}

std::size_t cpp_count(cnode::NodeRunner& c, Atom reg) {
  return c.run([&] {
            auto api = horde::RegistryApi::find(c.node(), reg);
            return api ? api->count() : 0;
          }).get();
}

// Polls (every 5 ms: a poll is one io-thread turn) until the C++ registry
// holds n names; returns the time it did, or -1.
std::int64_t await_cpp(cnode::NodeRunner& c, Atom reg, std::size_t n, std::int64_t since) {
  while (now_us() - since < kTimeoutS * 1'000'000LL) {
    if (cpp_count(c, reg) >= n) return now_us();
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

std::int64_t await_beam(cnode::NodeRunner& c, const ElixirPeer& p, Atom reg, std::size_t n) {
  return ok_int(bench_call(c, p, tuple(Atom("await_count"), reg, Term(static_cast<std::uint64_t>(n)), kTimeoutS * 1000)));
}

Term uint(std::size_t n) { return Term(static_cast<std::uint64_t>(n)); }

// Names registered (or processes spawned) per io-thread turn: 1 000 is a
// 5-10 ms turn at 300 000 names. 10 000 was 35-105 ms, which was most of
// cb's stall column (the bench's own turns, not the node's).
constexpr std::size_t kBatch = 1'000;

// C++ registrations in io-thread turns of kBatch (no turn blocks the node
// for long), one local process per name as on the BEAM side (spawned before
// the clock starts). One process per name matters: Horde's RegistryImpl
// keeps a list of keys per pid and runs Enum.uniq over it on every add, so
// many names on one pid cost the BEAM peer quadratic time.
std::vector<Pid> spawn_registrants(cnode::NodeRunner& c, std::size_t n) {
  std::vector<Pid> pids;
  for (std::size_t i = 0; i < n; i += kBatch)
    c.run([&] {
       for (std::size_t k = i; k < std::min(n, i + kBatch); ++k)
         pids.push_back(c.node().spawn(std::make_unique<horde::EchoProcess>()));
     }).get();
  return pids;
}

// Names [from, to) registered to their processes, in one io-thread turn.
void register_range(cnode::NodeRunner& c, Atom reg, const std::vector<Pid>& pids, std::size_t from, std::size_t to) {
  c.run([&] {
     auto api = horde::RegistryApi::find(c.node(), reg);
     for (std::size_t k = from; k < to; ++k)
       (void)api->register_pid(pids[k], cpp_name(k), Atom("nil"));  // fresh keys; the peer's count checks
   }).get();
}

std::pair<std::int64_t, std::int64_t> register_cpp(cnode::NodeRunner& c, Atom reg, std::size_t n) {
  std::vector<Pid> pids = spawn_registrants(c, n);
  const std::int64_t t0 = now_us();
  for (std::size_t i = 0; i < n; i += kBatch) register_range(c, reg, pids, i, std::min(n, i + kBatch));
  return {t0, now_us()};
}

// Paced C++ registrations (cp): `rate` names/s, one io-thread turn every
// 10 ms registering the names due by then (the i-th name is due i / rate
// seconds after the first), so a late wake-up catches up instead of
// stretching the run; the last registration lands (n - 1) / rate after the
// first, as a BEAM registrar's at that rate would.
std::pair<std::int64_t, std::int64_t> register_cpp_paced(cnode::NodeRunner& c, Atom reg, std::size_t n, double rate) {
  std::vector<Pid> pids = spawn_registrants(c, n);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t t0 = now_us();
  std::size_t done = 0;
  for (int tick = 0; done < n; ++tick) {
    std::this_thread::sleep_until(start + tick * 10ms);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::size_t due = std::min(n, static_cast<std::size_t>(rate * elapsed) + 1);
    if (due <= done) continue;
    register_range(c, reg, pids, done, due);
    done = due;
  }
  return {t0, now_us()};
}

Row run_one(const std::string& setup, std::size_t n, double pace) {
  Row row;
  const std::string cookie = test::unique_name("ssb");
  const Atom reg("Elixir.Bench.Scale");
  ElixirPeer b1(test::unique_name("ss1"), cookie, registry_peer_options());
  std::unique_ptr<ElixirPeer> b2;
  if (setup == "bb" || setup == "jb") b2 = std::make_unique<ElixirPeer>(test::unique_name("ss2"), cookie, registry_peer_options());
  cnode::NodeRunner c(node_options(cookie));
  if (auto ec = c.start()) throw std::runtime_error("cannot start the C++ node: " + ec.message());
  const Atom cn = c.node().name();
  connect(c, b1);
  if (b2) connect(c, *b2);

  if (setup == "bb" || setup == "jb") {
    start_beam(c, b1, reg, {b1.name(), b2->name()});
    if (setup == "bb") start_beam(c, *b2, reg, {b1.name(), b2->name()});
    std::this_thread::sleep_for(1s);
    OsStats r0 = beam_stats(c, b1), p0 = beam_stats(c, *b2);
    Term r = bench_call(c, b1, tuple(Atom("register_many"), reg, binary("b"), uint(n)));
    std::int64_t t0 = ok_int(r, 1), t1 = ok_int(r, 2);
    if (setup == "bb") {
      row.rate = n * 1e6 / std::max<std::int64_t>(t1 - t0, 1);
      std::int64_t seen = await_beam(c, *b2, reg, n);
      row.lag_s = seen < 0 ? -1 : (seen - t1) / 1e6;
    } else {
      r0 = beam_stats(c, b1);
      p0 = beam_stats(c, *b2);
      const std::int64_t s = now_us();
      start_beam(c, *b2, reg, {b1.name(), b2->name()});
      std::int64_t seen = await_beam(c, *b2, reg, n);
      row.lag_s = seen < 0 ? -1 : (seen - s) / 1e6;
    }
    OsStats r1 = beam_stats(c, b1), p1 = beam_stats(c, *b2);
    row.cpu_reg = r1.cpu_s - r0.cpu_s;
    row.cpu_peer = p1.cpu_s - p0.cpu_s;
    row.rss_peak_mb = p1.hwm_mb;
  } else if (setup == "bc" || setup == "jc") {
    start_beam(c, b1, reg, {b1.name(), cn});
    if (setup == "bc") start_cpp(c, reg, b1.name());
    // Cold join: the registry starts after the baseline; a registry of
    // another name started before it pages in the code and builds the
    // fixed structures of a registry start (~280 kB of the binary's pages
    // at 10 000 names, 28 B per name), which bc's baseline holds too: the
    // B/n columns then count the names, not the program. HC_SCALE_WARM=0: no
    // warm-up (the B/n of earlier runs).
    if (setup == "jc" && !(std::getenv("HC_SCALE_WARM") && *std::getenv("HC_SCALE_WARM") == '0'))
      start_cpp(c, Atom("Elixir.Bench.Warm"), b1.name());
    std::this_thread::sleep_for(1s);
    malloc_trim(0);
    const double rss0 = self_status_kb("VmRSS") * 1024.0;
    const std::size_t heap0 = heap_in_use();
    const auto maps0 = std::getenv("HC_SCALE_VERBOSE") ? mappings() : std::map<std::uint64_t, Mapping>();
    OsStats r0 = beam_stats(c, b1), p0 = self_stats();
    StallProbe stalls(c);
    SyncTrace trace(c, reg, b1.name());
    Term r = bench_call(c, b1, tuple(Atom("register_many"), reg, binary("b"), uint(n)));
    std::int64_t t0 = ok_int(r, 1), t1 = ok_int(r, 2);
    std::int64_t from = t1;
    if (setup == "bc") {
      row.rate = n * 1e6 / std::max<std::int64_t>(t1 - t0, 1);
    } else {
      r0 = beam_stats(c, b1);
      p0 = self_stats();
      from = now_us();
      start_cpp(c, reg, b1.name());
    }
    std::int64_t seen = await_cpp(c, reg, n, from);
    row.lag_s = seen < 0 ? -1 : (seen - from) / 1e6;
    row.stall_ms = stalls.stop();
    row.stall_cpu_ms = stalls.cpu();
    OsStats r1 = beam_stats(c, b1), p1 = self_stats();
    row.cpu_reg = r1.cpu_s - r0.cpu_s;
    row.cpu_peer = p1.cpu_s - p0.cpu_s;
    row.rss_peak_mb = p1.hwm_mb;
    // Steady state: rounds the peer started before we had everything may
    // still be shipping slices for a few seconds; the smallest of 5 samples
    // one second apart (after malloc_trim) is the resident state.
    // HC_SCALE_SAMPLES=N takes N samples instead (to see whether a cold
    // join's extra heap is slices in flight or retained).
    double rss = 1e300, heap = 1e300;
    const int samples = std::getenv("HC_SCALE_SAMPLES") ? std::atoi(std::getenv("HC_SCALE_SAMPLES")) : 5;
    for (int i = 0; i < samples; ++i) {
      std::this_thread::sleep_for(1s);
      c.run([] { malloc_trim(0); }).get();
      rss = std::min(rss, self_status_kb("VmRSS") * 1024.0);
      heap = std::min(heap, static_cast<double>(heap_in_use()));
    }
    row.rss_per_name = (rss - rss0) / n;
    if (std::getenv("HC_SCALE_VERBOSE")) print_mapping_growth(maps0, mappings());
    // HC_SCALE_HEAP_EXIT=1: end the process here, nothing torn down, so
    // that what a heap profiler (heaptrack) reports as leaked is the
    // settled live set (with the start-up's allocations).
    if (std::getenv("HC_SCALE_HEAP_EXIT")) {
      std::fflush(nullptr);
      _exit(0);
    }
    row.heap_per_name = (heap - static_cast<double>(heap0)) / n;
    Term st = c.run([&] { return horde::RegistryApi::find(c.node(), reg)->stats_term(); }).get();
    double stats_bytes = 0;
    for (const char* k : {"view_bytes", "crdt_bytes"})
      if (const Term* m = st.map_get(std::string_view(k))) stats_bytes += static_cast<double>(m->as_int().value_or(0));
    row.stats_per_name = stats_bytes / n;
  } else if (setup == "cb" || setup == "cp") {
    if (setup == "cp" && !(pace > 0)) throw std::runtime_error("cp needs a pace (names/s)");
    start_beam(c, b1, reg, {b1.name(), cn});
    start_cpp(c, reg, b1.name());
    std::this_thread::sleep_for(1s);
    OsStats r0 = self_stats(), p0 = beam_stats(c, b1);
    StallProbe stalls(c);
    SyncTrace trace(c, reg, b1.name());
    auto [t0, t1] = setup == "cp" ? register_cpp_paced(c, reg, n, pace) : register_cpp(c, reg, n);
    row.rate = n * 1e6 / std::max<std::int64_t>(t1 - t0, 1);
    std::int64_t seen = await_beam(c, b1, reg, n);
    row.lag_s = seen < 0 ? -1 : (seen - t1) / 1e6;
    row.stall_ms = stalls.stop();
    row.stall_cpu_ms = stalls.cpu();
    OsStats r1 = self_stats(), p1 = beam_stats(c, b1);
    row.cpu_reg = r1.cpu_s - r0.cpu_s;
    row.cpu_peer = p1.cpu_s - p0.cpu_s;
    row.rss_peak_mb = p1.hwm_mb;
  } else {
    throw std::runtime_error("unknown set-up " + setup);
  }
  if (std::getenv("HC_SCALE_VERBOSE")) {
    Term st = c.run([&] {
                 auto api = horde::RegistryApi::find(c.node(), reg);
                 return api ? api->stats_term() : Term();
               }).get();
    std::fprintf(stderr, "C++ registry stats: %s\n", to_string(st).c_str());
    struct mallinfo2 mi = mallinfo2();
    std::fprintf(stderr, "malloc: in use %zu (arena) + %zu (mmap), free %zu; RSS %lld kB\n", mi.uordblks, mi.hblkhd,
                 mi.fordblks, static_cast<long long>(self_status_kb("VmRSS")));
  }
  c.stop();
  return row;
}

// Runs one (set-up, N) in a child process; parses its RESULT line.
std::optional<Row> run_child(const char* self, const std::string& setup, std::size_t n, double pace) {
  int out[2];
  if (pipe(out) != 0) return std::nullopt;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::string ns = std::to_string(n), ps = std::to_string(pace);
    execl(self, self, "--one", setup.c_str(), ns.c_str(), ps.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t k; (k = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(k));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  auto at = text.rfind("RESULT ");
  if (at == std::string::npos) {
    std::printf("  %s N=%zu failed: %s\n", setup.c_str(), n, text.c_str());
    return std::nullopt;
  }
  Row r;
  if (std::sscanf(text.c_str() + at, "RESULT %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &r.lag_s, &r.rate, &r.cpu_reg,
                  &r.cpu_peer, &r.rss_peak_mb, &r.rss_per_name, &r.heap_per_name, &r.stats_per_name, &r.stall_ms,
                  &r.stall_cpu_ms) != 10)
    return std::nullopt;
  return r;
}

// Least-squares slope of log(y) over log(x): the growth exponent.
double exponent(const std::vector<std::pair<double, double>>& pts) {
  std::vector<std::pair<double, double>> v;
  for (auto [x, y] : pts)
    if (y > 0) v.emplace_back(std::log(x), std::log(y));
  if (v.size() < 2) return NAN;
  double mx = 0, my = 0;
  for (auto [x, y] : v) mx += x, my += y;
  mx /= v.size(), my /= v.size();
  double sxy = 0, sxx = 0;
  for (auto [x, y] : v) sxy += (x - mx) * (y - my), sxx += (x - mx) * (x - mx);
  return sxy / sxx;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');) out.push_back(part);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // What sdk::run_node does for the program (sdk::tune_malloc: a fixed mmap
  // threshold, no fastbins). HC_SCALE_GLIBC_MMAP=0 measures glibc's
  // defaults instead (as does any GLIBC_TUNABLES).
  if (!(std::getenv("HC_SCALE_GLIBC_MMAP") && *std::getenv("HC_SCALE_GLIBC_MMAP") == '0')) hc::sdk::tune_malloc();
  hc::log::set_level(hc::log::Level::warn);
  if (argc == 5 && std::strcmp(argv[1], "--one") == 0) {
    try {
      Row r = run_one(argv[2], std::stoul(argv[3]), std::stod(argv[4]));
      std::printf("RESULT %.3f %.0f %.2f %.2f %.1f %.0f %.0f %.0f %.1f %.1f\n", r.lag_s, r.rate, r.cpu_reg, r.cpu_peer,
                  r.rss_peak_mb, r.rss_per_name, r.heap_per_name, r.stats_per_name, r.stall_ms, r.stall_cpu_ms);
      return 0;
    } catch (const std::exception& e) {
      std::printf("error: %s\n", e.what());
      return 1;
    }
  }
  if (!horde_available()) {
    std::printf("sync_scale_bench: SKIPPED (Horde not in ERL_LIBS='%s')\n", std::getenv("ERL_LIBS") ? std::getenv("ERL_LIBS") : "");
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::vector<std::size_t> sizes{10'000, 30'000, 100'000, 300'000};
  std::vector<std::string> setups{"bb", "bc", "cb", "cp", "jb", "jc"};
  double pace_flag = 0;  // --pace: cp's rate when no bb ran for that N
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--million") sizes.push_back(1'000'000);
    else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      for (auto& s : split(argv[++i])) sizes.push_back(std::stoul(s));
    } else if (a == "--setups" && i + 1 < argc) setups = split(argv[++i]);
    else if (a == "--pace" && i + 1 < argc) pace_flag = std::stod(argv[++i]);
  }
  const std::map<std::string, std::string> title{{"bb", "BEAM -> BEAM"}, {"bc", "BEAM -> C++"}, {"cb", "C++ -> BEAM"},
                                                 {"cp", "C++ -> BEAM paced"}, {"jb", "cold join, BEAM"}, {"jc", "cold join, C++"}};
  std::printf("sync_scale_bench: Horde.Registry, sync interval %lld ms; lag = last registration (join: registry start) "
              "-> peer has all N\n",
              static_cast<long long>(kSyncMs));
  std::printf("%-18s %9s %9s %9s %11s %9s %9s %10s %8s %8s %8s %12s\n", "set-up", "N", "lag s", "total s", "reg names/s",
              "CPU reg", "CPU peer", "peer RSS", "RSS B/n", "heap B/n", "stats B/n", "stall/cpu ms");
  std::map<std::string, std::vector<std::pair<double, double>>> lags;
  for (std::size_t n : sizes) {
    std::map<std::string, Row> ran;  // this N's rows so far
    auto run = [&](const std::string& s) {
      // cp: bb's rate for this N, else --pace (else bb was run first, below).
      const double pace = s != "cp" ? 0 : ran.count("bb") ? ran["bb"].rate : pace_flag;
      auto r = run_child(argv[0], s, n, pace);
      if (!r) return;
      ran[s] = *r;
      lags[s].emplace_back(static_cast<double>(n), r->lag_s);
      const bool cpp_peer = s == "bc" || s == "jc";
      auto opt = [&](double v) { return cpp_peer ? std::to_string(static_cast<long long>(v)) : std::string("-"); };
      // Total: first registration -> the peer has all N (N / rate + lag): a
      // registrar that registers faster than its peer absorbs shows a longer
      // lag but may still finish first (join: the lag itself).
      const double total = r->rate > 0 ? static_cast<double>(n) / r->rate + r->lag_s : r->lag_s;
      const std::string stall = r->stall_ms < 0 ? std::string("-")
                                                : std::to_string(static_cast<long long>(r->stall_ms + 0.5)) + "/" +
                                                      std::to_string(static_cast<long long>(r->stall_cpu_ms + 0.5));
      std::printf("%-18s %9zu %9.2f %9.2f %11.0f %9.2f %9.2f %8.0fMB %8s %8s %8s %12s\n", title.at(s).c_str(), n, r->lag_s,
                  total, r->rate, r->cpu_reg, r->cpu_peer, r->rss_peak_mb, opt(r->rss_per_name).c_str(), opt(r->heap_per_name).c_str(),
                  opt(r->stats_per_name).c_str(), stall.c_str());
    };
    for (const auto& s : setups) {
      if (ran.count(s)) continue;  // bb, run early for a cp
      if (s == "cp" && !ran.count("bb") && !(pace_flag > 0)) run("bb");
      if (s == "cp" && !ran.count("bb") && !(pace_flag > 0)) {
        std::printf("  cp N=%zu skipped: no BEAM -> BEAM rate\n", n);
        continue;
      }
      run(s);
    }
  }
  std::printf("\ngrowth exponent of the lag over N (least squares on log-log):\n");
  for (const auto& s : setups)
    if (lags.count(s)) std::printf("  %-18s N^%.2f\n", title.at(s).c_str(), exponent(lags[s]));
  std::printf("(total: first registration -> peer has all N, N / reg rate + lag; CPU reg/peer: CPU s of the registrar\n"
              " (join: existing member) and of the peer (join: joining node) during"
              " the run; peer RSS: the peer's peak; B/n: the C++ peer after settling, RSS / malloc in-use / `stats` growth per name;\n"
              " stall/cpu ms: the longest the C++ node's io thread kept a probe posted every 2 ms waiting, i.e. its longest turn,\n"
              "   and the most CPU time the io thread used during one such wait (the turn itself, without preemption);\n"
              " paced: the C++ node registers at BEAM -> BEAM's rate for that N, or --pace)\n");
  return 0;
}
