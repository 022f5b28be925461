// DeltaCrdt.AWLWWMap (delta_crdt 0.6.4, lib/delta_crdt/aw_lww_map.ex): an
// add-wins map whose concurrent values are resolved last-writer-wins on read.
//
// Semantics (horde-wire.md section 2, checked against the source):
// - State: a compressed context `#{NodeId => MaxCounter}` and, per key, a set
//   of elements `{Value, Ts}` each with a set of dots.
// - add(K, V) on node I: dot D = {I, Ctx[I] + 1}; every element under K is
//   removed and `{V, Ts}` is stored with dots {D}; Ctx[I] = D's counter.
// - remove(K): every element under K is removed (the delta's context is the
//   exact set of dots under K, so nothing added elsewhere is touched when
//   the delta travels; locally the key simply disappears).
// - join(State, Delta, Keys): Ctx = per-node max; for each key in Keys and
//   each element, the surviving dots are (S1 ∩ S2) ∪ (S1 − Ctx2) ∪ (S2 − Ctx1)
//   ("−" against a compressed context: {N, C} is covered when Ctx[N] >= C).
//   Empty elements and keys vanish. Keys present in the delta but not in
//   Keys are ignored (DeltaCrdt would overwrite them blindly; a well-formed
//   peer never sends such keys).
// - read: per key, the Value of the element with the largest Ts (Erlang
//   order); on a tie, the first element in map order (Enum.max_by/2).
// Known anomalies (as in DeltaCrdt): compressed contexts forget gaps, so a
// dot the replica never saw but that is below its max for that node is
// treated as seen; Ts values of different nodes are compared as plain
// integers although they come from unrelated monotonic clocks.
//
// Representation: each key is one record holding the packed key and its
// packed elements (see packed_term.hpp), allocated from the replica's own
// BlockArena and found through an open-addressing index; no Term is kept
// per element. Terms are built on demand for reads,
// hashing and the wire. Optionally the replica maintains a MerkleMap over
// `Key => Values[Key]` (enable_merkle), updated on every change, exactly like
// the merkle_map field of DeltaCrdt.CausalCrdt.
//
// Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/block_arena.hpp"
#include "crdt/dot_context.hpp"
#include "crdt/error.hpp"
#include "crdt/merkle_map.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc {
class EtfWriter;
}

namespace hc::crdt {

// One change reported to the owner, as DeltaCrdt's on_diffs callback gets
// it: `{add, Key, ReadValue}` or `{remove, Key}`.
struct KeyChange {
  enum class Kind : std::uint8_t { add, remove };
  Kind kind = Kind::add;
  Term key;
  Term value;  // add only
  static KeyChange added(Term key, Term value) { return {Kind::add, std::move(key), std::move(value)}; }
  static KeyChange removed(Term key) { return {Kind::remove, std::move(key), Term()}; }
  bool is_add() const noexcept { return kind == Kind::add; }
  Term to_term() const;
  bool operator==(const KeyChange&) const = default;
};
Term changes_to_term(const std::vector<KeyChange>& changes);

// Outcome of one state update (an operation or the join of a delta).
struct UpdateResult {
  // Keys whose element set changed (in the order of the keys given, with
  // repetitions if the caller repeated a key, as DeltaCrdt does).
  std::size_t keys_changed = 0;
  // The read-level diff for on_diffs; computed only over changed keys. It
  // may be empty although keys_changed > 0 (the elements changed but the
  // read value did not); DeltaCrdt then still calls on_diffs with [].
  std::vector<KeyChange> diffs;
};

// An element of a key as plain values (for tests and inspection).
struct Element {
  Term value;
  Term ts;
  std::vector<Dot> dots;  // sorted
};

class AWLWWMap : private MerkleContent {
 public:
  AWLWWMap();
  ~AWLWWMap() override;
  AWLWWMap(AWLWWMap&&) noexcept;
  AWLWWMap& operator=(AWLWWMap&&) noexcept;
  AWLWWMap(const AWLWWMap&) = delete;
  AWLWWMap& operator=(const AWLWWMap&) = delete;
  AWLWWMap clone() const;

  // ---- operations (DeltaCrdt.AWLWWMap.add/4, remove/3 + join) ------------
  UpdateResult add(const Term& key, const Term& value, std::int64_t node_id, std::int64_t ts);
  UpdateResult remove(const Term& key);
  // join(State, Delta, Keys). `delta` is typically decoded from the wire.
  UpdateResult join(const AWLWWMap& delta, std::span<const Term> keys);
  // The same join straight from a wire slice `%DeltaCrdt.AWLWWMap{}` term
  // (no intermediate replica). CrdtErrc::malformed_slice with the part that
  // was wrong as detail, and no change, when the slice or the element set of
  // one of `keys` is malformed. Cost: O(len(keys)) in one go; SliceJoin
  // (slice_join.hpp) does the same join in steps.
  Result<UpdateResult> join_slice(const Term& slice, std::span<const Term> keys);
  // Join over every key of either side (state-based merge).
  UpdateResult join_all(const AWLWWMap& other);

  // ---- reads --------------------------------------------------------------
  std::size_t size() const noexcept { return count_; }
  bool contains(const Term& key) const;
  std::optional<Term> get(const Term& key) const;  // read value
  Term read() const;                               // #{Key => Value}
  Term read(std::span<const Term> keys) const;     // Map.take semantics
  std::vector<Term> keys() const;                  // unordered
  std::optional<std::vector<Element>> elements(const Term& key) const;
  // `#{{Value, Ts} => MapSet}` of a key (the MerkleMap value).
  std::optional<Term> value_term(const Term& key) const;
  const DotContext& context() const noexcept { return ctx_; }

