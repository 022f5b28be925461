#include "crdt/sync_engine.hpp"

#include <sstream>

#include "crdt/merkle_map.hpp"  // is_round_start
#include "crdt/slice_encode.hpp"
#include "interop/etf_writer.hpp"

namespace hc::crdt {
namespace {

// The message atoms, interned once.
struct Atoms {
  Term diff{Atom("diff")}, get_diff{Atom("get_diff")}, ack_diff{Atom("ack_diff")}, ok{Atom("ok")},
      error{Atom("error")}, unsupported{Atom("unsupported")};
};
const Atoms& atoms() {
  static const Atoms a;
  return a;
}
const Term& atom_term(const char* text) {
  const Atoms& a = atoms();
  std::string_view t(text);
  if (t == "diff") return a.diff;
  if (t == "get_diff") return a.get_diff;
  if (t == "ack_diff") return a.ack_diff;
  if (t == "ok") return a.ok;
  if (t == "error") return a.error;
  return a.unsupported;
}

std::string describe(const Term& t) {
  std::string s = to_string(t);
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

action::Warning warn(std::string text) { return action::Warning{std::move(text)}; }

}  // namespace

SyncEngine::SyncEngine(SyncConfig config, Clock clock) : SyncEngine(std::move(config), std::move(clock), AWLWWMap()) {}

SyncEngine::SyncEngine(SyncConfig config, Clock clock, AWLWWMap initial_state)
    : config_(std::move(config)), clock_(std::move(clock)), state_(std::move(initial_state)) {
  state_.enable_merkle();
}

SyncActions SyncEngine::start() { return {action::ScheduleSync{0}}; }

SyncActions SyncEngine::on_sync_timer() {
  SyncActions out;
  sync_to_all(out, true);
  // (emplace: push_back of a temporary trips GCC 12's -Wmaybe-uninitialized
  // on the variant's move, a false positive)
  out.emplace_back(std::in_place_type<action::ScheduleSync>, action::ScheduleSync{config_.sync_interval_ms});
  return out;
}

void SyncEngine::sync_to_all(SyncActions& out, bool from_timer) {
  // monitor_neighbours/1
  for (const Term& n : neighbours_) {
    if (monitors_.insert(n).second) out.push_back(action::Monitor{n});
  }
  // A round start would show peers a half-joined slice (see the header);
  // the first tick after the join starts the rounds.
  if (busy()) return;
  // The Merkle hashes of what changed here since the last round (a burst
  // of local registrations: 100 000 fresh keys cost this turn ~100 ms), in
  // steps as after a slice join; the round starts when the last is done
  // (slice_step), not a tick later.
  if (config_.slice_chunk_keys > 0 && !state_.update_hashes(config_.slice_chunk_keys * kHashedPerChunkKey)) {
    hashing_ = true;
    round_after_hashing_ = true;
    ++hashed_rounds_;
    ask_to_continue(out);
    return;
  }
  round_after_hashing_ = false;
  // Every monitored neighbour gets a fresh round (see header), unless flow
  // control holds back a tick while its previous round is unacknowledged.
  Term continuation = state_.prepare_partial_diff(config_.depth);
  Term dots = state_.context().to_term();
  for (const Term& n : monitors_) {
    if (n == config_.self) continue;
    if (carries_nothing()) {
      ++idle_skipped_total_;
      continue;
    }
    if (from_timer && idle_round(n)) {
      ++idle_skips_[n];
      ++idle_skipped_total_;
      continue;
    }
    idle_skips_.erase(n);
    if (config_.backlogged && config_.backlogged(n)) {
      ++backlogged_skipped_total_;
      continue;
    }
    // set_neighbours counts as a tick here: Horde calls it several times as
    // members come up, and each call starting a full round to a neighbour
    // whose round is still unanswered piles rounds up exactly like ticks do
    // (cold join of 100 000 names: three such rounds, each costing the
    // BEAM a 115 000-key join, delayed its slice to us by ~10 s).
    if (config_.max_skipped_rounds > 0 && awaiting_ack_.count(n)) {
      unsigned& skipped = skipped_rounds_[n];
      if (skipped < config_.max_skipped_rounds) {
        ++skipped;
        continue;
      }
    }
    skipped_rounds_.erase(n);
    CausalDiff d{continuation, dots, config_.self, config_.self, n, {}};
    out.push_back(action::Send{n, tuple(atom_term("diff"), d.to_term())});
    awaiting_ack_.insert(n);
    round_seq_[n] = change_seq_;
  }
}

bool SyncEngine::idle_round(const Term& n) const {
  if (config_.max_idle_rounds == 0 || awaiting_ack_.count(n)) return false;
  auto synced = synced_seq_.find(n);
  if (synced == synced_seq_.end() || synced->second != change_seq_) return false;
  auto skips = idle_skips_.find(n);
  return skips == idle_skips_.end() || skips->second < config_.max_idle_rounds;
}

bool SyncEngine::carries_nothing() const {
  // A replica that holds nothing and has seen no dot: its round's slice
  // would have no values and an empty context, a join that changes
  // nothing, while the peer walks its whole tree against our empty one and
  // answers with all of it (a cold join of 300 000 names: a 67 MB
  // continuation the BEAM builds before it gets to its own round, the one
  // that brings us the names). Skipped, tick or set_neighbours, for as long
  // as that lasts.
  return config_.max_idle_rounds > 0 && state_.size() == 0 && state_.context().empty();
}

const Term* SyncEngine::neighbour_of(const Term& originator) const {
  // The neighbour an originator is: its pid, or the {Name, Node} we sync to.
  const Pid* pid = originator.as_pid();
  for (const Term& n : neighbours_) {
    if (n == originator ||
        (pid && n.is_tuple(2) && n.tuple_elements()[1].is_atom() && *n.tuple_elements()[1].as_atom() == pid->node))
      return &n;
  }
  return nullptr;
}

void SyncEngine::forget(const Term& n) {
  awaiting_ack_.erase(n);
  skipped_rounds_.erase(n);
  deferred_rounds_.erase(n);
  round_seq_.erase(n);
  synced_seq_.erase(n);
  idle_skips_.erase(n);
  open_peer_round_.erase(n);
}

SyncActions SyncEngine::handle_message(const Term& m) {
  SyncActions out;
  if (m.is_atom("sync")) return on_sync_timer();
  if (m.is_record("$gen_cast", 2)) {
    const Term& req = m.tuple_elements()[1];
    Result<void> applied = req.is_record("operation", 2) ? apply_operation(req.tuple_elements()[1], out)
                                                         : Result<void>(CrdtErrc::malformed_operation);
    if (!applied)
      out.push_back(warn("dropped cast " + describe(req) + (applied.what().empty() ? "" : ": " + applied.what())));
    return out;
  }
  if (m.is_record("ack_diff", 2)) {
    // The acked neighbour: as named, or for a pid (a peer that answers from
    // its pid, see SyncConfig::answer_from_self) the {Name, Node} on its node.
    const Term* known = neighbour_of(m.tuple_elements()[1]);
    const Term n = known ? *known : m.tuple_elements()[1];
    awaiting_ack_.erase(n);
    skipped_rounds_.erase(n);
    deferred_rounds_.erase(n);
    if (auto r = round_seq_.find(n); r != round_seq_.end()) synced_seq_[n] = r->second;
    return out;
  }
  if (waits_while_busy(m)) {
    // A diff compares Merkle hashes: those of local changes since the last
    // round (a burst of registrations: 100 000 fresh keys were a 250 ms turn
    // at 500 000 names) are computed in steps first, the diff waiting.
    if (busy() || (config_.slice_chunk_keys > 0 && m.is_record("diff", 2) && !state_.update_hashes(0))) {
      wait(m);
    } else {
      handle_remote(m, out);
    }
    if (busy()) ask_to_continue(out);
    return out;
  }
  if (m.is_record("set_neighbours", 2)) {
    const Term& list = m.tuple_elements()[1];
    if (!list.is_proper_list()) {
      out.push_back(warn("set_neighbours with a non-list: " + describe(list)));
      return out;
    }
    auto el = list.list_elements();
    return set_neighbours(std::vector<Term>(el.begin(), el.end()));
  }
  out.push_back(warn("dropped unexpected message " + describe(m)));
  return out;
}

bool SyncEngine::waits_while_busy(const Term& m) {
  return m.is_record("diff", 2) || m.is_record("diff", 3) || m.is_record("get_diff", 3);
}

void SyncEngine::handle_remote(const Term& m, SyncActions& out) {
  if (m.is_record("diff", 2)) {
    handle_diff(m.tuple_elements()[1], out);
  } else if (m.is_record("diff", 3)) {
    handle_slice(m.tuple_elements()[1], m.tuple_elements()[2], out);
  } else {
    handle_get_diff(m.tuple_elements()[1], m.tuple_elements()[2], out);
  }
}

void SyncEngine::wait(const Term& m) {
  // A waiting round start of the same originator is superseded by this
  // one: answering both would compute, ship and join the same keys twice
  // (CrdtPart skips such a round start in its mailbox the same way).
  auto originator = [](const Term& w) -> const Term* {
    if (!w.is_record("diff", 2)) return nullptr;
    const Term* cont = w.tuple_elements()[1].map_get(std::string_view("continuation"));
    if (!cont || !is_round_start(*cont)) return nullptr;
    return w.tuple_elements()[1].map_get(std::string_view("originator"));
  };
  if (const Term* o = originator(m); o && !(*o == config_.self)) {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      const Term* earlier = originator(*it);
      if (earlier && *earlier == *o) {
        it = waiting_.erase(it);
        ++superseded_total_;
      } else {
        ++it;
      }
    }
  }
  waiting_.push_back(m);
}

void SyncEngine::ask_to_continue(SyncActions& out) {
  if (continue_asked_) return;
  continue_asked_ = true;
  out.push_back(action::Continue{});
}

SyncActions SyncEngine::continue_work() {
  SyncActions out;
  continue_asked_ = false;
  if (walking_) {
    walk_step(out);
  } else if (writing_) {
    write_step(out);
  } else if (job_ || hashing_) {
    slice_step(out);
  } else if (!waiting_.empty()) {
    // The waiting messages in order, one a turn (several diffs that each
    // walk a large tree or build a large slice in one turn were a 0.4 s
    // turn). A diff compares Merkle hashes: those a join left to a slice
    // queued behind it are computed in steps first.
    if (!waiting_.front().is_record("diff", 3) && !state_.update_hashes(0)) {
      hashing_ = true;
      slice_step(out);
    } else {
      Term m = std::move(waiting_.front());
      waiting_.pop_front();
      handle_remote(m, out);
    }
  }
  if (busy()) ask_to_continue(out);
  return out;
}

SyncActions SyncEngine::handle_down(const Term& neighbour) {
  SyncActions out;
  if (monitors_.erase(neighbour) == 0) {
    out.push_back(warn("DOWN for an unmonitored process " + describe(neighbour)));
  }
  forget(neighbour);
  return out;
}

SyncActions SyncEngine::set_neighbours(std::vector<Term> list) {
  SyncActions out;
  std::set<Term> fresh(list.begin(), list.end());
  for (const Term& n : neighbours_) {
    if (!fresh.count(n) && monitors_.count(n)) out.push_back(action::Demonitor{n});
  }
  for (auto it = monitors_.begin(); it != monitors_.end();) it = fresh.count(*it) ? std::next(it) : monitors_.erase(it);
  for (const Term& n : neighbours_)
    if (!fresh.count(n)) forget(n);
  for (auto it = awaiting_ack_.begin(); it != awaiting_ack_.end();)
    it = fresh.count(*it) ? std::next(it) : awaiting_ack_.erase(it);
  if (fresh.size() > 1) changed();  // what one neighbour sent may be news to another
  neighbours_ = std::move(fresh);
  sync_to_all(out);
  return out;
}

void SyncEngine::ack_diff(const CausalDiff& d, SyncActions& out) {
  if (d.originator == d.from) {
    out.push_back(action::Send{d.originator, tuple(atom_term("ack_diff"), d.to)});
  } else if (d.originator == d.to) {
    out.push_back(action::Send{d.originator, tuple(atom_term("ack_diff"), d.from)});
  } else {
    out.push_back(warn("cannot acknowledge a diff whose originator is neither end: " + describe(d.originator)));
  }
}

void SyncEngine::handle_diff(const Term& diff_term, SyncActions& out) {
  auto parsed = CausalDiff::from_term(diff_term);
  if (!parsed) {
    out.push_back(warn("dropped {diff, _}: " + parsed.what()));
    return;
  }
  // The neighbour the sender is (its pid matched to it), else the sender.
  const Term* known = config_.backlogged ? neighbour_of(parsed->from) : nullptr;
  if (config_.backlogged && config_.backlogged(known ? *known : parsed->from)) {
    // Not answered: the answer (a continuation as large as the difference,
    // 200 MB at 1 000 000 names) would queue behind what the peer has not
    // read. The round ends here: a peer's is acknowledged (as a deferred one
    // is, below), ours is no longer awaited (the next tick after the queue
    // drains starts a fresh one).
    ++backlogged_total_;
    CausalDiff d = parsed->reversed();
    const Term n = known ? *known : d.to;  // d.to is the sender
    if (d.originator == config_.self) {
      awaiting_ack_.erase(n);
      skipped_rounds_.erase(n);
    } else {
      open_peer_round_.erase(n);
      if (config_.answer_from_self) d.from = config_.self;
      ack_diff(d, out);
    }
    return;
  }
  if (defer_peer_round(*parsed)) {
    // Acknowledged all the same: a peer that holds back its next round
    // until this one is acked (a C++ node) would otherwise stall, and with
    // both ends deferring, each would wait out its hold-back. (DeltaCrdt
    // only clears a failed send on an ack.)
    CausalDiff d = parsed->reversed();
    if (config_.answer_from_self) d.from = config_.self;
    ack_diff(d, out);
    return;
  }
  CausalDiff d = parsed->reversed();
  if (config_.answer_from_self) d.from = config_.self;  // see SyncConfig::answer_from_self
  if (config_.slice_chunk_keys == 0) {
    auto step = state_.continue_partial_diff(d.continuation, config_.depth);
    return finish_diff(std::move(d), std::move(step), out);
  }
  // In steps (see continue_work); a small diff is done in this turn.
  auto job = std::make_unique<DiffJob>();
  job->walk = state_.partial_diff_walk(std::move(d.continuation), config_.depth);
  d.continuation = Term();  // the walk's references alone keep its trees (see PartialDiffWalk)
  job->diff = std::move(d);
  walking_ = std::move(job);
  walk_step(out);
}

void SyncEngine::walk_step(SyncActions& out) {
  DiffJob& walk = *walking_;
  if (!walk.walked) {
    ++walk.steps;
    if (!walk.walk->step(config_.slice_chunk_keys * kVisitedPerChunkKey)) return;
    walk.walked = true;
    // Walked over several turns: the answer is begun in the next one (the
    // last step's walk and the answer's first write were one 54 ms turn at
    // 1 000 000 keys). A walk done in one step is answered in that turn.
    if (walk.steps > 1) return;
  }
  std::unique_ptr<DiffJob> job = std::move(walking_);
  if (job->walk->failed()) {
    return finish_diff(std::move(job->diff), Error(CrdtErrc::malformed_continuation, job->walk->error()), out);
  }
  finish_diff(std::move(job->diff), job->walk->take(), out);
}

void SyncEngine::finish_diff(CausalDiff d, Result<PartialDiffStep> step, SyncActions& out) {
  if (!step) {
    out.push_back(warn("dropped {diff, _} with a bad continuation: " + step.what()));
    ack_diff(d, out);  // lets an originator that waits for acks move on
    return;
  }
  // A peer's round stays open here until its slice arrives (it ends at the
  // peer, or with our get_diff), or until we end it without keys.
  if (config_.max_deferred_peer_rounds > 0 && !(d.originator == config_.self)) {
    if (const Term* n = neighbour_of(d.originator)) {
      if (step->done && step->keys.empty()) {
        open_peer_round_.erase(*n);
      } else {
        open_peer_round_[*n] = d.dots;
      }
    }
  }
  if (!step->done) {
    send_continuation(std::move(d), std::move(*step), out);
    return;
  }
  if (!step->keys.empty()) {
    std::vector<Term>& keys = step->keys;
    if (config_.max_sync_size && keys.size() > *config_.max_sync_size) keys.resize(*config_.max_sync_size);
    if (d.originator == d.to) {
      out.push_back(action::Send{d.to, tuple(atom_term("get_diff"), d.to_term(), Term::list(std::move(keys)))});
    } else {
      SyncActions ack;
      ack_diff(d, ack);
      send_slice(d.to, std::move(keys), d.dots, std::move(ack), out);
      return;
    }
  }
  ack_diff(d, out);
}

bool SyncEngine::defer_peer_round(const CausalDiff& received) {
  if (config_.max_deferred_peer_rounds == 0 || received.originator == config_.self ||
      !is_round_start(received.continuation))
    return false;
  const Term* neighbour = neighbour_of(received.originator);
  if (!neighbour) return false;
  // An earlier round of this peer still under way here: its slice brings
  // the news (see SyncConfig::max_deferred_peer_rounds).
  bool defer = open_peer_round_.count(*neighbour) > 0;
  if (!defer && awaiting_ack_.count(*neighbour)) {
    // A peer with dots we lack has news for us: its round is the one that
    // brings them.
    auto peer = DotContext::from_term(received.dots);
    if (!peer) return false;
    defer = true;
    for (const auto& [node, max] : peer->entries())
      if (state_.context().max(node) < max) defer = false;
  }
  if (!defer) {
    deferred_rounds_.erase(*neighbour);  // "in a row" ends with an answered round
    return false;
  }
  unsigned& dropped = deferred_rounds_[*neighbour];
  if (dropped >= config_.max_deferred_peer_rounds) {
    dropped = 0;
    open_peer_round_.erase(*neighbour);  // perhaps it ended without a slice (no keys)
    return false;
  }
  ++dropped;
  ++deferred_total_;
  return true;
}

void SyncEngine::handle_get_diff(const Term& diff_term, const Term& keys, SyncActions& out) {
  auto parsed = CausalDiff::from_term(diff_term);
  if (!parsed || !keys.is_proper_list()) {
    out.push_back(warn("dropped {get_diff, _, _}: " + (parsed ? std::string("keys is not a list") : parsed.what())));
    return;
  }
  CausalDiff d = parsed->reversed();
  SyncActions ack;
  ack_diff(d, ack);
  send_slice(d.to, keys, d.dots, std::move(ack), out);
}

void SyncEngine::send_slice(const Term& to, const Term& keys, const Term& dots, SyncActions after, SyncActions& out) {
  if (!config_.encode_slices) {
    out.push_back(action::Send{to, tuple(atom_term("diff"), state_.slice_term(keys.list_elements(), dots), keys)});
  } else if (config_.slice_chunk_keys == 0) {
    action::Send s{to, Term(), {}};
    encode_slice_message(state_, keys, dots, s.encoded);
    out.push_back(std::move(s));
  } else {
    return write_slice(to, std::make_unique<SliceWriter>(state_, keys, dots), std::move(after), out);
  }
  out.insert(out.end(), std::make_move_iterator(after.begin()), std::make_move_iterator(after.end()));
}

void SyncEngine::send_slice(const Term& to, std::vector<Term> keys, const Term& dots, SyncActions after, SyncActions& out) {
  // The keys a walk found go to the writer as they are: made into a list
  // and copied, 1 000 000 of them were 60-100 ms of one turn.
  if (!config_.encode_slices || config_.slice_chunk_keys == 0)
    return send_slice(to, Term::list(std::move(keys)), dots, std::move(after), out);
  write_slice(to, std::make_unique<SliceWriter>(state_, std::move(keys), dots), std::move(after), out);
}

void SyncEngine::write_slice(const Term& to, std::unique_ptr<SliceWriter> writer, SyncActions after, SyncActions& out) {
  auto job = std::make_unique<OutgoingJob>();
  job->to = to;
  job->writer = std::move(writer);
  job->after = std::move(after);
  start_writing(std::move(job), out);
}

void SyncEngine::send_continuation(CausalDiff d, PartialDiffStep step, SyncActions& out) {
  if (!config_.encode_continuations || config_.max_sync_size) {
    d.continuation = state_.continuation_term(step);
    if (config_.max_sync_size) d.continuation = MerkleMap::truncate_diff(d.continuation, *config_.max_sync_size);
    Term to = d.to;
    out.push_back(action::Send{std::move(to), tuple(atom_term("diff"), d.to_term())});
    return;
  }
  // {diff, %Diff{}} with the map's fields in the order the codec writes
  // them (those of the Term with an empty continuation), the continuation
  // written in their place: the fields before it now, those after it into
  // `tail`, the continuation itself now or in steps.
  static const Term continuation_atom{Atom("continuation")};
  d.continuation = Term();
  const Term shell = d.to_term();
  auto job = std::make_unique<OutgoingJob>();
  job->to = d.to;
  job->writer = state_.continuation_writer(std::move(step));
  {
    EtfWriter w(job->bytes), t(job->tail);
    w.tuple_header(2);
    w.atom(Atom("diff"));
    const auto fields = shell.map_entries();
    w.map_header(fields.size());
    bool after = false;
    for (const auto& [k, v] : fields) {
      EtfWriter& into = after ? t : w;
      into.term(k);
      if (k == continuation_atom) {
        after = true;
      } else {
        into.term(v);
      }
    }
  }
  start_writing(std::move(job), out);
}

void SyncEngine::start_writing(std::unique_ptr<OutgoingJob> job, SyncActions& out) {
  writing_ = std::move(job);
  write_step(out);  // what fits in this turn (all of a small message)
}

void SyncEngine::write_step(SyncActions& out) {
  OutgoingJob& job = *writing_;
  {
    EtfWriter w(job.bytes);
    const std::size_t budget = config_.slice_chunk_keys > 0 ? config_.slice_chunk_keys * kWrittenPerChunkKey : SIZE_MAX;
    if (!job.writer->write(w, budget)) return;
    w.raw(job.tail);
  }
  out.push_back(action::Send{std::move(job.to), Term(), std::move(job.bytes)});
  out.insert(out.end(), std::make_move_iterator(job.after.begin()), std::make_move_iterator(job.after.end()));
  writing_.reset();
}

void SyncEngine::handle_slice(const Term& slice, const Term& keys, SyncActions& out) {
  if (!KeyListReader::is_key_list(keys)) {  // a list, or one the node's decoder left encoded
    out.push_back(warn("dropped {diff, _, Keys}: Keys is not a list"));
    return;
  }
  if (!open_peer_round_.empty()) {
    static const Term dots_atom{Atom("dots")};
    if (const Term* dots = slice.is_map() ? slice.map_get(dots_atom) : nullptr)
      for (auto it = open_peer_round_.begin(); it != open_peer_round_.end();)
        it = it->second == *dots ? open_peer_round_.erase(it) : std::next(it);
  }
  if (config_.slice_chunk_keys > 0) {
    auto job = SliceJoin::start(slice, keys);
    if (!job) {
      out.push_back(warn("dropped {diff, _, Keys}: " + job.what()));
      return;
    }
    job_ = std::make_unique<SliceJoin>(std::move(*job));
    slice_step(out);
    return;
  }
  auto job = SliceJoin::start(slice, keys);  // what join_slice does, for Keys of either form
  auto r = job ? job->step(state_, 0) : Result<UpdateResult>(Error(job.error(), job.what()));
  if (!r) {
    out.push_back(warn("dropped {diff, _, Keys}: " + r.what()));
    return;
  }
  // A slice does not say who sent it: with one neighbour it came from that
  // neighbour, which holds what it sent; otherwise it may be news to the others.
  if (r->keys_changed > 0 && neighbours_.size() != 1) changed();
  notify(*r, out);
}

void SyncEngine::slice_step(SyncActions& out) {
  ++slice_steps_;
  if (!job_) {
    // The Merkle hashes of what the join changed, a piece a turn: left to
    // the next round start, those of a 100 000-key join cost that one turn
    // ~100 ms; hashed after every step, the upper levels of the tree would
    // be recomputed every step (2.5x the work).
    hashing_ = !state_.update_hashes(config_.slice_chunk_keys * kHashedPerChunkKey);
    if (!hashing_ && round_after_hashing_ && waiting_.empty()) {
      // The round the tick held back for the hashes (sync_to_all). Local
      // changes made since are hashed in this turn: there are few.
      round_after_hashing_ = false;
      state_.update_hashes();
      sync_to_all(out, true);
    }
    return;
  }
  if (job_->done() || job_->failed()) {
    // Free the slice in pieces (see SliceJoin::release), then hash.
    if (!job_->release(config_.slice_chunk_keys * kReleasedPerChunkKey)) return;
    job_.reset();
    start_hashing();
    return;
  }
  auto r = job_->step(state_, config_.slice_chunk_keys);
  if (!r) {
    // The steps before stay joined; the context is not merged (see slice_join.hpp).
    out.push_back(warn("dropped the rest of {diff, _, Keys}: " + r.what()));
  } else {
    if (r->keys_changed > 0 && neighbours_.size() != 1) changed();  // as in the one-turn join above
    notify(*r, out);
  }
  state_.update_hashes(0);  // applies this step's changes to the tree, hashes nothing
  if (r && !job_->done()) return;
  // What fits in this turn (all of a small slice), then the rest in steps.
  if (!job_->release(config_.slice_chunk_keys * kReleasedPerChunkKey / 2)) return;
  job_.reset();
  start_hashing();
}

void SyncEngine::start_hashing() {
  // The hashes that fit in this turn (all of a small slice's), then the
  // rest, in steps. Not while another slice waits next: its join changes
  // the same upper levels of the tree, which would be hashed twice (the
  // slices of a peer's overlapping rounds come in a row).
  if (!waiting_.empty() && waiting_.front().is_record("diff", 3)) return;
  hashing_ = !state_.update_hashes(config_.slice_chunk_keys * kHashedPerChunkKey / 2);
}

void SyncEngine::notify(const UpdateResult& r, SyncActions& out) {
  if (r.keys_changed > 0) out.push_back(action::Notify{r.diffs});
}

Result<void> SyncEngine::apply_operation(const Term& op, SyncActions& out) {
  // {Function, [Key | Args]} applied as AWLWWMap.Function(Key, Args..., NodeId, State)
  if (!op.is_tuple(2) || !op.tuple_elements()[0].is_atom() || !op.tuple_elements()[1].is_proper_list())
    return Error(CrdtErrc::malformed_operation, "operation is not {Function, Args}");
  const Term& fn = op.tuple_elements()[0];
  auto args = op.tuple_elements()[1].list_elements();
  if (fn.is_atom("add") && args.size() == 2) {
    changed();
    notify(state_.add(args[0], args[1], config_.node_id, clock_()), out);
    return {};
  }
  if (fn.is_atom("remove") && args.size() == 1) {
    changed();
    notify(state_.remove(args[0]), out);
    return {};
  }
  return Error(CrdtErrc::unsupported_operation, "unsupported operation " + describe(op));
}

SyncActions SyncEngine::handle_call(const Term& request, const Term& from) {
  SyncActions out;
  auto reply = [&](Term r) { out.push_back(action::Reply{from, std::move(r)}); };
  auto refuse = [&](const std::string& why) {
    out.push_back(warn("refused call " + describe(request) + ": " + why));
    reply(tuple(atom_term("error"), tuple(atom_term("unsupported"), request)));
  };
  if (request.is_atom("read")) {
    reply(state_.read());
  } else if (request.is_record("read", 2)) {
    const Term& keys = request.tuple_elements()[1];
    if (keys.is_proper_list()) {
      reply(state_.read(keys.list_elements()));
    } else {
      reply(state_.read(std::span<const Term>(&keys, 1)));
    }
  } else if (request.is_record("operation", 2)) {
    if (auto applied = apply_operation(request.tuple_elements()[1], out)) {
      reply(atom_term("ok"));
    } else {
      refuse(applied.what());
    }
  } else if (request.is_record("bulk_operation", 2) && request.tuple_elements()[1].is_proper_list()) {
    Result<void> applied;
    for (const Term& op : request.tuple_elements()[1].list_elements()) {
      applied = apply_operation(op, out);
      if (!applied) break;
    }
    if (applied) {
      reply(atom_term("ok"));
    } else {
      refuse(applied.what());
    }
  } else {
    refuse("unknown call");
  }
  return out;
}

SyncActions SyncEngine::put(const Term& key, const Term& value) {
  SyncActions out;
  changed();
  notify(state_.add(key, value, config_.node_id, clock_()), out);
  return out;
}

SyncActions SyncEngine::remove(const Term& key) {
  SyncActions out;
  changed();
  notify(state_.remove(key), out);
  return out;
}

}  // namespace hc::crdt
