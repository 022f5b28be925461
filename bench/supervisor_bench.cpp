// Horde.DynamicSupervisor role: C++ member vs BEAM Horde, side by side in one run.
//
//   1. start_child latency and throughput from a BEAM node (Horde's own
//      Horde.DynamicSupervisor.start_child/2) to a C++ member versus to a BEAM
//      member. Cluster: B1 (caller), B2 (BEAM member), C1 (C++ member) under
//      HordeCnode.MixedDistribution; C++ kinds are owned by C1, the Elixir specs
//      used are the ones the strategy gives to B2, so both paths are one proxy
//      hop from B1's DynamicSupervisorImpl to the owner.
//   2. Failover of 1 000 children: a 3-member cluster, one member killed, time
//      until all 1 000 run again on the survivors (C++-only cluster vs BEAM-only).
//   3. Memory per supervised child: 10 000 children on a single member
//      (C++ heap in use vs BEAM :erlang.memory(:total), both after GC/trim).
//
// Needs Horde in ERL_LIBS (prints SKIPPED otherwise) and `elixir` in PATH.
// BEAM nodes run erlang_harness/supervisor_peer.exs (+ supervisor_bench.exs).
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cnode/node.hpp"
#include "horde/mixed_distribution.hpp"
#include "horde/supervisor_process.hpp"
#include "support/bench_support.hpp"


using namespace hc;
using namespace std::chrono_literals;

namespace {

using bench::ElixirPeer;
using test::unique_name;

// An Elixir node running supervisor_peer.exs (a Horde.DynamicSupervisor
// `sup` with `strategy` over `members`, sync interval `sync_ms`).
std::unique_ptr<ElixirPeer> supervisor_peer(const std::string& name, const std::string& cookie, const std::string& sup,
                                            const std::string& strategy, const std::vector<std::string>& members,
                                            int sync_ms) {
  bench::ElixirPeerOptions o;
  o.script = "supervisor_peer.exs";
  o.args = {sup, strategy};
  o.args.insert(o.args.end(), members.begin(), members.end());
  o.env = {"HC_SYNC_INTERVAL=" + std::to_string(sync_ms)};
  o.ready = "READY";
  return std::make_unique<ElixirPeer>(name, cookie, o);
}

cnode::NodeOptions node_options(const std::string& prefix, const std::string& cookie) {
  cnode::NodeOptions o;
  o.name = unique_name(prefix) + "@127.0.0.1";
  o.cookie = cookie;
  o.listen_address = "127.0.0.1";
  o.discovery = false;
  o.tick_interval = 1000ms;
  o.peer_timeout = 5000ms;
  return o;
}

// test::call with this benchmark's 120 s bound.
cnode::CallResult call(cnode::NodeRunner& runner, cnode::Dest dest, Term request) {
  return test::call(runner, std::move(dest), std::move(request), 120s);
}

Term harness(cnode::NodeRunner& via, Atom beam, Term request) {
  auto r = call(via, cnode::Dest(Atom("sup_harness"), beam), std::move(request));
  if (!r.ok()) throw std::runtime_error("harness call failed: " + to_string(r.reason()));
  return r.value();
}

Term bench_call(cnode::NodeRunner& via, Atom beam, const char* fun, TermVector args) {
  return harness(via, beam, tuple(atom("bench"), atom(fun), Term::list(std::move(args))));
}

Term counter_spec(std::int64_t i) {
  const Atom m("Elixir.CppWorkers.Counter");
  return Term::map({{Term(atom("id")), Term(i)}, {Term(atom("start")), tuple(m, atom("start_link"), list(i))}});
}
Term elixir_spec(std::int64_t i) {
  const Atom m("Elixir.HordeCnodeTest.ElixirWorker");
  return Term::map({{Term(atom("id")), Term(i)}, {Term(atom("start")), tuple(m, atom("start_link"), list(i))}});
}

struct Stats {
  double median, p90, p99, mean;
};
Stats stats(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return static_cast<double>(v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))]); };
  double sum = 0;
  for (auto x : v) sum += static_cast<double>(x);
  return {at(0.5), at(0.9), at(0.99), sum / static_cast<double>(v.size())};
}

