// Horde.Registry role: C++ member vs BEAM Horde, side by side in one run.
//
// Cluster: two BEAM nodes B1, B2 (real Horde 0.10.0, erlang_harness/
// registry_bench.exs) and one C++ node C (in this process). Two registries
// with Horde's defaults (sync interval 300 ms) and explicit members:
//   RB = {B1, B2}   the BEAM baseline: B1 registers, B2 is the peer
//   RC = {C,  B2}   the C++ member:    C registers,  B2 is the peer
// Scenarios (N = 100 000 unless HC_REGISTRY_BENCH_N says otherwise):
//   1. register N names on one node (one process per name, spawned before
//      the clock starts): names/s, and when the peer B2 has them all;
//   2. the C++ node absorbing N registrations made on B2: time after B2 is
//      done until C has all N;
//   3. single-registration visibility on the peer (median of 21): B1->B2,
//      C->B2, B2->C;
//   4. memory per name: C's heap growth for its N names (CRDT + views), B2's
//      :erlang.memory(:total) growth for RB's N names;
//   5. local lookups per second (C: RegistryApi::lookup; B1: Horde.Registry.lookup).
// Needs Horde in ERL_LIBS and `elixir` in PATH (prints SKIPPED otherwise).
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/echo_process.hpp"
#include "horde/registry_api.hpp"
#include "support/bench_support.hpp"

using namespace hc;
using namespace std::chrono_literals;

namespace {

// The shared pieces (bench/support/bench_support.hpp and test/support/):
// loopback-only registry_bench.exs peer, names, clocks, synchronous calls.
using bench::ElixirPeer;
using bench::now_us;
using test::unique_name;

// bench::bench_call with this benchmark's 600 s bound on one BEAM-side step.
Term call_peer(cnode::NodeRunner& r, const ElixirPeer& p, Term request) { return bench::bench_call(r, p, std::move(request), 600s); }

std::int64_t ok_us(const Term& t, std::size_t i = 1) {
  if (t.is_atom("timeout")) {
    std::printf("  (a BEAM-side wait timed out)\n");
    return -1;
  }
  if (!t.is_tuple() || !t.element(0)->is_atom("ok")) throw std::runtime_error("unexpected reply " + to_string(t));
  return t.element(i)->as_int().value();
}

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

Term key(const std::string& prefix, std::size_t i) { return binary(prefix + std::to_string(i)); }

}  // namespace

