// 'N.Crdt': a C++ process that BEAM code can treat as a DeltaCrdt
// (DeltaCrdt.CausalCrdt 0.6.4) process. It feeds crdt::SyncEngine (the pure
// protocol state machine) with its mailbox and executes the engine's
// actions with the process API: sends, neighbour monitors, gen_server
// replies, the sync timer, and the owner notification.
//
// Owner notification (DeltaCrdt's on_diffs): a C++ callback, and/or a
// message `{Tag, [{add, K, V} | {remove, K}]}` (default tag `crdt_update`,
// as Horde's on_diffs sends to its RegistryImpl / DynamicSupervisorImpl) to
// an owner destination. The callback runs synchronously inside put/remove
// and inside message handling; it must not call back into this process.
//
// Threading: io thread only (like every cnode::Process). The local API
// (put/remove/set_neighbours/read) is for processes on the same node.
// Lifetime: owned by the Node; hold its pid, not a pointer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cnode/process.hpp"
#include "crdt/sync_engine.hpp"

namespace hc::horde {

struct CrdtProcessOptions {
  Atom name;                                         // registered name, for logs ('N.Crdt')
  std::chrono::milliseconds sync_interval{200};      // DeltaCrdt default; Horde passes 300
  std::optional<std::size_t> max_sync_size;          // nullopt = :infinite (Horde's); see sync_engine.hpp before setting it
  std::function<void(const std::vector<crdt::KeyChange>&)> on_diffs;
  std::optional<cnode::Dest> owner;                  // also send {owner_tag, Diffs} here
  Atom owner_tag = Atom("crdt_update");
  std::optional<std::int64_t> node_id;               // default: random in 1..1 000 000 000
  std::function<std::int64_t()> clock;               // default: crdt::beam_monotonic_ns
};

class CrdtProcess : public cnode::Process {
 public:
  explicit CrdtProcess(CrdtProcessOptions options);
  ~CrdtProcess() override;

  void init() override;
  void handle_message(const Term& message) override;

  // ---- local API (io thread; same effects as the gen_server calls) --------
  void put(const Term& key, const Term& value);
  void remove(const Term& key);
  void set_neighbours(std::vector<Term> neighbours);
  Term read() const;
  std::optional<Term> get(const Term& key) const;

  const crdt::SyncEngine& engine() const { return *engine_; }
  std::int64_t node_id() const noexcept { return node_id_; }
  std::size_t memory_bytes() const;
  // #{keys, node_id, neighbours, monitored, slices_in, slices_out,
  //   get_diffs_in, get_diffs_out, diffs_in, diffs_out, ...}
  Term stats_term() const;

 private:
  void execute(const crdt::SyncActions& actions);
  void down(const Term& neighbour);

  CrdtProcessOptions options_;
  std::int64_t node_id_ = 0;
  std::unique_ptr<crdt::SyncEngine> engine_;
  std::map<Term, Reference> monitors_;  // neighbour -> monitor ref
  struct Counters {
    std::uint64_t messages = 0, warnings = 0, sends = 0, notifications = 0, downs = 0;
    // Key traffic: state slices {diff, AWLWWMap, Keys} and {get_diff, ...}.
    std::uint64_t slices_in = 0, slices_out = 0, get_diffs_in = 0, get_diffs_out = 0, diffs_in = 0, diffs_out = 0;
    std::uint64_t stale_diffs = 0;  // a peer's round starts skipped for a newer one queued behind them
  } counters_;
};

}  // namespace hc::horde
