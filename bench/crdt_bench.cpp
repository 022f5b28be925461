// CRDT benchmark: C++ side by side with the real DeltaCrdt on the BEAM.
//
//   crdt_bench [--keys N] [--mem-keys M] [--batch B]
//
// 1. Join throughput: N (100 000) Horde-shaped keys
//    `{{key, Name}, {{Reg, Node}, Pid, nil}}` applied as {diff, Slice, Keys}
//    messages of B (1 000) keys to a SyncEngine (term -> AWLWWMap decode,
//    join, Merkle index update, owner diffs), then the same on the BEAM
//    (erlang_harness/crdt_bench.exs, only when DeltaCrdt is in ERL_LIBS).
// 2. Memory per key of a replica holding M (1 000 000) keys: RSS delta / M
//    (and the replica's own accounting), vs the BEAM process at N keys.
// 3. Merkle diff cost: a full sync round (ping-pong, get_diff, slice, join)
//    between two replicas of M keys that differ in 0, 1, 100 and 10 000 keys;
//    every message goes through the external term format codec as on the
//    wire; CPU time of both sides together.
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "crdt/sync_engine.hpp"
#include "interop/codec.hpp"
#include "support/beam_node.hpp"      // erl_module_available
#include "support/child_process.hpp"  // run_capture
#include "support/sync_names.hpp"

using namespace hc;
using namespace hc::crdt;
using hc::bench::key_of;

