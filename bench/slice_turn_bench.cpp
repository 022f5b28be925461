// How long one io-thread turn of the sync path takes with a large slice
// (issue 13: no handler over ~50 ms).
//
//   slice_turn_bench [--keys N] [--chunk C]
//
// A remote replica holding N (100 000) Horde-shaped names answers a
// get_diff for all of them (the originator's side: building the slice, then
// encoding it as the node did on send, and writing the same bytes straight
// from the packed records as it does now, SyncConfig::encode_slices); the bytes are decoded as the node
// does on receive and handed to a local SyncEngine, cold (empty) and warm
// (holding the names with other values, a third of them removed remotely),
// with SyncConfig::slice_chunk_keys = C (default 0 = DeltaCrdt's one-turn
// join, then the value CrdtPart uses). Every turn is timed: the first
// handler (with freeing the decoded message, as the node's mailbox does
// after it), each continue_work, and the sync tick after the join (Merkle
// hashes of what was joined).
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "crdt/slice_encode.hpp"
#include "crdt/sync_engine.hpp"
#include "interop/codec.hpp"
#include "support/sync_names.hpp"

using namespace hc;
using namespace hc::crdt;
using namespace hc::bench;

namespace {

SyncEngine make_engine(std::int64_t id, const Term& self, std::size_t chunk) {
  SyncConfig cfg;
  cfg.node_id = id;
  cfg.self = self;
  cfg.slice_chunk_keys = chunk;
  static std::int64_t t = -(std::int64_t{1} << 59);
  return SyncEngine(cfg, [] { return ++t; });
}

// Resident bytes after giving free memory back (what stays is live data
// and the fragmentation around it).
double rss_mb() {
  malloc_trim(0);
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) / 1e6;
}

bool wants_continue(const SyncActions& actions) {
  for (const auto& a : actions)
    if (std::holds_alternative<action::Continue>(a)) return true;
  return false;
}

struct Turns {
  double first = 0, longest = 0, total = 0, last = 0;
  std::size_t count = 0, longest_at = 0;
  void add(double ms) {
    if (count == 0) first = ms;
    if (ms > longest) {
      longest = ms;
      longest_at = count;
    }
    last = ms;
    total += ms;
    ++count;
  }
};

// Between two turns the node reads its sockets and encodes messages, so
// malloc sees requests of a few KB; glibc then merges the small blocks the
// last turn freed (malloc_consolidate). Without any, this loop would leave
// the blocks of the whole freed slice to merge in one later turn (65 ms at
// 100 000 names), which no node turn pays.
void node_between_turns() {
  void* volatile p = std::malloc(4096);
  std::free(p);
}

// The slice message handled to the end: the first turn, then every
// continue_work the engine asks for (as CrdtPart does). The first turn
// includes dropping the message, as the node's mailbox does after it.
Turns absorb(SyncEngine& e, Term message) {
  Turns t;
  auto t0 = Clock::now();
  bool more = wants_continue(e.handle_message(message));
  message = Term();
  t.add(ms_since(t0));
  while (more) {
    node_between_turns();
    t0 = Clock::now();
    more = wants_continue(e.continue_work());
    t.add(ms_since(t0));
  }
  return t;
}

void run(const char* label, SyncEngine& local, SyncEngine& remote, const std::vector<Term>& keys) {
  // The originator's side: {get_diff, Diff, Keys} -> slice (+ ack).
  CausalDiff d{remote.state().clone().prepare_partial_diff(), remote.state().context().to_term(), kReplicaB, kReplicaA,
               kReplicaB, {}};
  Term get_diff = tuple(Atom("get_diff"), d.to_term(), Term::list(TermVector(keys.begin(), keys.end())));
  auto t0 = Clock::now();
  SyncActions out = remote.handle_message(get_diff);
  const double build_ms = ms_since(t0);
  Term slice_msg;
  for (const auto& a : out)
    if (auto* s = std::get_if<action::Send>(&a); s && s->message.is_record("diff", 3)) slice_msg = s->message;
  out.clear();
  t0 = Clock::now();
  auto bytes = encode(slice_msg);
  const double encode_ms = ms_since(t0);
  const std::size_t wire_bytes = bytes.size();
  slice_msg = Term();
  // The same message written straight from the packed records
  // (SyncConfig::encode_slices, what CrdtPart sends): one pass, no Terms.
  std::vector<std::uint8_t> direct{kVersionMagic};
  t0 = Clock::now();
  encode_slice_message(remote.state(), get_diff.tuple_elements()[2], d.dots, direct);
  const double direct_ms = ms_since(t0);
  if (direct != bytes) {
    std::fprintf(stderr, "direct encoding differs from the codec's (%zu vs %zu bytes)\n", direct.size(), bytes.size());
    std::exit(1);
  }
  direct = {};
  t0 = Clock::now();
  Term received = *decode(bytes);
  const double decode_ms = ms_since(t0);

  const double rss0 = rss_mb();
  Turns t = absorb(local, std::move(received));
  t0 = Clock::now();  // the tick's round start hashes the Merkle nodes the join left invalid
  local.on_sync_timer();
  const double tick_ms = ms_since(t0);
  bytes = {};
  const double rss_growth = rss_mb() - rss0;
  std::printf(
      "%s, %zu keys, chunk %zu: originator get_diff %.1f ms + encode %.1f ms (%zu bytes), direct encode %.1f ms; "
      "receiver decode %.1f ms; "
      "join (freeing the message included) %zu turns, first %.1f ms, longest %.1f ms (turn %zu), last %.1f ms, "
      "total %.1f ms; tick after %.1f ms; RSS growth over the join %.1f MB\n",
      label, keys.size(), local.config().slice_chunk_keys, build_ms, encode_ms, wire_bytes, direct_ms, decode_ms, t.count,
      t.first, t.longest, t.longest_at + 1, t.last, t.total, tick_ms, rss_growth);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 100'000;
  std::vector<std::size_t> chunks;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) n = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--chunk")) chunks.push_back(static_cast<std::size_t>(std::atoll(argv[i + 1])));
  }
  if (chunks.empty()) chunks = {0, 2'000};
  std::vector<Term> keys;
  for (std::int64_t i = 0; i < n; ++i) keys.push_back(key_of(i));

  for (std::size_t chunk : chunks) {
    {
      SyncEngine remote = make_engine(777, kReplicaB, chunk);
      for (std::int64_t i = 0; i < n; ++i) remote.put(keys[i], value_of(i, 0));
      SyncEngine local = make_engine(1, kReplicaA, chunk);
      run("cold", local, remote, keys);
    }
    {
      // Warm: both hold every name; the remote then rewrote two thirds and
      // removed the rest (conflicting values, removals).
      SyncEngine remote = make_engine(777, kReplicaB, chunk);
      for (std::int64_t i = 0; i < n; ++i) remote.put(keys[i], value_of(i, 0));
      SyncEngine local = make_engine(1, kReplicaA, chunk);
      local.mutable_state().join_all(remote.state());
      for (std::int64_t i = 0; i < n; ++i) {
        if (i % 3 == 0) {
          remote.remove(keys[i]);
        } else {
          remote.put(keys[i], value_of(i, 1));
        }
      }
      local.mutable_state().update_hashes();
      run("warm", local, remote, keys);
    }
  }
  return 0;
}
