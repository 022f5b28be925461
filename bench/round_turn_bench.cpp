// Every io-thread turn of whole sync rounds between two replicas (issue 13:
// no turn over ~50 ms), to see which step of the protocol is long at a
// given size. Two SyncEngines in one process exchange their messages
// through the codec (each message encoded and decoded as on the wire); each
// handler, each continue_work, each encode and each decode is timed and
// listed with its message and size. In the node, decodes of 1 MiB and more
// and encodes of 20 000 terms and more run on worker threads, not in a
// turn of the io thread (cnode/inbound_decoder.hpp, connection_manager.hpp);
// slices are written by their handler (SyncConfig::encode_slices). A
// message of 1 MiB and more is decoded as the node decodes it, with the
// trees of a continuation left encoded (crdt/sync_decode.hpp);
// --general-decode decodes everything into Terms, as before.
//
//   round_turn_bench [--keys N] [--chunk C] [--glibc-malloc] [--general-decode]
//
// Set-ups: "cold" — the originator holds N Horde-shaped names, the other
// replica none (a node that joins); "warm" — both hold them, then the
// originator rewrote two thirds and removed the rest. In each, the replica
// holding the news starts the round (its tick), as a BEAM registrar does,
// then the other replica starts one (as a C++ peer does every interval).
// C: SyncConfig::slice_chunk_keys of both (default 2 000, CrdtPart's).
// Prints the turns over 5 ms, then the longest of each kind. malloc is tuned
// as run_node does (sdk::tune_malloc); --glibc-malloc keeps glibc's defaults.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "cnode/framing.hpp"  // kDefaultOffloadDecodeBytes
#include "crdt/sync_decode.hpp"
#include "crdt/sync_engine.hpp"
#include "interop/codec.hpp"
#include "support/sync_names.hpp"
#include "sdk/application.hpp"

using namespace hc;
using namespace hc::crdt;
using namespace hc::bench;

namespace {

SyncEngine make_engine(std::int64_t id, const Term& self, const Term& peer, std::size_t chunk) {
  SyncConfig cfg;
  cfg.node_id = id;
  cfg.self = self;
  cfg.slice_chunk_keys = chunk;
  cfg.answer_from_self = true;  // as CrdtPart runs it
  cfg.encode_slices = true;     // as CrdtPart runs it: the handler writes a slice's bytes itself
  cfg.encode_continuations = true;  // and those of continuations
  static std::int64_t t = -(std::int64_t{1} << 59);
  SyncEngine e(cfg, [] { return ++t; });
  (void)e.set_neighbours({peer});
  return e;
}

std::string tag_of(const Term& m) {
  if (m.is_record("diff", 3)) return "{diff,Slice,Keys}";
  if (m.is_record("diff", 2)) return "{diff,Diff}";
  if (m.is_record("get_diff", 3)) return "{get_diff,Diff,Keys}";
  if (m.is_record("ack_diff", 2)) return "{ack_diff,_}";
  if (m.is_tuple() && !m.tuple_elements().empty() && m.tuple_elements()[0].is_atom())
    return "{" + std::string(m.tuple_elements()[0].as_atom()->text()) + ",...}";
  return "other";
}

struct Turn {
  std::string who, what;
  double ms;
  std::size_t bytes;
};

// Runs messages between the two engines until none is left.
class Wire {
 public:
  Wire(SyncEngine& a, SyncEngine& b, bool views) : views_(views), a_(a), b_(b) {}
  std::vector<Turn> turns;

  void tick(SyncEngine& e) {
    auto t0 = Clock::now();
    SyncActions out = e.on_sync_timer();
    record(e, "tick", ms_since(t0), 0);
    route(e, std::move(out));
    drain();
  }