int main() {
  if (!bench::horde_available()) {
    std::printf("registry_bench: SKIPPED (Horde not in ERL_LIBS='%s')\n",
                std::getenv("ERL_LIBS") ? std::getenv("ERL_LIBS") : "");
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  hc::log::set_level(hc::log::Level::warn);
  const std::size_t n = std::getenv("HC_REGISTRY_BENCH_N") ? std::stoul(std::getenv("HC_REGISTRY_BENCH_N")) : 100000;
  const std::int64_t sync_ms = 300;
  const std::string cookie = unique_name("bench");
  const Atom rb("Elixir.Bench.BeamRegistry"), rc("Elixir.Bench.CppRegistry");

  std::printf("registry_bench: N = %zu, sync interval %lld ms (Horde default)\n", n, static_cast<long long>(sync_ms));
  ElixirPeer b1(unique_name("rb1"), cookie, bench::registry_peer_options()),
      b2(unique_name("rb2"), cookie, bench::registry_peer_options());
  cnode::NodeOptions o;
  o.name = unique_name("rbc") + "@127.0.0.1";
  o.cookie = cookie;
  o.listen_address = "127.0.0.1";
  o.discovery = false;
  cnode::NodeRunner c(o);
  if (auto ec = c.start()) {
    std::printf("cannot start the C++ node: %s\n", ec.message().c_str());
    return 1;
  }
  const Atom cn = c.node().name();
  for (const ElixirPeer* p : {&b1, &b2}) {
    std::promise<std::error_code> done;
    c.post([&] { c.node().connect(p->name(), [&](std::error_code ec) { done.set_value(ec); }); });
    if (auto ec = done.get_future().get()) {
      std::printf("cannot connect to %s: %s\n", std::string(p->name().text()).c_str(), ec.message().c_str());
      return 1;
    }
  }
  auto start_beam = [&](const ElixirPeer& p, Atom reg, std::vector<Atom> members) {
    TermVector v;
    for (auto& m : members) v.push_back(Term(m));
    Term r = call_peer(c, p, tuple(atom("start"), reg, Term::list(v), Term(sync_ms)));
    if (!(r == Term(atom("ok")))) throw std::runtime_error("start failed: " + to_string(r));
  };
  start_beam(b1, rb, {b1.name(), b2.name()});
  start_beam(b2, rb, {b1.name(), b2.name()});
  start_beam(b2, rc, {b2.name(), cn});
  c.run([&] {
     c.node().add_peer(b2.name());
     horde::RegistryOptions ro;
     ro.name = rc;
     ro.sync_interval = std::chrono::milliseconds(sync_ms);
     ro.members.push_back(horde::MemberSpec{rc, b2.name()});
     return horde::RegistryProcess::start(c.node(), ro).has_value();
   }).get();
  // Let memberships settle.
  for (int i = 0; i < 200; ++i) {
    auto members = c.run([&] { return horde::RegistryApi::find(c.node(), rc)->members().size(); }).get();
    if (members == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(1s);

  // ---- 1. register N names locally; when does the peer have them? --------------
  const std::int64_t b2_mem0 = call_peer(c, b2, tuple(atom("memory"))).as_int().value();
  Term r1 = call_peer(c, b1, tuple(atom("register_many"), rb, binary("b"), Term(static_cast<std::uint64_t>(n))));
  const std::int64_t beam_t0 = ok_us(r1, 1), beam_t1 = ok_us(r1, 2);
  const std::int64_t beam_peer = ok_us(call_peer(c, b2, tuple(atom("await_count"), rb, Term(static_cast<std::uint64_t>(n)), 600000)));
  const std::int64_t b2_mem1 = call_peer(c, b2, tuple(atom("memory"))).as_int().value();

  std::vector<Pid> pids = c.run([&] {
                             std::vector<Pid> v;
                             v.reserve(n);
                             for (std::size_t i = 0; i < n; ++i)
                               v.push_back(c.node().spawn(std::make_unique<horde::EchoProcess>()));
                             return v;
                           }).get();
  const std::size_t heap0 = c.run([] { return heap_in_use(); }).get();
  std::int64_t cpp_t0 = 0, cpp_t1 = 0;
  std::size_t failures = c.run([&] {
                            auto api = horde::RegistryApi::find(c.node(), rc);
                            std::size_t fails = 0;
                            cpp_t0 = now_us();
                            for (std::size_t i = 0; i < n; ++i)
                              if (!api->register_pid(pids[i], key("c", i), atom("nil"))) ++fails;
                            cpp_t1 = now_us();
                            return fails;
                          }).get();
  const std::size_t heap1 = c.run([] { return heap_in_use(); }).get();
  Term cpp_stats = c.run([&] { return horde::RegistryApi::find(c.node(), rc)->stats_term(); }).get();
  const std::int64_t cpp_peer = ok_us(call_peer(c, b2, tuple(atom("await_count"), rc, Term(static_cast<std::uint64_t>(n)), 600000)));

  // ---- 2. the C++ node absorbs N registrations made on B2 ------------------------
  Term r2 = call_peer(c, b2, tuple(atom("register_many"), rc, binary("x"), Term(static_cast<std::uint64_t>(n))));
  const std::int64_t absorb_done = ok_us(r2, 2);
  std::int64_t absorbed_at = 0;
  std::size_t last_count = 0;
  std::string timeline;
  for (;;) {
    auto count = c.run([&] { return horde::RegistryApi::find(c.node(), rc)->count(); }).get();
    if (count != last_count) {
      timeline += " " + std::to_string((now_us() - absorb_done) / 1000) + "ms:" + std::to_string(count - n);
      last_count = count;
    }
    if (count >= 2 * n) {
      absorbed_at = now_us();
      break;
    }
    if (now_us() - absorb_done > 600'000'000) break;
    std::this_thread::sleep_for(1ms);
  }

  // ---- 3. single-registration visibility ------------------------------------------
  std::vector<double> beam_beam, cpp_beam, beam_cpp;
  for (int i = 0; i < 21; ++i) {
    Term k = binary("one-b-" + std::to_string(i));
    auto fut = std::async(std::launch::async, [&] { return call_peer(c, b2, tuple(atom("await_key"), rb, k, 10000)); });
    std::this_thread::sleep_for(20ms);
    const std::int64_t t0 = ok_us(call_peer(c, b1, tuple(atom("register_one"), rb, k)));
    beam_beam.push_back((ok_us(fut.get()) - t0) / 1000.0);

    Term kc = binary("one-c-" + std::to_string(i));
    auto fut2 = std::async(std::launch::async, [&] { return call_peer(c, b2, tuple(atom("await_key"), rc, kc, 10000)); });
    std::this_thread::sleep_for(20ms);
    const std::int64_t t1 = c.run([&] {
                              Pid p = c.node().spawn(std::make_unique<horde::EchoProcess>());
                              const std::int64_t t = now_us();
                              (void)horde::RegistryApi::find(c.node(), rc)->register_pid(p, kc, atom("nil"));  // fresh key: cannot be taken
                              return t;
                            }).get();
    cpp_beam.push_back((ok_us(fut2.get()) - t1) / 1000.0);

    Term kb = binary("one-x-" + std::to_string(i));
    const std::int64_t t2 = ok_us(call_peer(c, b2, tuple(atom("register_one"), rc, kb)));
    std::int64_t seen = 0;
    while (seen == 0 && now_us() - t2 < 10'000'000) {
      if (c.run([&] { return horde::RegistryApi::find(c.node(), rc)->lookup(kb).has_value(); }).get()) seen = now_us();
      else std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    beam_cpp.push_back((seen - t2) / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(37 * (i % 7)));  // spread over the sync phase
  }

  // ---- 5. local lookups per second ------------------------------------------------------
  const std::size_t iterations = 2'000'000;
  double cpp_lookups = c.run([&] {
                          auto api = horde::RegistryApi::find(c.node(), rc);
                          std::vector<Term> keys;
                          keys.reserve(n);
                          for (std::size_t i = 0; i < n; ++i) keys.push_back(key("c", i));
                          std::size_t hits = 0;
                          auto t0 = std::chrono::steady_clock::now();
                          for (std::size_t i = 0; i < iterations; ++i) hits += api->lookup(keys[(i * 7919) % n]).has_value();
                          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                          if (hits != iterations) std::printf("  (lookup misses: %zu)\n", iterations - hits);
                          return iterations / s;
                        }).get();
  double beam_lookups =
      call_peer(c, b1, tuple(atom("lookup_rate"), rb, binary("b"), Term(static_cast<std::uint64_t>(n)), 200000))
          .as_float()
          .value_or(0);

  // ---- 6. C++ -> C++ peer (both in this process): when does C2 have C's N names? ---------
  const Atom rcc("Elixir.Bench.CppPair");
  cnode::NodeOptions o2 = o;
  o2.name = unique_name("rbc2") + "@127.0.0.1";
  cnode::NodeRunner c2(o2);
  double pair_lag = -1, pair_rate = 0;
  if (!c2.start()) {
    auto start_pair = [&](cnode::NodeRunner& r, Atom other) {
      return bench::start_cpp_registry(r, rcc, other, std::chrono::milliseconds(sync_ms));
    };
    start_pair(c, c2.node().name());
    start_pair(c2, cn);
    for (int i = 0; i < 200; ++i) {
      if (c2.run([&] { return horde::RegistryApi::find(c2.node(), rcc)->members().size(); }).get() == 2) break;
      std::this_thread::sleep_for(50ms);
    }
    std::int64_t p0 = 0, p1 = 0;
    c.run([&] {
       auto api = horde::RegistryApi::find(c.node(), rcc);
       p0 = now_us();
       for (std::size_t i = 0; i < n; ++i) (void)api->register_pid(pids[i], key("p", i), atom("nil"));  // fresh keys
       p1 = now_us();
     }).get();
    pair_rate = n * 1e6 / std::max<std::int64_t>(p1 - p0, 1);
    while (now_us() - p1 < 600'000'000) {
      if (c2.run([&] { return horde::RegistryApi::find(c2.node(), rcc)->count(); }).get() >= n) {
        pair_lag = (now_us() - p1) / 1e6;
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    c2.stop();
  }

  // ---- report ----------------------------------------------------------------------------
  auto rate = [&](std::int64_t t0, std::int64_t t1) { return n * 1e6 / std::max<std::int64_t>(t1 - t0, 1); };
  std::printf("\n%-58s %16s %16s\n", "", "BEAM (Horde)", "C++ member");
  std::printf("%-58s %16.0f %16.0f\n", "1. register N names locally: names/s", rate(beam_t0, beam_t1), rate(cpp_t0, cpp_t1));
  std::printf("%-58s %16.2f %16.2f\n", "   time to register N (s)", (beam_t1 - beam_t0) / 1e6, (cpp_t1 - cpp_t0) / 1e6);
  std::printf("%-58s %16.2f %16.2f\n", "   peer B2 has all N, after the last registration (s)", (beam_peer - beam_t1) / 1e6,
              (cpp_peer - cpp_t1) / 1e6);
  std::printf("%-58s %16.2f %16.2f\n", "   peer B2 has all N, from the first registration (s)", (beam_peer - beam_t0) / 1e6,
              (cpp_peer - cpp_t0) / 1e6);
  if (failures) std::printf("   (C++ registration failures: %zu)\n", failures);
  std::printf("%-58s %16s %16.3f\n", "2. C++ node has B2's N names, after B2 is done (s)", "-",
              absorbed_at ? (absorbed_at - absorb_done) / 1e6 : -1.0);
  std::printf("   (C++ count over time, relative to B2's last registration:%s)\n", timeline.c_str());
  std::printf("%-58s %16.1f %16.1f\n", "3. one registration visible on the peer, median (ms)", median(beam_beam), median(cpp_beam));
  std::printf("%-58s %16s %16.1f\n", "   B2 -> C++ node, median (ms)", "-", median(beam_cpp));
  std::printf("%-58s %16.0f %16.0f\n", "4. memory per name (bytes; BEAM: peer B2, C++: node C)",
              static_cast<double>(b2_mem1 - b2_mem0) / n, static_cast<double>(heap1 - heap0) / n);
  std::printf("%-58s %16.0f %16.0f\n", "5. local lookups/s", beam_lookups, cpp_lookups);
  std::printf("%-58s %16s %16.3f\n", "6. C++ -> C++ peer has all N, after the last registration (s)", "-", pair_lag);
  std::printf("%-58s %16s %16.0f\n", "   (registration rate in that run, names/s)", "-", pair_rate);
  std::printf("\nC++ registry stats after scenario 1: %s\n", to_string(cpp_stats).c_str());
  c.stop();
  return 0;
}
