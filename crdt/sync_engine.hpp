// DeltaCrdt.CausalCrdt 0.6.4 as a pure state machine: one replica's
// AWLWWMap + Merkle index + neighbours + the anti-entropy protocol.
//
// Inputs are messages (exactly the terms a DeltaCrdt process receives),
// timer ticks and local calls; outputs are actions for the process adapter
// (horde/crdt_process.hpp), which owns sockets, timers and monitors.
// No clock, randomness or I/O inside: the node id, our own pid and the clock
// (erlang:monotonic_time(nanosecond) semantics) are injected.
//
// Protocol, as the real source does it (horde-wire.md section 3 with the
// corrections noted there):
// - Every sync interval and on {set_neighbours, _} the replica monitors every
//   neighbour it does not monitor yet, then sends `{diff, Diff}` with the
//   root subtree (depth 8) to every monitored neighbour.
// - DeltaCrdt 0.6.4 does NOT hold back a sync while an earlier one is
//   unacknowledged: its outstanding_syncs map only keeps neighbours whose
//   send raised (a local name that is not registered), so every interval
//   starts a new round with each monitored neighbour. We do the same by
//   default (so a lost message never stalls a peer); with
//   SyncConfig::max_skipped_rounds (CrdtProcess sets it) a tick skips a
//   neighbour whose previous round is unacknowledged, a bounded number of
//   times, so expensive rounds do not pile up.
// - `{diff, Diff}`: swap from/to, continue the partial diff; either send the
//   next continuation to `to`, or, when it is complete, send the keys (as
//   get_diff to the originator, or as the slice when we are the originator)
//   and acknowledge with {ack_diff, Neighbour} to the originator.
// - `{diff, %AWLWWMap{}, Keys}`: join over Keys; changed keys update the
//   Merkle index; the owner is notified (possibly with [] when the elements
//   but not the read values changed, as DeltaCrdt's on_diffs is).
// - max_sync_size (DeltaCrdt's own default is 200; Horde passes :infinite,
//   our default) truncates the keys of a round, but the slice still carries
//   the originator's whole context. The receiver therefore takes the dots of
//   the keys left out as seen, and when the keys finally arrive it drops
//   them (S2 − Ctx1), and its next sync removes them at the sender: with
//   more than max_sync_size differing keys DeltaCrdt 0.6.4 loses writes
//   (reproduced with two BEAM DeltaCrdt processes and 401 puts: 200 keys
//   survive). We reproduce this exactly; keep max_sync_size unset.
// - Large slices (not in DeltaCrdt, SyncConfig::slice_chunk_keys): a slice
//   is joined in steps of that many keys (crdt/slice_join.hpp), one per
//   turn of the host, so that calls and other messages are served in
//   between (issue 13: no handler over ~50 ms); then the slice is freed and
//   the Merkle hashes of what it changed are computed, in steps too. While
//   such a join is under way, the messages that read or change what peers
//   see of us ({diff, _}, {diff, _, _}, {get_diff, _, _}) wait inside the
//   engine and are handled in arrival order, one a turn, once it is done (a
//   round start is dropped for a newer one of the same originator queued
//   behind it, as CrdtPart does for its mailbox); sync ticks and
//   set_neighbours start no round (the next tick after the join does);
//   local operations, calls, acks and DOWNs are served at once. The slice's
//   context is merged after its last key, so a peer never sees a context
//   that covers keys we have not joined yet.
// Anything malformed produces a Warning action and is otherwise ignored
// (DeltaCrdt would crash and restart); a call we cannot serve is answered
// with `{error, Reason}` so that no caller hangs.
//
// Not thread-safe: driven by one process.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "crdt/aw_lww_map.hpp"
#include "crdt/slice_join.hpp"
#include "crdt/sync_messages.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

class SliceWriter;