std::unique_ptr<cnode::NodeRunner> start_cpp_member(const std::string& cookie, Atom sup, const std::vector<Atom>& members,
                                                    std::shared_ptr<const horde::DistributionStrategy> strategy, int sync_ms,
                                                    const std::string& prefix = "cppm") {
  auto r = std::make_unique<cnode::NodeRunner>(node_options(prefix, cookie));
  if (r->start()) throw std::runtime_error("cannot start C++ node");
  horde::SupervisorOptions o;
  o.name = sup;
  for (const Atom& m : members) o.members.push_back(tuple(sup, m));
  o.members.push_back(tuple(sup, r->node().name()));
  o.sync_interval = std::chrono::milliseconds(sync_ms);
  o.strategy = std::move(strategy);
  o.max_restarts = 1000000;
  if (!r->run([&] { return horde::SupervisorProcess::start(r->node(), o); }).get()) throw std::runtime_error("sup start");
  return r;
}

// test::eventually polling every 2 ms: the failover timings are read off it.
template <class F>
bool wait_until(F f, std::chrono::milliseconds timeout) {
  return test::eventually(std::move(f), timeout, 2ms);
}

std::size_t alive_members(cnode::NodeRunner& r, Atom sup) {
  return r.run([&] {
    auto* sp = horde::SupervisorProcess::find(r.node(), sup);
    std::size_t n = 0;
    if (sp)
      for (const auto& m : sp->state().members()) n += m.is_alive();
    return n;
  }).get();
}

bool beam_sees_alive(cnode::NodeRunner& via, Atom beam, Atom sup, std::size_t n) {
  try {
    std::size_t k = 0;
    const Term infos = harness(via, beam, tuple(atom("member_infos"), sup));  // keep alive while iterating
    for (const Term& m : infos.list_elements())
      if (const Term* st = m.map_get("status")) k += st->is_atom("alive");
    return k == n;
  } catch (...) {
    return false;
  }
}

void print_row(const char* what, const std::string& cpp, const std::string& beam) {
  std::printf("  %-44s %22s %22s\n", what, cpp.c_str(), beam.c_str());
}
std::string fmt(double v, const char* unit) {
  char b[64];
  std::snprintf(b, sizeof b, "%.1f %s", v, unit);
  return b;
}

// ---- 1. start_child latency / throughput -------------------------------------------