 private:
  const char* name(const SyncEngine& e) const { return &e == &a_ ? "A" : "B"; }
  void record(const SyncEngine& e, std::string what, double ms, std::size_t bytes) {
    turns.push_back({name(e), std::move(what), ms, bytes});
  }
  void route(SyncEngine& from, SyncActions out) {
    for (auto& act : out) {
      if (std::holds_alternative<action::Continue>(act)) {
        continues_.push_back(&from);
      } else if (auto* s = std::get_if<action::Send>(&act)) {
        SyncEngine& to = s->to == kReplicaA ? a_ : b_;
        if (!s->encoded.empty()) {  // written by the handler (a slice)
          std::vector<std::uint8_t> bytes{131};
          bytes.insert(bytes.end(), s->encoded.begin(), s->encoded.end());
          queue_.push_back({&to, std::move(bytes)});
          continue;
        }
        // The node encodes large messages on its worker thread; timed here
        // all the same (the CPU it costs).
        auto t0 = Clock::now();
        auto bytes = encode(s->message);
        record(from, "encode " + tag_of(s->message), ms_since(t0), bytes.size());
        queue_.push_back({&to, std::move(bytes)});
      }
    }
  }
  void drain() {
    while (!queue_.empty() || !continues_.empty()) {
      if (!continues_.empty()) {
        SyncEngine* e = continues_.front();
        continues_.pop_front();
        auto t0 = Clock::now();
        SyncActions out = e->continue_work();
        record(*e, "continue", ms_since(t0), 0);
        route(*e, std::move(out));
        continue;
      }
      auto [to, bytes] = std::move(queue_.front());
      queue_.pop_front();
      auto t0 = Clock::now();
      Term m;
      if (auto viewed = views_ && bytes.size() >= cnode::kDefaultOffloadDecodeBytes
                            ? crdt::decode_sync_message(std::span(bytes).subspan(1))
                            : std::nullopt)
        m = std::move(**viewed);
      else
        m = *decode(bytes);
      const std::string tag = tag_of(m);
      record(*to, "decode " + tag, ms_since(t0), bytes.size());
      t0 = Clock::now();
      SyncActions out = to->handle_message(m);
      record(*to, "handle " + tag, ms_since(t0), bytes.size());
      t0 = Clock::now();
      m = Term();  // the mailbox drops the message after its handler
      record(*to, "free " + tag, ms_since(t0), bytes.size());
      route(*to, std::move(out));
    }
  }
  bool views_ = true;
  SyncEngine& a_;
  SyncEngine& b_;
  std::deque<std::pair<SyncEngine*, std::vector<std::uint8_t>>> queue_;
  std::deque<SyncEngine*> continues_;
};

void report(const char* label, std::size_t n, const std::vector<Turn>& turns) {
  std::printf("%s, %zu keys: %zu turns\n", label, n, turns.size());
  std::map<std::string, Turn> longest;
  double total = 0;
  for (const auto& t : turns) {
    total += t.ms;
    if (t.ms >= 5.0) std::printf("  %-2s %-30s %9.1f ms %12zu bytes\n", t.who.c_str(), t.what.c_str(), t.ms, t.bytes);
    auto key = t.who + " " + t.what;
    if (!longest.count(key) || longest[key].ms < t.ms) longest[key] = t;
  }
  std::printf("  longest of each kind:\n");
  for (const auto& [k, t] : longest)
    std::printf("    %-34s %9.1f ms %12zu bytes\n", k.c_str(), t.ms, t.bytes);
  std::printf("  all turns: %.1f ms\n", total);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 100'000;
  std::size_t chunk = 2'000;
  bool glibc_malloc = false;
  bool general_decode = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--glibc-malloc")) glibc_malloc = true;
    else if (!std::strcmp(argv[i], "--general-decode")) general_decode = true;
    else if (i + 1 < argc && !std::strcmp(argv[i], "--keys")) n = std::atoll(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--chunk")) chunk = static_cast<std::size_t>(std::atoll(argv[++i]));
  }
  if (!glibc_malloc) hc::sdk::tune_malloc();
  std::printf("round_turn_bench: A holds the news and starts a round (tick), then B does; every turn timed; "
              "slice_chunk_keys %zu; malloc %s; %s\n", chunk, glibc_malloc ? "glibc defaults" : "tuned as run_node does",
              general_decode ? "every message decoded into Terms" : "large continuations decoded with their trees encoded");
  {
    SyncEngine a = make_engine(777, kReplicaA, kReplicaB, chunk), b = make_engine(1, kReplicaB, kReplicaA, chunk);
    for (std::int64_t i = 0; i < n; ++i) a.put(key_of(i), value_of(i, 0));
    Wire w(a, b, !general_decode);
    w.tick(a);
    w.tick(b);
    report("cold", static_cast<std::size_t>(n), w.turns);
    std::printf("  B holds %zu keys\n", b.state().size());
  }
  {
    SyncEngine a = make_engine(777, kReplicaA, kReplicaB, chunk), b = make_engine(1, kReplicaB, kReplicaA, chunk);
    for (std::int64_t i = 0; i < n; ++i) a.put(key_of(i), value_of(i, 0));
    b.mutable_state().join_all(a.state());
    b.mutable_state().update_hashes();
    for (std::int64_t i = 0; i < n; ++i) {
      if (i % 3 == 0) a.remove(key_of(i));
      else a.put(key_of(i), value_of(i, 1));
    }
    Wire w(a, b, !general_decode);
    w.tick(a);
    w.tick(b);
    report("warm", static_cast<std::size_t>(n), w.turns);
    std::printf("  B holds %zu keys\n", b.state().size());
  }
  return 0;
}