struct SyncConfig {
  std::int64_t node_id = 0;         // random in 1..1 000 000 000 (injected)
  Term self;                        // our pid: originator/from of our syncs
  std::uint32_t sync_interval_ms = 200;  // DeltaCrdt default; Horde uses 300
  std::optional<std::size_t> max_sync_size;  // nullopt = :infinite
  int depth = MerkleMap::kSyncDepth;
  // Flow control (not in DeltaCrdt; 0 = DeltaCrdt's behaviour): a sync
  // tick skips a neighbour whose previous round we started is not yet
  // acknowledged, at most this many ticks in a row. Without it, a round
  // that costs more than one interval (tens of thousands of fresh keys)
  // gets another full round queued behind it every tick; the rounds share
  // both processes and all finish together, later and later (30 000 fresh
  // keys: 44 s). Only timing changes: every message is still one DeltaCrdt
  // sends, and a lost ack delays the next round by at most this many ticks.
  unsigned max_skipped_rounds = 0;
  // Flow control the other way (0 = DeltaCrdt's behaviour): while our round
  // to a neighbour is unacknowledged, a round that neighbour starts
  // (`{diff, _}` with a root continuation) is dropped, at most this many in
  // a row: at most about one round of each side in flight at a time.
  // DeltaCrdt starts a round every interval whether or not the last one
  // finished; when a round costs more than an interval, rounds overlap and
  // each ships the whole backlog again (as slices of the values for the
  // keys found, empty when the sender lacks them), every interval, behind
  // which the useful slice waits (measured C++ -> BEAM, 30 000 names: 4 such
  // slices, lag 20 s -> 2 s with this). A dropped round is a lost message to
  // DeltaCrdt (no round waits for it; it is acknowledged anyway, so that a
  // peer with max_skipped_rounds does not stall); the peer's data reaches us in its
  // next round after our ack, or after this many. (Deferring only peers
  // whose context has dots ours lacks was tried and measured worse: BEAM ->
  // C++ at 100 000 names 50 s instead of 5 s, the peer's overlapping rounds
  // being the cost.)
  // Only a round start whose `dots` (the peer's context) hold no dot ours
  // lacks is deferred for that reason: a peer with news gets its round
  // answered (the data of a round flows from its originator; deferring a
  // BEAM registrar's rounds behind our own, empty-handed ones was the 5 s
  // lag of BEAM -> C++ at 10 000 names). The same bound also drops a round
  // start of a peer while an earlier round of that peer is still under way
  // here (we took part and its slice has not arrived; a slice names its
  // round by the originator's dots): the earlier round's slice brings the
  // news, and a second round in parallel would compute and ship the same
  // backlog again (BEAM -> C++ at 100 000 names: three 29 000-key slices
  // of overlapping rounds, joined one after the other). Deferring a peer's
  // rounds also while we hold changes it lacks (before our round starts)
  // was tried and measured worse: C++ -> BEAM at 300 000 names 25 s
  // instead of 18 s, C++ CPU 17.7 s instead of 10.3 s.
  unsigned max_deferred_peer_rounds = 0;
  // Answer a peer's round with our pid as `from` (false = DeltaCrdt's
  // behaviour: `from` is the `to` we were sent, our registered name). With
  // the name, a round whose start our predecessor under that name answered
  // continues with us after a restart, and its final slice (the peer's whole
  // context, but only the keys that differed from the predecessor) makes our
  // context cover dots we hold no values for: our next round then deletes
  // those keys everywhere (test/crdt/sync_restart_test.cpp). With our pid,
  // a round ends with the process that answered its start. Peers accept
  // either (they send to `from`); acks then name our pid, which is matched
  // to the neighbour on its node (see handle of {ack_diff, _}).
  bool answer_from_self = false;
  // Flow control for rounds that cannot carry anything (0 = DeltaCrdt's
  // behaviour): a sync tick skips a neighbour, at most this many ticks in a
  // row, when nothing changed here since the start of our last round it
  // acknowledged (no local add/remove; with more than one neighbour, no
  // joined change either, since a slice does not say who sent it): that
  // round's slice went out before its ack, so the neighbour holds all we
  // had then. (The context in the neighbour's own round starts is no
  // guide: it lags while the neighbour still works through our slice, and
  // a cold join measured a second 100 000-key round from trusting it.) A round carries the
  // originator's state to the peer, so such a round would make the peer
  // compute a diff and ask for keys only to join nothing; meanwhile it
  // holds back the peer's own, useful, rounds (max_deferred_peer_rounds).
  // With it, a replica that holds no key and has seen no dot starts no round
  // at all (its round is a no-op for the peer, see idle_round).
  unsigned max_idle_rounds = 0;
  // Join a slice in steps of this many keys, one step per turn (0 =
  // DeltaCrdt's behaviour: the whole slice in one go). See the protocol
  // notes above; the host must answer action::Continue.
  std::size_t slice_chunk_keys = 0;
  // Send state slices (`{diff, %AWLWWMap{}, Keys}`: the answer to a
  // get_diff, the last step of a peer's round) as bytes written straight
  // from the packed records (crdt/slice_encode.hpp) in action::Send's
  // `encoded`, instead of as a Term (false: the Term, as the engine tests
  // and the golden replays look at it). Same bytes on the wire; a 100 000-
  // key slice no longer builds and frees a Term tree in one turn.
  bool encode_slices = false;
  // Send the continuations of Merkle rounds (`{diff, %Diff{}}` answering a
  // `{diff, _}`) as bytes written straight from the Merkle trie and the
  // packed records (MerkleMap::write_continuation) in action::Send's
  // `encoded` (false: the Term). Same bytes on the wire; a round with a peer
  // that lacks most of our 100 000 keys no longer builds, encodes and frees
  // a 19 MB Term tree (190 + 90 + 90 ms). Not with max_sync_size, whose
  // truncation works on the Term.
  bool encode_continuations = false;
  // Back-pressure (unset = DeltaCrdt's behaviour): while this says true of
  // a neighbour, the engine sends it nothing large. A sync tick starts no
  // round with it (and counts no skip against it, so max_skipped_rounds
  // does not force one out), and a {diff, _} from it, round start or
  // continuation, of its round or ours, is not answered: the round ends (a
  // peer's is acknowledged; ours is no longer awaited). get_diff is still
  // answered: that slice is the round's payload, and our rounds are
  // already held back. The host answers from its connection: "more than
  // some bound of bytes still waits to be written to the neighbour's node".
  // Why: every answer in a round with a peer that lacks most of our keys is
  // as large as the difference (200 MB continuations at 1 000 000 names),
  // and DeltaCrdt starts rounds every interval whatever is in flight; a
  // BEAM slow to read (joining 1 000 000 names from C++) had overlapping
  // rounds queue one such answer after another, past 1 GiB, until the
  // connection closed. When a peer's answer arrives it has read our last
  // message, so a single round is never cut; overlapping ones are.
  // Called on the engine's thread, per tick and per received diff; must be
  // cheap. The argument is a neighbour as set_neighbours names it, or the
  // sender (a pid or {Name, Node}) of a diff from no neighbour.
  std::function<bool(const Term& neighbour)> backlogged;
};