void bench_start_child(int n_latency, int n_throughput, int concurrency) {
  const std::string cookie = unique_name("cookie");
  const Atom sup("Elixir.Bench." + unique_name("Sup"));
  const std::string b1n = unique_name("benchb1"), b2n = unique_name("benchb2");
  const Atom b1(b1n + "@127.0.0.1"), b2(b2n + "@127.0.0.1");
  auto mixed = std::make_shared<horde::MixedDistribution>();
  auto c1 = start_cpp_member(cookie, sup, {b1, b2}, mixed, 100);
  const std::string c1n(c1->node().name().text());
  auto p1 = supervisor_peer(b1n, cookie, std::string(sup.text()).substr(7), "mixed", {b1.text().data(), b2.text().data(), c1n}, 100);
  auto p2 = supervisor_peer(b2n, cookie, std::string(sup.text()).substr(7), "mixed", {b1.text().data(), b2.text().data(), c1n}, 100);
  if (!wait_until([&] { return alive_members(*c1, sup) == 3 && beam_sees_alive(*c1, b1, sup, 3); }, 30s))
    throw std::runtime_error("cluster did not form");

  // Specs: C++ kinds (owner C1) and Elixir specs the strategy gives to B2.
  std::vector<horde::Member> ms{{tuple(sup, b1), horde::MemberStatus::alive, std::nullopt},
                                {tuple(sup, b2), horde::MemberStatus::alive, std::nullopt},
                                {tuple(sup, c1->node().name()), horde::MemberStatus::alive,
                                 horde::WorkerKinds::builtin().modules()}};
  auto beam_specs = [&](std::int64_t from, int n) {
    TermVector v;
    for (std::int64_t i = from; static_cast<int>(v.size()) < n; ++i) {
      auto s = elixir_spec(i);
      if (mixed->choose_node(s, ms).member->name == tuple(sup, b2)) v.push_back(s);
    }
    return v;
  };
  auto cpp_specs = [&](std::int64_t from, int n) {
    TermVector v;
    for (std::int64_t i = from; i < from + n; ++i) v.push_back(counter_spec(i));
    return v;
  };
  // Warm-up.
  bench_call(*c1, b1, "latency", {sup, Term::list(cpp_specs(0, 200))});
  bench_call(*c1, b1, "latency", {sup, Term::list(beam_specs(0, 200))});

  auto lat = [&](TermVector specs) {
    Term r = bench_call(*c1, b1, "latency", {sup, Term::list(std::move(specs))});
    std::vector<std::int64_t> v;
    for (const Term& t : r.element(0)->list_elements()) v.push_back(*t.as_int());
    return std::make_pair(stats(v), *r.element(1)->as_int());
  };
  auto [lc, ec] = lat(cpp_specs(10'000, n_latency));
  auto [lb, eb] = lat(beam_specs(10'000, n_latency));
  std::printf("\n[1] start_child from a BEAM node (Horde.DynamicSupervisor.start_child/2 on B1, proxied to the owner)\n");
  print_row("", "to C++ member (C1)", "to BEAM member (B2)");
  print_row("latency median", fmt(lc.median, "us"), fmt(lb.median, "us"));
  print_row("latency p90", fmt(lc.p90, "us"), fmt(lb.p90, "us"));
  print_row("latency p99", fmt(lc.p99, "us"), fmt(lb.p99, "us"));
  print_row("latency mean", fmt(lc.mean, "us"), fmt(lb.mean, "us"));
  print_row("errors", std::to_string(ec), std::to_string(eb));

  auto thr = [&](TermVector specs) {
    const auto n = specs.size();
    Term r = bench_call(*c1, b1, "throughput", {sup, Term::list(std::move(specs)), Term(concurrency)});
    const double secs = static_cast<double>(*r.element(0)->as_int()) / 1e6;
    return std::make_pair(static_cast<double>(*r.element(1)->as_int()) / secs, static_cast<std::size_t>(*r.element(1)->as_int()) == n);
  };
  auto [tc, okc] = thr(cpp_specs(100'000, n_throughput));
  auto [tb, okb] = thr(beam_specs(100'000, n_throughput));
  print_row(("throughput (" + std::to_string(concurrency) + " callers)").c_str(), fmt(tc, "starts/s") + (okc ? "" : " (errors)"),
            fmt(tb, "starts/s") + (okb ? "" : " (errors)"));
  c1->stop();
}

// ---- 2. failover of 1 000 children -----------------------------------------------------

double cpp_failover(int n) {
  const std::string cookie = unique_name("cookie");
  const Atom sup("Elixir.Bench." + unique_name("FoSup"));
  auto uniform = std::make_shared<horde::UniformDistribution>();
  std::vector<std::unique_ptr<cnode::NodeRunner>> rs;
  std::vector<cnode::NodeOptions> opts;
  for (int i = 0; i < 3; ++i) opts.push_back(node_options("cppfo" + std::to_string(i), cookie));
  std::vector<Atom> names;
  for (auto& o : opts) names.emplace_back(o.name);
  for (auto& o : opts) {
    auto r = std::make_unique<cnode::NodeRunner>(o);
    if (r->start()) throw std::runtime_error("node");
    horde::SupervisorOptions so;
    so.name = sup;
    for (const Atom& m : names) so.members.push_back(tuple(sup, m));
    so.sync_interval = 100ms;
    so.strategy = uniform;
    if (!r->run([&] { return horde::SupervisorProcess::start(r->node(), so); }).get()) throw std::runtime_error("sup");
    rs.push_back(std::move(r));
  }
  if (!wait_until([&] { return alive_members(*rs[0], sup) == 3 && alive_members(*rs[2], sup) == 3; }, 30s))
    throw std::runtime_error("C++ cluster did not form");
  for (int i = 0; i < n; ++i) {
    auto r = call(*rs[0], cnode::Dest(sup), tuple(atom("start_child"), counter_spec(i)));
    if (!r.ok()) throw std::runtime_error("start");
  }
  auto view = [&](cnode::NodeRunner& r) {
    return r.run([&] {
      auto* sp = horde::SupervisorProcess::find(r.node(), sup);
      std::size_t total = 0, dead = 0, running = 0;
      if (sp) {
        for (const auto& [id, e] : sp->state().processes()) {
          ++total;
          dead += (*e.owner.element(1) == Term(names[2]));
        }
        if (auto* ps = sp->processes_supervisor()) running = ps->child_count();
      }
      return std::make_tuple(total, dead, running);
    }).get();
  };
  if (!wait_until([&] { return std::get<0>(view(*rs[0])) == std::size_t(n) && std::get<0>(view(*rs[1])) == std::size_t(n); }, 30s))
    throw std::runtime_error("children not replicated");
  const auto t0 = std::chrono::steady_clock::now();
  rs[2]->stop();
  std::optional<double> running_ms;  // all children running again (before both views agree)
  bool ok = wait_until([&] {
    auto [t0v, d0, r0] = view(*rs[0]);
    auto [t1v, d1, r1] = view(*rs[1]);
    if (!running_ms && r0 + r1 == std::size_t(n))
      running_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return t0v == std::size_t(n) && d0 == 0 && t1v == std::size_t(n) && d1 == 0 && r0 + r1 == std::size_t(n);
  }, 60s);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (running_ms) std::printf("  (C++: all 1 000 running after %.1f ms; both survivors' CRDT views agree after %.1f ms)\n", *running_ms, ms);
  for (auto& r : rs) r->stop();
  return ok ? ms : -1;
}

double beam_failover(int n, cnode::NodeRunner& driver) {
  const std::string cookie(driver.node().options().cookie);
  const std::string sup_text = "Bench." + unique_name("BFoSup");
  const Atom sup("Elixir." + sup_text);
  std::vector<std::string> names{unique_name("bfo1"), unique_name("bfo2"), unique_name("bfo3")};
  std::vector<std::string> full;
  for (auto& nm : names) full.push_back(nm + "@127.0.0.1");
  std::vector<std::unique_ptr<ElixirPeer>> peers;
  for (auto& nm : names) peers.push_back(supervisor_peer(nm, cookie, sup_text, "uniform", full, 100));
  const Atom b1(full[0]);
  if (!wait_until([&] { return beam_sees_alive(driver, b1, sup, 3) && beam_sees_alive(driver, Atom(full[2]), sup, 3); }, 30s))
    throw std::runtime_error("BEAM cluster did not form");
  Term r = bench_call(driver, b1, "start_local", {sup, Term(Atom("Elixir.HordeCnodeTest.ElixirWorker")), Term(n)});
  if (*r.element(1)->as_int() != n) throw std::runtime_error("BEAM starts failed");
  // Replicated everywhere?
  wait_until([&] { return harness(driver, b1, tuple(atom("processes"), sup)).list_elements().size() == std::size_t(n); }, 30s);
  peers[2]->kill();
  Term w = bench_call(driver, b1, "wait_failover", {sup, Term(Atom(full[2])), Term(n), Term(60000)});
  if (!w.is_integer()) return -1;
  return static_cast<double>(*w.as_int()) / 1000.0;
}

// ---- 3. memory per supervised child ------------------------------------------------------

std::size_t heap_in_use() {
  malloc_trim(0);
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

double cpp_memory_per_child(int n) {
  const std::string cookie = unique_name("cookie");
  const Atom sup("Elixir.Bench." + unique_name("MemSup"));
  auto r = start_cpp_member(cookie, sup, {}, std::make_shared<horde::UniformDistribution>(), 100, "cppmem");
  std::this_thread::sleep_for(300ms);
  const std::size_t before = heap_in_use();
  // Start directly on the io thread, in batches (no per-call process churn in the figure).
  for (int i = 0; i < n; i += 500) {
    r->run([&] {
      auto* sp = horde::SupervisorProcess::find(r->node(), sup);
      for (int k = i; k < std::min(n, i + 500); ++k)
        r->node().send(r->node().null_pid(), cnode::Dest(sup),
                       tuple(atom("$gen_call"), tuple(r->node().null_pid(), r->node().make_ref()),
                             tuple(atom("start_child"), counter_spec(k))));
      (void)sp;
    }).get();
  }
  wait_until([&] {
    return r->run([&] {
      auto* sp = horde::SupervisorProcess::find(r->node(), sup);
      return sp && sp->state().processes().size() == std::size_t(n) && sp->processes_supervisor()->child_count() == std::size_t(n);
    }).get();
  }, 60s);
  std::this_thread::sleep_for(500ms);
  const std::size_t after = heap_in_use();
  r->stop();
  return static_cast<double>(after - before) / n;
}

double beam_memory_per_child(int n, cnode::NodeRunner& driver) {
  const std::string cookie(driver.node().options().cookie);
  const std::string sup_text = "Bench." + unique_name("BMemSup");
  const Atom sup("Elixir." + sup_text);
  const std::string name = unique_name("bmem");
  auto peer = supervisor_peer(name, cookie, sup_text, "uniform", {name + "@127.0.0.1"}, 100);
  const Atom b(peer->name());
  wait_until([&] { return beam_sees_alive(driver, b, sup, 1); }, 30s);
  const auto before = *bench_call(driver, b, "memory_after_gc", {}).as_int();
  bench_call(driver, b, "start_local", {sup, Term(Atom("Elixir.HordeCnodeTest.ElixirWorker")), Term(n)});
  std::this_thread::sleep_for(500ms);
  const auto after = *bench_call(driver, b, "memory_after_gc", {}).as_int();
  return static_cast<double>(after - before) / n;
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  if (!test::erl_module_available("Elixir.Horde.DynamicSupervisor")) {
    std::printf("supervisor_bench: SKIPPED (Horde not in ERL_LIBS='%s')\n", std::getenv("ERL_LIBS") ? std::getenv("ERL_LIBS") : "");
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // HC_SUP_BENCH_N: starts per latency run (default 1000, throughput 2x);
  // HC_SUP_BENCH_PARTS: which parts to run (default "123").
  const int n_lat = std::getenv("HC_SUP_BENCH_N") ? std::atoi(std::getenv("HC_SUP_BENCH_N")) : 1000;
  try {
    std::printf("supervisor_bench: C++ member vs BEAM Horde 0.10.0 (sync_interval 100 ms, loopback)\n");
    const std::string parts = std::getenv("HC_SUP_BENCH_PARTS") ? std::getenv("HC_SUP_BENCH_PARTS") : "123";
    if (parts.find('1') != std::string::npos) bench_start_child(n_lat, n_lat * 2, 16);

    cnode::NodeRunner driver(node_options("benchdrv", unique_name("cookie")));
    if (driver.start()) throw std::runtime_error("driver node");
    if (parts.find('2') != std::string::npos) {
    std::printf("\n[2] failover: 3 members, 1 000 children, one member killed -> all running again\n");
    print_row("", "C++ members", "BEAM members");
    const double fc = cpp_failover(1000);
    const double fb = beam_failover(1000, driver);
    print_row("kill -> 1 000 children running", fmt(fc, "ms"), fmt(fb, "ms"));
    }

    if (parts.find('3') != std::string::npos) {
    std::printf("\n[3] memory per supervised child (10 000 children on one member)\n");
    print_row("", "C++ member (heap)", "BEAM member (VM total)");
    const double mc = cpp_memory_per_child(10000);
    const double mb = beam_memory_per_child(10000, driver);
    print_row("bytes per child", fmt(mc, "B"), fmt(mb, "B"));
    }
    driver.stop();
  } catch (const std::exception& e) {
    std::printf("supervisor_bench: FAILED: %s\n", e.what());
    return 1;
  }
  return 0;
}
