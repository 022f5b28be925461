#include "horde/crdt_part.hpp"

#if __has_include(<malloc.h>)
#include <malloc.h>  // malloc_trim (glibc)
#endif

#include <algorithm>
#include <random>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "crdt/merkle_map.hpp"  // is_round_start
#include "crdt/sync_decode.hpp"

namespace hc::horde {

namespace {

// The originator of a `{diff, %Diff{}}` message, or nullptr.
const Term* diff_originator(const Term& m) {
  if (!m.is_record("diff", 2)) return nullptr;
  return m.tuple_elements()[1].map_get(std::string_view("originator"));
}

// A `{diff, _}` that starts a round.
bool is_round_start(const Term& m) {
  const Term* cont = m.tuple_elements()[1].map_get(std::string_view("continuation"));
  return cont && crdt::is_round_start(*cont);
}

std::int64_t random_node_id() {
  std::random_device rd;
  std::uniform_int_distribution<std::int64_t> d(1, 1'000'000'000);
  return d(rd);
}

}  // namespace

CrdtPart::CrdtPart(CrdtPartOptions options) : options_(std::move(options)) {
  node_id_ = options_.node_id ? *options_.node_id : random_node_id();
  if (!options_.clock) options_.clock = [] { return crdt::beam_monotonic_ns(); };
}

void CrdtPart::start(cnode::Process& self) {
  crdt::SyncConfig cfg;
  cfg.node_id = node_id_;
  cfg.self = Term(self.self());
  cfg.sync_interval_ms = static_cast<std::uint32_t>(options_.sync_interval.count());
  cfg.max_sync_size = options_.max_sync_size;
  // Hold back a neighbour's next round while its previous one is
  // unacknowledged, for at most 10 intervals (see SyncConfig): keeps a
  // round that costs more than one interval from being buried under more.
  cfg.max_skipped_rounds = 10;
  // While our own round to a neighbour is unacknowledged, drop at most 3 of
  // its round starts in a row (see SyncConfig): overlapping rounds ship the
  // whole backlog each; more than 3 (~1 s) delays the peer's news too long
  // (10 measured: BEAM -> C++ at 10 000 names 4.5 s instead of ~1 s).
  cfg.max_deferred_peer_rounds = 3;
  // A peer's round ends with the process that answered its start, not with
  // a successor under our name after a restart (see SyncConfig): that
  // successor would take the round's slice as a full state and delete,
  // cluster-wide, the keys it had not received yet.
  cfg.answer_from_self = true;
  // Skip our round while it could carry nothing (see SyncConfig), at most
  // 10 ticks in a row: a round still goes out every 11 intervals (the bound
  // on any mistake in deciding that it could carry nothing). Each one costs
  // the peer a diff against our whole tree: with 3, a cold join of 100 000
  // names kept the BEAM busy with one every 1.2 s while it built our slice.
  cfg.max_idle_rounds = 10;
  cfg.slice_chunk_keys = options_.slice_chunk_keys;
  // State slices go out as bytes written from the packed records (see
  // SyncConfig::encode_slices): a 100 000-key answer to a get_diff took
  // 110-200 ms in one turn to build as Terms and encode.
  cfg.encode_slices = true;
  // So do continuations (SyncConfig::encode_continuations): answering a
  // cold peer's round at 100 000 names built a 19 MB Term tree.
  cfg.encode_continuations = true;
  // Our own rounds wait while the peer has not read what we queued for it
  // (CrdtPartOptions::max_queued_for_round). The node outlives its
  // processes; a neighbour named without a node (a local name) is never
  // held back.
  if (options_.max_queued_for_round > 0) {
    cfg.backlogged = [node = &self.node(), limit = options_.max_queued_for_round](const Term& n) {
      const Atom* at = nullptr;
      if (const Pid* p = n.as_pid()) at = &p->node;
      else if (n.is_tuple(2) && n.tuple_elements()[1].is_atom()) at = n.tuple_elements()[1].as_atom();
      return at && node->queued_bytes(*at) > limit;
    };
  }
  engine_ = std::make_unique<crdt::SyncEngine>(cfg, options_.clock);
  // A large continuation is then read in its received bytes (sync_decode.hpp):
  // decoded into Terms, one of 67 MB took up to 0.8 s of the decode worker
  // and some 200 MB. One decoder per node, whichever CRDT adds it.
  self.node().add_payload_decoder("delta_crdt.diff", crdt::decode_sync_message);
  execute(self, engine_->start());
}

bool CrdtPart::is_protocol_message(const Term& m) {
  return m.is_atom("sync") || m.is_atom(kContinue) || m.is_record("diff", 2) || m.is_record("diff", 3) || m.is_record("get_diff", 3) ||
         m.is_record("ack_diff", 2) || m.is_record("set_neighbours", 2) ||
         (m.is_record("$gen_cast", 2) && m.element(1)->is_record("operation", 2));
}

bool CrdtPart::is_crdt_call(const Term& r) {
  return r.is_atom("read") || r.is_record("read", 2) || r.is_record("operation", 2) || r.is_record("bulk_operation", 2);
}

void CrdtPart::handle_message(cnode::Process& self, const Term& message) {
  const auto t0 = std::chrono::steady_clock::now();
  if (message.is_atom(kContinue)) {
    execute(self, engine_->continue_work());
    timed(t0, message);
    return;
  }
  ++counters_.messages;
  if (message.is_atom("sync")) maybe_trim_heap();
  if (message.is_record("diff", 3)) ++counters_.slices_in;
  if (message.is_record("diff", 2)) {
    ++counters_.diffs_in;
    // A peer's round start that a newer round start of the same
    // originator, already in our mailbox, supersedes: continuing it would
    // compute, ship and join the same keys again. DeltaCrdt starts a round
    // every interval whether or not the last one finished, so a node that
    // falls behind gets several at once, each as large as the whole
    // backlog (the super-linear lag). Skipping one is a lost message to
    // DeltaCrdt, which it tolerates (no sync waits for an ack). A round
    // already under way is never cut (the newer start may itself be
    // deferred by the engine: both would be lost), nor our own rounds.
    const Term* origin = diff_originator(message);
    const bool peer_round_start = origin && !(*origin == Term(self.self())) && is_round_start(message);
    if (peer_round_start && self.queued([origin](const Term& m) {
          const Term* o = diff_originator(m);
          return o && *o == *origin && is_round_start(m);
        })) {
      ++counters_.stale_diffs;
      return;
    }
  }
  if (message.is_record("get_diff", 3)) ++counters_.get_diffs_in;
  execute(self, engine_->handle_message(message));
  timed(t0, message);
}

void CrdtPart::maybe_trim_heap() {
  if (changes_since_trim_ < kTrimAfterChanges) return;
  changes_since_trim_ = 0;
  ++counters_.heap_trims;
#ifdef __GLIBC__
  malloc_trim(0);  // a few ms for a heap of 100 MB; at most once per tick
#endif
}

void CrdtPart::timed(std::chrono::steady_clock::time_point t0, const Term& what) {
  const auto us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  if (us > counters_.longest_us) {
    counters_.longest_us = us;
    // What it was: the message's tag ({diff, _} and {diff, _, _} apart),
    // '$gen_call' for a call, the continuation atom for a step.
    const Term* tag = what.is_tuple() && what.element(0) ? what.element(0) : &what;
    counters_.longest_kind = tag->is_atom() ? *tag->as_atom() : Atom("other");
    if (what.is_record("diff", 3)) counters_.longest_kind = Atom("slice");
  }
  if (us > 50'000) ++counters_.over_50ms;
}

void CrdtPart::handle_call(cnode::Process& self, const Term& request, const Term& from) {
  const auto t0 = std::chrono::steady_clock::now();
  ++counters_.messages;
  execute(self, engine_->handle_call(request, from));
  timed(t0, Term(Atom("$gen_call")));
}

bool CrdtPart::handle_down(cnode::Process& self, const cnode::DownMessage& d) {
  for (auto it = monitors_.begin(); it != monitors_.end(); ++it) {
    if (Term(it->second) == d.ref) {
      Term neighbour = it->first;
      monitors_.erase(it);
      down(self, neighbour);
      return true;
    }
  }
  return false;
}

void CrdtPart::down(cnode::Process& self, const Term& neighbour) {
  ++counters_.downs;
  execute(self, engine_->handle_down(neighbour));
}

void CrdtPart::put(cnode::Process& self, const Term& key, const Term& value) { execute(self, engine_->put(key, value)); }
void CrdtPart::remove(cnode::Process& self, const Term& key) { execute(self, engine_->remove(key)); }
void CrdtPart::set_neighbours(cnode::Process& self, std::vector<Term> neighbours) {
  execute(self, engine_->set_neighbours(std::move(neighbours)));
}
std::optional<Term> CrdtPart::get(const Term& key) const { return engine_->state().get(key); }
Term CrdtPart::read() const { return engine_->state().read(); }

void CrdtPart::execute(cnode::Process& self, crdt::SyncActions&& actions) {
  for (auto& a : actions) {
    if (auto* s = std::get_if<crdt::action::Send>(&a)) {
      auto dest = cnode::Dest::from_term(s->to);
      if (!dest) {
        ++counters_.warnings;
        HC_LOG(warn) << options_.name << ": cannot send to " << s->to;
        continue;
      }
      ++counters_.sends;
      if (!s->encoded.empty()) {  // a state slice or a continuation (SyncConfig::encode_slices, encode_continuations)
        // {diff, Slice, Keys} or {diff, Diff}: the arity of the outer tuple
        // (SMALL_TUPLE_EXT, arity) tells which.
        ++(s->encoded.size() > 1 && s->encoded[1] == 2 ? counters_.diffs_out : counters_.slices_out);
        self.send_encoded(*dest, std::move(s->encoded));
        continue;
      }
      if (s->message.is_record("diff", 3)) ++counters_.slices_out;
      if (s->message.is_record("diff", 2)) ++counters_.diffs_out;
      if (s->message.is_record("get_diff", 3)) ++counters_.get_diffs_out;
      self.send(*dest, s->message);
    } else if (auto* m = std::get_if<crdt::action::Monitor>(&a)) {
      auto dest = cnode::Dest::from_term(m->neighbour);
      if (!dest) {
        HC_LOG(warn) << options_.name << ": neighbour " << m->neighbour << " is not a process name";
        down(self, m->neighbour);  // forget it; the next sync tries again
        continue;
      }
      monitors_[m->neighbour] = self.monitor(*dest);
    } else if (auto* d = std::get_if<crdt::action::Demonitor>(&a)) {
      auto it = monitors_.find(d->neighbour);
      if (it != monitors_.end()) {
        self.demonitor(it->second);
        monitors_.erase(it);
      }
    } else if (auto* r = std::get_if<crdt::action::Reply>(&a)) {
      if (cnode::parse_from(r->from)) {
        self.reply(r->from, r->reply);
      } else {
        HC_LOG(warn) << options_.name << ": cannot reply to " << r->from;
      }
    } else if (auto* n = std::get_if<crdt::action::Notify>(&a)) {
      ++counters_.notifications;
      changes_.insert(changes_.end(), n->diffs.begin(), n->diffs.end());
      changes_since_trim_ += n->diffs.size();
    } else if (auto* t = std::get_if<crdt::action::ScheduleSync>(&a)) {
      self.send_after(std::chrono::milliseconds(t->after_ms), Term(Atom("sync")));
    } else if (auto* w = std::get_if<crdt::action::Warning>(&a)) {
      ++counters_.warnings;
      HC_LOG(warn) << options_.name << ": " << w->text;
    } else if (std::holds_alternative<crdt::action::Continue>(a)) {
      self.send(cnode::Dest(self.self()), Term(Atom(kContinue)));  // behind what is queued
    }
  }
}

std::size_t CrdtPart::memory_bytes() const { return engine_ ? engine_->state().memory_bytes() : 0; }

Term CrdtPart::stats_term() const {
  auto u = [](std::uint64_t v) { return Term(v); };
  TermPairs s;
  s.emplace_back(Term(Atom("node_id")), Term(node_id_));
  s.emplace_back(Term(Atom("keys")), u(engine_ ? engine_->state().size() : 0));
  s.emplace_back(Term(Atom("neighbours")), u(engine_ ? engine_->neighbours().size() : 0));
  s.emplace_back(Term(Atom("monitored")), u(monitors_.size()));
  s.emplace_back(Term(Atom("messages")), u(counters_.messages));
  s.emplace_back(Term(Atom("sends")), u(counters_.sends));
  s.emplace_back(Term(Atom("notifications")), u(counters_.notifications));
  s.emplace_back(Term(Atom("warnings")), u(counters_.warnings));
  s.emplace_back(Term(Atom("downs")), u(counters_.downs));
  s.emplace_back(Term(Atom("memory_bytes")), u(memory_bytes()));
  s.emplace_back(Term(Atom("slices_in")), u(counters_.slices_in));
  s.emplace_back(Term(Atom("slices_out")), u(counters_.slices_out));
  s.emplace_back(Term(Atom("get_diffs_in")), u(counters_.get_diffs_in));
  s.emplace_back(Term(Atom("get_diffs_out")), u(counters_.get_diffs_out));
  s.emplace_back(Term(Atom("diffs_in")), u(counters_.diffs_in));
  // Round starts skipped for a newer one of the same peer: in the mailbox,
  // or among the messages waiting for a slice join (SyncEngine).
  s.emplace_back(Term(Atom("stale_diffs")),
                 u(counters_.stale_diffs + (engine_ ? engine_->superseded_rounds() : 0)));
  // Diffs left unanswered, and ticks that started no round, while the
  // peer's node had more than max_queued_for_round bytes waiting.
  s.emplace_back(Term(Atom("backlogged_diffs")), u(engine_ ? engine_->backlogged_diffs() : 0));
  s.emplace_back(Term(Atom("slice_steps")), u(engine_ ? engine_->slice_steps() : 0));
  s.emplace_back(Term(Atom("deferred_peer_rounds")), u(engine_ ? engine_->deferred_peer_rounds() : 0));
  s.emplace_back(Term(Atom("diffs_out")), u(counters_.diffs_out));
  s.emplace_back(Term(Atom("idle_rounds_skipped")), u(engine_ ? engine_->idle_rounds_skipped() : 0));
  s.emplace_back(Term(Atom("backlogged_rounds_skipped")), u(engine_ ? engine_->backlogged_rounds_skipped() : 0));
  s.emplace_back(Term(Atom("longest_handler_us")), u(counters_.longest_us));
  s.emplace_back(Term(Atom("longest_handler")), Term(counters_.longest_kind));
  s.emplace_back(Term(Atom("handlers_over_50ms")), u(counters_.over_50ms));
  s.emplace_back(Term(Atom("heap_trims")), u(counters_.heap_trims));
  return Term::map(std::move(s));
}

}  // namespace hc::horde