namespace action {
struct Send {  // send(To, Message); To is a pid, an atom or {Name, Node}
  Term to;
  Term message;  // [] when `encoded` holds the message
  // Non-empty: the message as external format without the version byte
  // (SyncConfig::encode_slices and encode_continuations: only state slices
  // and continuations are sent so).
  std::vector<std::uint8_t> encoded;
};
struct Monitor {  // erlang:monitor(process, Neighbour); DOWN -> handle_down
  Term neighbour;
};
struct Demonitor {  // demonitor(Ref, [flush]) of the monitor of Neighbour
  Term neighbour;
};
struct Reply {  // gen_server:reply(From, Reply)
  Term from;
  Term reply;
};
struct Notify {  // on_diffs(Diffs)
  std::vector<KeyChange> diffs;
};
struct ScheduleSync {  // Process.send_after(self(), :sync, Ms)
  std::uint32_t after_ms = 0;
};
struct Warning {  // log and continue
  std::string text;
};
// Work is left (the next step of a slice join, messages that waited for
// it): call continue_work() in a later turn, after the messages already
// queued (a message to self). At most one is outstanding: the engine asks
// again only after continue_work() ran.
struct Continue {};
}  // namespace action

using SyncAction = std::variant<action::Send, action::Monitor, action::Demonitor, action::Reply,
                                action::Notify, action::ScheduleSync, action::Warning, action::Continue>;
using SyncActions = std::vector<SyncAction>;

class SyncEngine {
 public:
  using Clock = std::function<std::int64_t()>;

  SyncEngine(SyncConfig config, Clock clock);
  SyncEngine(SyncConfig config, Clock clock, AWLWWMap initial_state);

  // init/1: the first sync is immediate (DeltaCrdt sends itself :sync).
  SyncActions start();