  // ---- terms --------------------------------------------------------------
  // %DeltaCrdt.AWLWWMap{dots: Ctx, value: #{K => #{{V, Ts} => MapSet}}}
  Term to_term() const;
  // `%DeltaCrdt.AWLWWMap{dots: Dots, value: Map.take(value, Keys)}` with the
  // dots term given (DeltaCrdt sends the sync's recorded dots verbatim).
  Term slice_term(std::span<const Term> keys, const Term& dots) const;
  // Accepts %DeltaCrdt.AWLWWMap{} (or a plain map with dots/value); the
  // dots must be the compressed form. nullopt + error text on bad shapes.
  static std::optional<AWLWWMap> from_term(const Term& t, std::string* error = nullptr);
  bool operator==(const AWLWWMap& other) const;

  // ---- Merkle index -------------------------------------------------------
  void enable_merkle();
  bool merkle_enabled() const noexcept { return merkle_ != nullptr; }
  void update_hashes();
  // update_hashes in pieces (MerkleMap::update_hashes(content, max_nodes)):
  // true when every hash is valid (or there is no index).
  bool update_hashes(std::size_t max_nodes);
  const MerkleMap* merkle() const noexcept { return merkle_.get(); }
  std::optional<std::uint32_t> merkle_root();  // updates hashes first
  Term merkle_tree_term();                      // the whole tree (tests)
  Term prepare_partial_diff(int depth = MerkleMap::kSyncDepth);
  // CrdtErrc::malformed_continuation, with what was wrong as detail, when
  // the continuation is not a well-formed Diff.
  Result<PartialDiffStep> continue_partial_diff(const Term& continuation, int depth = MerkleMap::kSyncDepth);
  // continue_partial_diff in pieces (PartialDiffWalk), across turns in which
  // this replica may change but its Merkle tree must not be updated.
  // Updates the hashes first.
  std::unique_ptr<PartialDiffWalk> partial_diff_walk(Term continuation, int depth = MerkleMap::kSyncDepth);
  // The continuation of a step that is not done (MerkleMap::continuation_term /
  // write_continuation; the leaves' keys and values written from the packed
  // records). Only until the next change of this replica.
  Term continuation_term(const PartialDiffStep& step) const;
  void encode_continuation(const PartialDiffStep& step, EtfWriter& out) const;
  // The same in pieces (ContinuationWriter), across turns in which this
  // replica may change but its Merkle tree must not be updated.
  std::unique_ptr<ContinuationWriter> continuation_writer(PartialDiffStep step) const;

  // Heap bytes held (the record arena's chunks, the slot and index arrays,
  // the Merkle nodes), counted as malloc holds them. O(1).
  std::size_t memory_bytes() const noexcept;

 private:
  struct Record;
  struct Parsed;
  struct JoinMemo;
  friend class SliceJoin;
  friend class SliceWriter;

  using DeltaLookup = std::function<bool(const Term& key, std::string_view packed_key, std::uint64_t h, Parsed& out,
                                         std::vector<std::string>& buffers)>;
  // The per-key part of join(State, Delta, Keys) against the delta's
  // context c2: stores the joined keys and reports them; the caller merges
  // c2 into ctx_ afterwards. `memo` remembers the keys joined so far (a
  // repeated key is joined once and reported again), across calls when one
  // join is split into several. CrdtErrc::malformed_slice (nothing mutated)
  // when `lookup` refuses a key.
  Result<UpdateResult> join_with(const DotContext& c2, std::span<const Term> keys, const DeltaLookup& lookup,
                                 JoinMemo& memo);

  Term merkle_key(EntryId id) const override;
  Term merkle_value(EntryId id) const override;
  bool merkle_has(EntryId id) const override { return id < slots_.size() && slots_[id] != nullptr; }
  void write_merkle_key(EntryId id, EtfWriter& w) const override;    // slice_encode.cpp
  void write_merkle_value(EntryId id, EtfWriter& w) const override;  // slice_encode.cpp

  std::optional<std::uint32_t> find_slot(std::string_view packed_key, std::uint64_t h) const;
  void index_insert(std::uint64_t h, std::uint32_t slot);
  void index_erase(std::uint64_t h, std::uint32_t slot);
  void grow_index();
  // Stores `record` (nullptr = delete) for a key, updating index and Merkle.
  // `key_term`, when given, saves unpacking the key to hash it.
  void store(std::string_view packed_key, std::uint64_t h, std::optional<std::uint32_t> slot, Record* record,
             const Term* key_term = nullptr);
  Term read_value(const Record& r) const;
  static Term read_parsed(const Parsed& p);
  static Term element_map(const Record* r);

  BlockArena arena_;  // every Record of slots_ lives here
  std::vector<Record*> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint64_t> index_;  // (low 32 bits of hash) << 32 | (slot + 1); 0 = empty
  std::size_t count_ = 0;
  DotContext ctx_;
  std::unique_ptr<MerkleMap> merkle_;
};

// erlang:monotonic_time(nanosecond) as a fresh BEAM would report it: the
// BEAM's monotonic clock starts at -2^59 ns (-576 460 752 303 423 488) when
// the VM boots, so C++ timestamps taken from our own process start compare
// with BEAM timestamps the way BEAM nodes compare among themselves.
std::int64_t beam_monotonic_ns() noexcept;
inline constexpr std::int64_t kBeamMonotonicOrigin = -(std::int64_t{1} << 59);

}  // namespace hc::crdt
