// The state slice DeltaCrdt sends, `{diff, %DeltaCrdt.AWLWWMap{dots, value}, Keys}`
// (horde-wire.md section 3), written as external term format straight from
// the replica's packed records (AWLWWMap::encode_slice) instead of through
// a Term tree: the answer to a get_diff and the last step of a peer's
// round, up to the whole registry in one message (issue 13: building the
// Terms of a 100 000-key slice and encoding them took 110-200 ms in one
// turn).
//
// The bytes are exactly interop's encoding of the Term message
// (`tuple(diff, state.slice_term(keys, dots), keys)`): the same map key
// order (Erlang term order, the last of equal keys kept), the same
// integer, atom and binary encodings. Checked by
// test/crdt/slice_encode_test.cpp over random states.
//
// Thread safety: pure functions of their arguments (the state is read).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/aw_lww_map.hpp"
#include "crdt/step_writer.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

// Appends the body (no version byte 131: the distribution frame writer
// adds it where the frame format wants one) of
// `{diff, state.slice_term(Keys, dots), Keys}`; `keys` is the list Keys as
// it goes on the wire (a proper list). Cost: O(bytes) plus sorting the keys.
void encode_slice_message(const AWLWWMap& state, const Term& keys, const Term& dots, std::vector<std::uint8_t>& out);

// The same message in pieces (StepWriter), so that a slice of hundreds of
// thousands of keys is written over several turns (issue 13). The keys are
// looked up, sorted (in runs, merged as they are written) and written a
// piece a call. Between calls the replica may change: each key's record is
// copied when it is looked up, so every key carries what the replica held
// for it at one moment of the write (as if it had changed just before or
// after the slice; DeltaCrdt's slices too carry values newer than their
// dots). The bytes equal encode_slice_message's when nothing changes.
// `state` must outlive the writer; `keys` and `dots` are kept. Given as a
// vector (the keys a walk found), each key is dropped once written (where
// the writer holds the last reference, 300 000 keys are freed a step at a
// time); given as the list Keys (proper, a get_diff's), the list is held,
// not copied (copying or dropping 1 000 000 keys in one turn: 35-60 ms of
// reference counts). Cost: O(bytes + k log k) in all, for k keys.
class SliceWriter final : public StepWriter {
 public:
  SliceWriter(const AWLWWMap& state, std::vector<Term> keys, Term dots);
  SliceWriter(const AWLWWMap& state, Term keys_list, Term dots);
  ~SliceWriter() override;
  bool write(EtfWriter& w, std::size_t budget) override;

 private:
  struct Found;  // a key we hold, its record's bytes copied
  enum class Phase { lookup, head, entries, keys, done };
  bool lookup(std::size_t budget);
  bool entries(EtfWriter& w, std::size_t budget);
  bool keys_list(EtfWriter& w, std::size_t budget);
  void write_entry(std::size_t i, EtfWriter& w);
  // Heap order (a max-heap whose top is the run whose next entry comes
  // first): run ra's next entry comes after rb's, ties to the earlier run.
  bool run_after(std::size_t ra, std::size_t rb) const;

  const AWLWWMap& state_;
  std::vector<Term> owned_keys_;  // keys given as a vector
  Term keys_list_;                // or as a list
  std::span<const Term> keys_;    // the one of them given
  Term dots_;
  Phase phase_ = Phase::lookup;
  std::size_t next_ = 0;               // the next key to look up / to write in the Keys list
  std::vector<Found> found_;           // in runs, each sorted
  std::vector<std::size_t> run_ends_;  // end index in found_ of each run
  std::string records_;                // the copied records
  std::vector<std::size_t> heads_;     // per run: its next entry (a heap over the runs not yet done)
  std::vector<std::size_t> heap_;      // run indices
  std::size_t pending_ = SIZE_MAX;     // the entry to write unless an equal one follows
  std::size_t count_at_ = 0, distinct_ = 0;  // the value map's header position, entries written
  std::size_t key_bytes_ = 0;                 // the keys' packed size (to size the message)
  bool list_open_ = false;                    // the Keys list's header is written
};

}  // namespace hc::crdt
