// The join of a wire slice `{diff, %DeltaCrdt.AWLWWMap{}, Keys}` split into
// steps, so that a 100 000-key slice need not be joined in one turn of the
// process that owns the replica (issue 13: no handler over ~50 ms).
//
// `start` checks what the whole slice must get right before anything is
// joined (a %DeltaCrdt.AWLWWMap{} map, a compressed `dots` context, a
// `value` map, a list of keys); each `step` indexes the next entries of the
// slice's value map or joins the next keys into the replica (storing them
// and queueing their Merkle updates), and the step that joins the last key
// merges the slice's context into the replica's.
//
// Why the steps add up to AWLWWMap::join_slice: the join of one key reads
// only that key's elements on both sides, the replica's context c1 and the
// slice's context c2. c1 does not change until the last step (the merge
// comes last), apart from the dots of local add operations run between
// steps, which are new dots of our own node that no remote element holds;
// c2 is the slice's. So a key joined in step 3 gets the same elements as in
// a one-turn join, as if a local operation between the steps had run before
// the join for the keys after it and after it for the keys before it. A key
// given more than once is joined once, where it first comes, and every
// repetition is reported like it (as join_slice and DeltaCrdt do), also in
// a later step.
//
// A key whose element set is malformed fails its step: that step changes
// nothing, the keys of earlier steps stay joined, and the context is NOT
// merged (a context that covers the dots of keys we never received would
// delete those keys at the sender on our next sync). No step runs after a
// failed one.
//
// Not thread-safe; the replica passed to `step` must be the same each time,
// and nothing else may join into it between the steps (local add/remove are
// fine). Holds shared references to the slice and keys terms.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "crdt/aw_lww_map.hpp"
#include "crdt/key_list.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

class SliceJoin {
 public:
  // CrdtErrc::malformed_slice, with the part that was wrong as detail, when
  // the slice's shape or context is malformed or `keys` is not a proper
  // list. Cost: the (empty) indexes; the value map is indexed and the keys
  // are read by the steps.
  static Result<SliceJoin> start(const Term& slice, const Term& keys);
  // Over `keys` the caller keeps alive until the last step (join_slice).
  static Result<SliceJoin> start(const Term& slice, std::span<const Term> keys);
  // Over Keys as a reader (key_list.hpp: a Term list or an encoded one,
  // each step reading the keys it joins; a key that does not decode fails
  // that step as a malformed element set does).
  static Result<SliceJoin> start(const Term& slice, KeyListReader keys);

  SliceJoin(SliceJoin&&) noexcept;
  SliceJoin& operator=(SliceJoin&&) noexcept;
  ~SliceJoin();

  // Does up to `budget` units of work (0 = all that is left): joining one
  // key, or indexing kIndexedPerUnit entries of the slice's value map (all
  // are indexed before the first key is joined), is a unit. Returns the
  // changes of the keys joined in this step (in Keys order, repetitions
  // included); CrdtErrc::malformed_slice as described above.
  Result<UpdateResult> step(AWLWWMap& state, std::size_t budget);

  // Drops up to `budget` of the references to the slice's parts that the
  // join holds (each one's subterm is freed unless shared), for a host that
  // frees a large slice in pieces after the join; the destructor drops the
  // rest at once. True when none is left. Call it after the last step.
  bool release(std::size_t budget);

  // Every key joined and the context merged.
  bool done() const noexcept;
  // A step failed; the join is over (not done).
  bool failed() const noexcept;
  std::size_t keys_total() const noexcept;
  std::size_t keys_joined() const noexcept;

  // Entries indexed per unit of a step's budget: indexing an entry (packing
  // its key) costs about an eighth of joining a key (bench/slice_turn_bench).
  static constexpr std::size_t kIndexedPerUnit = 8;

 private:
  struct Impl;
  explicit SliceJoin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hc::crdt
