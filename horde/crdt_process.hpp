// A stand-alone C++ process that BEAM code can treat as a DeltaCrdt
// (DeltaCrdt.CausalCrdt 0.6.4) process: CrdtPart (crdt_part.hpp) on its own
// mailbox. The Horde roles do not use it (their host owns its CrdtPart and
// answers as 'N.Crdt' itself, see role_host.hpp); it is a DeltaCrdt peer
// for tests, benchmarks and C++ code that wants a plain replicated map.
//
// Owner notification (DeltaCrdt's on_diffs): a message
// `{Tag, [{add, K, V} | {remove, K}]}` (default tag `crdt_update`, as
// Horde's on_diffs sends to its RegistryImpl) to an owner destination.
//
// As DeltaCrdt: it traps exits; {'EXIT', _, normal} is ignored, any other
// {'EXIT', _, Reason} (a signal or the same tuple sent as a message) stops it.
//
// Threading: io thread only (like every cnode::Process). The local API
// (put/remove/set_neighbours/read) is for processes on the same node.
// Lifetime: owned by the Node; hold its pid, not a pointer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "horde/crdt_part.hpp"

namespace hc::horde {

struct CrdtProcessOptions {
  Atom name;                                         // registered name, for logs ('N.Crdt')
  std::chrono::milliseconds sync_interval{200};      // DeltaCrdt default; Horde passes 300
  std::optional<std::size_t> max_sync_size;          // nullopt = :infinite (Horde's); see sync_engine.hpp before setting it
  std::optional<cnode::Dest> owner;                  // send {owner_tag, Diffs} here
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
  Term read() const { return part_.read(); }
  std::optional<Term> get(const Term& key) const { return part_.get(key); }

  const crdt::SyncEngine& engine() const { return part_.engine(); }
  std::int64_t node_id() const noexcept { return part_.node_id(); }
  std::size_t memory_bytes() const { return part_.memory_bytes(); }
  Term stats_term() const { return part_.stats_term(); }

 private:
  void notify_owner();

  CrdtProcessOptions options_;
  CrdtPart part_;
};

}  // namespace hc::horde