namespace {

constexpr std::int64_t kRemoteNode = 777;
constexpr std::int64_t kOrigin = -(std::int64_t{1} << 59);

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::size_t rss_bytes() {
  malloc_trim(0);
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// {diff, %AWLWWMap{dots: #{777 => Last}, value: Batch}, Keys} for keys [first, first+n).
Term slice_message(std::int64_t first, std::int64_t n, const Term& reg, const Term& owner) {
  TermPairs values;
  TermVector keys;
  for (std::int64_t i = first; i < first + n; ++i) {
    Term k = key_of(i);
    keys.push_back(k);
    values.emplace_back(k, Term::map({{tuple(tuple(reg, owner, Atom("nil")), kOrigin + i),
                                       make_mapset({tuple(kRemoteNode, i + 1)})}}));
  }
  Term slice = make_struct(elixir_module("DeltaCrdt.AWLWWMap"),
                           {{Term(Atom("dots")), Term::map({{Term(kRemoteNode), Term(first + n)}})},
                            {Term(Atom("value")), Term::map(std::move(values))}});
  return tuple(Atom("diff"), slice, Term::list(std::move(keys)));
}

SyncEngine make_engine(std::int64_t id, std::uint32_t pid_id, AWLWWMap state = AWLWWMap()) {
  SyncConfig cfg;
  cfg.node_id = id;
  cfg.self = Term(Pid{Atom("bench@127.0.0.1"), pid_id, 0, 1});
  static std::int64_t t = kOrigin;
  return SyncEngine(cfg, [] { return ++t; }, std::move(state));
}

// Applies `total` keys in batches; returns seconds of wall time.
double join_keys(SyncEngine& e, std::int64_t total, std::int64_t batch) {
  const Term reg = tuple(Atom("Elixir.Bench.Registry"), Atom("bench@127.0.0.1"));
  const Term owner = Term(Pid{Atom("bench@127.0.0.1"), 42, 0, 1});
  double spent = 0;
  for (std::int64_t first = 0; first < total; first += batch) {
    Term msg = slice_message(first, std::min(batch, total - first), reg, owner);
    double t0 = wall_seconds();
    auto actions = e.handle_message(msg);
    spent += wall_seconds() - t0;
  }
  return spent;
}

struct RoundStats {
  double cpu = 0;
  std::size_t messages = 0, bytes = 0, keys = 0;
};

// One sync round started by `from` towards `to`, every message encoded and
// decoded as on the wire.
RoundStats sync_round(SyncEngine& from, SyncEngine& to, const Term& to_name) {
  RoundStats s;
  double c0 = cpu_seconds();
  std::deque<std::pair<SyncEngine*, Term>> q;
  auto route = [&](const SyncActions& actions) {
    for (const auto& a : actions) {
      auto* send = std::get_if<action::Send>(&a);
      if (!send) continue;
      SyncEngine* dest = (send->to == to_name || send->to == to.config().self) ? &to : &from;
      auto bytes = encode(send->message);
      s.bytes += bytes.size();
      ++s.messages;
      auto decoded = decode(bytes);
      if (send->message.is_record("diff", 3)) s.keys += send->message.tuple_elements()[2].list_elements().size();
      q.emplace_back(dest, *decoded);
    }
  };
  route(from.set_neighbours({to_name}));
  while (!q.empty()) {
    auto [dest, msg] = q.front();
    q.pop_front();
    route(dest->handle_message(msg));
  }
  s.cpu = cpu_seconds() - c0;
  return s;
}

bool beam_side_available() {
  const char* libs = std::getenv("ERL_LIBS");
  if (!libs || !*libs) return false;
  return test::erl_module_available("Elixir.DeltaCrdt");
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t keys = 100'000, mem_keys = 1'000'000, batch = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) keys = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--mem-keys")) mem_keys = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
  }

  // ---- 1. join throughput ----------------------------------------------------
  double cpp_kps = 0;
  {
    SyncEngine e = make_engine(1, 1);
    double secs = join_keys(e, keys, batch);
    double h0 = wall_seconds();
    e.mutable_state().update_hashes();
    double hash_secs = wall_seconds() - h0;
    cpp_kps = static_cast<double>(keys) / secs;
    std::printf("c++  join: %lld keys in %.1f ms = %.0f keys/s (batches of %lld; Merkle hashes afterwards: %.1f ms)\n",
                static_cast<long long>(keys), secs * 1000, cpp_kps, static_cast<long long>(batch), hash_secs * 1000);
  }
  std::string beam_output;
  if (beam_side_available()) {
    std::string cmd = "elixir \"" + std::string(std::getenv("HC_SOURCE_DIR") ? std::getenv("HC_SOURCE_DIR") : ".") +
                      "/erlang_harness/crdt_bench.exs\" " + std::to_string(keys) + " " + std::to_string(batch) + " 2>&1";
    beam_output = test::run_capture(cmd);
    std::puts(beam_output.c_str());
    double beam_kps = 0;
    if (auto p = beam_output.find(" = "); p != std::string::npos) beam_kps = std::atof(beam_output.c_str() + p + 3);
    if (beam_kps > 0) std::printf("join speed-up: %.1fx (goal >= 10x)\n", cpp_kps / beam_kps);
  } else {
    std::printf("BEAM side skipped: no DeltaCrdt in ERL_LIBS\n");
  }

  // ---- 2. memory per key -------------------------------------------------------
  std::size_t rss0 = rss_bytes();
  SyncEngine a = make_engine(1, 1);
  double build = join_keys(a, mem_keys, 10'000);
  a.mutable_state().update_hashes();
  std::size_t rss1 = rss_bytes();
  std::printf("c++  memory: %lld keys: RSS delta %.0f bytes/key (replica accounting %.0f bytes/key: records, index, "
              "Merkle nodes); built in %.1f s\n",
              static_cast<long long>(mem_keys), static_cast<double>(rss1 - rss0) / static_cast<double>(mem_keys),
              static_cast<double>(a.state().memory_bytes()) / static_cast<double>(mem_keys), build);

  // ---- 3. Merkle diff cost -------------------------------------------------------
  SyncEngine b = make_engine(2, 2, a.state().clone());
  const Term a_name = tuple(Atom("A.Crdt"), Atom("bench@127.0.0.1"));
  // Steady state: both Merkle trees hashed (DeltaCrdt re-hashes only the
  // paths dirtied since its previous sync; so does the round below).
  a.mutable_state().update_hashes();
  b.mutable_state().update_hashes();
  std::int64_t next = 0;
  for (std::int64_t differ : {0, 1, 100, 10'000}) {
    for (std::int64_t i = 0; i < differ; ++i, ++next) b.put(key_of((next * 7919) % mem_keys), Term(next));
    auto s = sync_round(b, a, a_name);
    std::printf("c++  sync round, %lld keys, %lld differ: %.2f ms CPU (both sides, incl. ETF codec), %zu messages, "
                "%zu bytes, %zu keys shipped%s\n",
                static_cast<long long>(mem_keys), static_cast<long long>(differ), s.cpu * 1000, s.messages, s.bytes,
                s.keys, differ == 0 ? (s.cpu < 0.010 ? "  [goal < 10 ms: met]" : "  [goal < 10 ms: MISSED]") : "");
  }
  bool same = a.mutable_state().merkle_root() == b.mutable_state().merkle_root();
  std::printf("replicas converged after the rounds: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
