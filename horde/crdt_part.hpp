// The DeltaCrdt part of a process: a crdt::SyncEngine (the pure
// DeltaCrdt.CausalCrdt 0.6.4 state machine) plus what executing its actions
// needs on the cnode process API: neighbour monitors, sends, replies, the
// sync timer, counters. Used by a Horde role host (horde/role_host.hpp),
// which is addressed as 'N.Crdt' besides N, and by the stand-alone
// CrdtProcess (horde/crdt_process.hpp).
//
// The changes DeltaCrdt would report through on_diffs are collected, in the
// order they happened, for the owner to take in the same turn
// (take_changes); nothing calls back up.
//
// Threading: io thread only; every call gets the process it runs in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "cnode/gen_server.hpp"
#include "cnode/process.hpp"
#include "crdt/sync_engine.hpp"

namespace hc::horde {

struct CrdtPartOptions {
  Atom name;                                     // 'N.Crdt', for logs
  std::chrono::milliseconds sync_interval{200};  // DeltaCrdt default; Horde passes 300
  std::optional<std::size_t> max_sync_size;      // nullopt = :infinite (Horde's); see sync_engine.hpp
  std::optional<std::int64_t> node_id;           // default: random in 1..1 000 000 000
  std::function<std::int64_t()> clock;           // default: crdt::beam_monotonic_ns
  // Keys of a state slice joined per turn (crdt::SyncConfig::slice_chunk_keys;
  // 0 = DeltaCrdt's whole slice in one turn). Between the steps the host
  // serves its mailbox; the next step is a message to self (kContinue).
  std::size_t slice_chunk_keys = kDefaultSliceChunkKeys;
  // Measured (bench/slice_turn_bench, README "Large sync batches"): a step
  // of this many keys takes ~10 ms, well under the ~50 ms a turn may take.
  static constexpr std::size_t kDefaultSliceChunkKeys = 2'000;
  // Back-pressure (crdt::SyncConfig::backlogged): while more than this many
  // bytes wait to be written to a peer's node, the CRDT starts no round with
  // that peer and answers none of its diffs (the round ends); each answer
  // would queue another continuation or slice as large as the whole
  // difference (200 MB at 1 000 000 names) behind the ones the peer has
  // not read yet, until the connection's limit (NodeOptions::max_send_queue)
  // closes it. 0: no limit. The rounds resume when the peer has read the
  // backlog. Counted in stats as backlogged_diffs / backlogged_rounds_skipped.
  std::size_t max_queued_for_round = kDefaultMaxQueuedForRound;
  static constexpr std::size_t kDefaultMaxQueuedForRound = std::size_t{64} << 20;
};

class CrdtPart {
 public:
  explicit CrdtPart(CrdtPartOptions options);

  // Creates the engine for `self` (the pid peers sync with) and runs
  // DeltaCrdt's init (the first sync is immediate).
  void start(cnode::Process& self);

  // A message of the DeltaCrdt protocol: the sync tick, {diff, _},
  // {diff, _, _}, {get_diff, _, _}, {ack_diff, _}, {set_neighbours, _} and
  // the {'$gen_cast', {operation, _}} casts; and kContinue.
  static bool is_protocol_message(const Term& message);
  // What the part sends itself to run the next step of its work
  // (crdt::action::Continue) behind the messages already queued.
  static constexpr std::string_view kContinue = "$hc_crdt_continue";
  // A DeltaCrdt gen_server request: read, {read, Keys}, {operation, Op},
  // {bulk_operation, Ops}.
  static bool is_crdt_call(const Term& request);

  void handle_message(cnode::Process& self, const Term& message);
  void handle_call(cnode::Process& self, const Term& request, const Term& from);
  // True when `down` is for one of our neighbour monitors (then handled).
  bool handle_down(cnode::Process& self, const cnode::DownMessage& down);

  // ---- local operations (what DeltaCrdt.put/delete/set_neighbours do) ------
  void put(cnode::Process& self, const Term& key, const Term& value);
  void remove(cnode::Process& self, const Term& key);
  void set_neighbours(cnode::Process& self, std::vector<Term> neighbours);

  // The changes since the last call (DeltaCrdt's on_diffs), in order.
  std::vector<crdt::KeyChange> take_changes() { return std::exchange(changes_, {}); }
  bool has_changes() const noexcept { return !changes_.empty(); }

  bool started() const noexcept { return engine_ != nullptr; }
  const crdt::SyncEngine& engine() const { return *engine_; }
  std::optional<Term> get(const Term& key) const;
  Term read() const;
  std::int64_t node_id() const noexcept { return node_id_; }
  std::size_t memory_bytes() const;
  // #{keys, node_id, neighbours, monitored, slices_in, ..., slice_steps,
  // longest_handler_us, longest_handler (its message tag), handlers_over_50ms}
  Term stats_term() const;

 private:
  // Taken by rvalue: encoded sends are moved into the connection, not copied.
  void execute(cnode::Process& self, crdt::SyncActions&& actions);
  void timed(std::chrono::steady_clock::time_point start, const Term& what);
  void down(cnode::Process& self, const Term& neighbour);

  CrdtPartOptions options_;
  std::int64_t node_id_ = 0;
  std::unique_ptr<crdt::SyncEngine> engine_;
  std::map<Term, Reference> monitors_;  // neighbour -> monitor ref
  std::vector<crdt::KeyChange> changes_;
  struct Counters {
    std::uint64_t messages = 0, warnings = 0, sends = 0, notifications = 0, downs = 0;
    // Key traffic: state slices {diff, AWLWWMap, Keys} and {get_diff, ...}.
    std::uint64_t slices_in = 0, slices_out = 0, get_diffs_in = 0, get_diffs_out = 0, diffs_in = 0, diffs_out = 0;
    std::uint64_t stale_diffs = 0;  // a peer's round starts skipped for a newer one queued behind them
    // Protocol messages, continuation steps and calls handled in one turn
    // (issue 13 wants none over ~50 ms; see the README's Limits for what
    // still takes longer).
    std::uint64_t longest_us = 0, over_50ms = 0;
    std::uint64_t heap_trims = 0;  // malloc_trim calls after large absorbs
    Atom longest_kind{"none"};  // the longest one's tag: diff, slice, get_diff, $hc_crdt_continue, ...
  } counters_;
  // Key changes since the last heap trim. A large absorb frees the Term
  // trees of its slices (~500 B per key), which glibc keeps mapped; the
  // next sync tick after kTrimAfterChanges changes returns them to the OS
  // (once, off the message that caused them).
  static constexpr std::size_t kTrimAfterChanges = 10000;
  std::size_t changes_since_trim_ = 0;
  void maybe_trim_heap();
};

}  // namespace hc::horde