  // A DeltaCrdt protocol message: :sync, {diff, ...}, {get_diff, ...},
  // {ack_diff, _}, {set_neighbours, _}, {'$gen_cast', {operation, _}}.
  // The OTP envelopes ('$gen_call', 'DOWN', 'EXIT') are parsed by the host
  // (cnode/gen_server.hpp), which calls handle_call / handle_down.
  SyncActions handle_message(const Term& message);
  SyncActions on_sync_timer();
  SyncActions handle_call(const Term& request, const Term& from);
  // A neighbour monitor fired (or could not be set up).
  SyncActions handle_down(const Term& neighbour);
  // The next piece of work after action::Continue: one step of comparing
  // a received continuation's trees with ours (16 x slice_chunk_keys nodes
  // a step), one step of writing a
  // continuation or a slice (encode_continuations, encode_slices: about
  // 512 x slice_chunk_keys bytes a step; the Merkle tree is not updated
  // meanwhile, so rounds, slices and diffs wait as for a join), one step of the slice join under way (slice_chunk_keys keys; after the last, freeing the
  // slice, 4 x slice_chunk_keys parts a step, and the Merkle hashes of the
  // joined keys, 8 x slice_chunk_keys nodes a step), or else
  // the next message that waited for it (one a turn; a slice starts its
  // join with this turn's step). The same hashing steps run when a tick
  // finds more local changes unhashed than one step covers (a burst of
  // registrations): that tick starts no round, the step that hashes the
  // last node starts it. A spurious call does nothing.
  SyncActions continue_work();
  // A slice join is under way or messages wait for one (see above). The
  // stepped walks and writers refer to the replica inside the engine: do
  // not move an engine while it is busy.
  bool busy() const noexcept {
    return job_ != nullptr || hashing_ || walking_ != nullptr || writing_ != nullptr || !waiting_.empty();
  }

  // ---- local API (what the gen_server calls do, without a caller) --------
  SyncActions put(const Term& key, const Term& value);
  SyncActions remove(const Term& key);
  SyncActions set_neighbours(std::vector<Term> neighbours);

  const AWLWWMap& state() const noexcept { return state_; }
  // Counts as a change for max_idle_rounds (the caller may change anything).
  AWLWWMap& mutable_state() noexcept {
    changed();
    return state_;
  }
  const SyncConfig& config() const noexcept { return config_; }
  const std::set<Term>& neighbours() const noexcept { return neighbours_; }
  const std::set<Term>& monitored() const noexcept { return monitors_; }
  const std::set<Term>& awaiting_ack() const noexcept { return awaiting_ack_; }
  // Peer rounds dropped by max_deferred_peer_rounds so far.
  std::uint64_t deferred_peer_rounds() const noexcept { return deferred_total_; }
  // Ticks that skipped a neighbour under max_idle_rounds so far.
  std::uint64_t idle_rounds_skipped() const noexcept { return idle_skipped_total_; }
  // Ticks that started no round with a neighbour because it was backlogged
  // (SyncConfig::backlogged).
  std::uint64_t backlogged_rounds_skipped() const noexcept { return backlogged_skipped_total_; }
  // {diff, _} (round starts and continuations, peers' rounds and ours) left
  // unanswered, the round ended, because the sender was backlogged.
  std::uint64_t backlogged_diffs() const noexcept { return backlogged_total_; }
  // Steps of chunked slice joins run so far (slice_chunk_keys), and the
  // waiting round starts a newer one of the same originator superseded.
  std::uint64_t slice_steps() const noexcept { return slice_steps_; }
  // Round starts that waited for the hashes of local changes (see continue_work).
  std::uint64_t rounds_after_hashing() const noexcept { return hashed_rounds_; }
  std::uint64_t superseded_rounds() const noexcept { return superseded_total_; }

 private:
  void sync_to_all(SyncActions& out, bool from_timer = false);
  void handle_diff(const Term& diff_term, SyncActions& out);
  // What follows the Merkle walk of a {diff, _}: the next continuation, or
  // the keys (get_diff / the slice) and the ack.
  void finish_diff(CausalDiff d, Result<PartialDiffStep> step, SyncActions& out);
  void walk_step(SyncActions& out);
  void handle_get_diff(const Term& diff_term, const Term& keys, SyncActions& out);
  void handle_slice(const Term& slice, const Term& keys, SyncActions& out);
  // {diff, slice_term(Keys, Dots), Keys} to `to` (encoded with
  // encode_slices; with slice_chunk_keys too, written in steps), then `after`.
  // The slice for `keys` (a proper list, or the keys a walk found), then `after`.
  void send_slice(const Term& to, const Term& keys, const Term& dots, SyncActions after, SyncActions& out);
  void send_slice(const Term& to, std::vector<Term> keys, const Term& dots, SyncActions after, SyncActions& out);
  void write_slice(const Term& to, std::unique_ptr<SliceWriter> writer, SyncActions after, SyncActions& out);
  // {diff, D} with D's continuation the one of `step` (encoded with
  // encode_continuations; with slice_chunk_keys too, written in steps).
  void send_continuation(CausalDiff d, PartialDiffStep step, SyncActions& out);
  void write_step(SyncActions& out);
  // A message that waits while busy(): {diff, _}, {diff, _, _}, {get_diff, _, _}.
  static bool waits_while_busy(const Term& message);
  void handle_remote(const Term& message, SyncActions& out);
  void wait(const Term& message);
  void slice_step(SyncActions& out);
  void ask_to_continue(SyncActions& out);
  void ack_diff(const CausalDiff& diff, SyncActions& out);
  // CrdtErrc::malformed_operation / unsupported_operation with the detail
  // the warning prints.
  Result<void> apply_operation(const Term& op, SyncActions& out);
  void notify(const UpdateResult& r, SyncActions& out);

  SyncConfig config_;
  Clock clock_;
  AWLWWMap state_;
  std::set<Term> neighbours_;
  std::set<Term> monitors_;
  std::set<Term> awaiting_ack_;
  std::map<Term, unsigned> skipped_rounds_;  // consecutive ticks held back per neighbour
  std::map<Term, unsigned> deferred_rounds_;  // consecutive peer rounds dropped per neighbour
  std::uint64_t deferred_total_ = 0;
  // max_idle_rounds bookkeeping: change_seq_ counts changes a neighbour may
  // lack; round_seq_ is its value when our round to a neighbour started,
  // synced_seq_ when the last acknowledged one did.
  std::uint64_t change_seq_ = 1;
  std::map<Term, std::uint64_t> round_seq_, synced_seq_;
  std::map<Term, unsigned> idle_skips_;       // consecutive idle ticks skipped per neighbour
  std::map<Term, Term> open_peer_round_;      // neighbour -> dots of its round under way here
  std::uint64_t idle_skipped_total_ = 0;
  std::uint64_t backlogged_skipped_total_ = 0, backlogged_total_ = 0;
  // Chunked slice joins (slice_chunk_keys): the one under way, the
  // messages waiting for it, whether a Continue is outstanding.
  std::unique_ptr<SliceJoin> job_;
  bool hashing_ = false;  // the join is done, its Merkle hashes are not yet
  // A tick's round start waits for the hashes of local changes (sync_to_all).
  bool round_after_hashing_ = false;
  std::uint64_t hashed_rounds_ = 0;
  static constexpr std::size_t kHashedPerChunkKey = 8;  // Merkle nodes hashed per turn, per slice_chunk_keys
  static constexpr std::size_t kReleasedPerChunkKey = 4;  // slice parts freed per turn, per slice_chunk_keys
  void start_hashing();
  // A message written in steps (a continuation or a slice, with
  // slice_chunk_keys): the bytes so far, the writer, the bytes of the
  // message after what the writer writes, and the actions that follow the
  // message (the ack after a slice). Sent when the last step is written.
  struct OutgoingJob {
    Term to;
    std::vector<std::uint8_t> bytes;
    std::unique_ptr<StepWriter> writer;
    std::vector<std::uint8_t> tail;
    SyncActions after;
  };
  std::unique_ptr<OutgoingJob> writing_;
  // A {diff, _} whose trees are compared with ours in steps (slice_chunk_keys).
  struct DiffJob {
    CausalDiff diff;
    std::unique_ptr<PartialDiffWalk> walk;
    std::size_t steps = 0;  // walk steps taken
    bool walked = false;    // the walk is done; the answer is not yet begun
  };
  std::unique_ptr<DiffJob> walking_;
  static constexpr std::size_t kVisitedPerChunkKey = 16;  // tree nodes compared per turn, per slice_chunk_keys
  static constexpr std::size_t kWrittenPerChunkKey = 512;  // bytes written per turn, per slice_chunk_keys
  void start_writing(std::unique_ptr<OutgoingJob> job, SyncActions& out);
  std::deque<Term> waiting_;
  bool continue_asked_ = false;
  std::uint64_t slice_steps_ = 0, superseded_total_ = 0;
  bool defer_peer_round(const CausalDiff& received);
  bool idle_round(const Term& neighbour) const;
  bool carries_nothing() const;  // an empty replica under max_idle_rounds: no round at all
  // The neighbour a peer is: itself, or for a pid the {Name, Node}
  // neighbour on the pid's node (a peer that answers from its pid, see
  // answer_from_self); nullptr when none.
  const Term* neighbour_of(const Term& peer) const;
  void forget(const Term& neighbour);
  void changed() noexcept { ++change_seq_; }
};

}  // namespace hc::crdt
