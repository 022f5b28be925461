#include "horde/crdt_process.hpp"

#include <exception>
#include <random>

#include "cnode/log.hpp"
#include "cnode/node.hpp"

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

CrdtProcess::CrdtProcess(CrdtProcessOptions options) : options_(std::move(options)) {
  node_id_ = options_.node_id ? *options_.node_id : random_node_id();
  if (!options_.clock) options_.clock = [] { return crdt::beam_monotonic_ns(); };
}

CrdtProcess::~CrdtProcess() = default;

void CrdtProcess::init() {
  // DeltaCrdt traps exits: {'EXIT', _, normal} is ignored; any other exit
  // signal ends the process with that reason (DeltaCrdt crashes on it).
  set_trap_exit(true);
  crdt::SyncConfig cfg;
  cfg.node_id = node_id_;
  cfg.self = Term(self());
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
  engine_ = std::make_unique<crdt::SyncEngine>(cfg, options_.clock);
  execute(engine_->start());
}

void CrdtProcess::handle_message(const Term& message) {
  ++counters_.messages;
  try {
    if (message.is_record("DOWN", 5)) {
      // Only our neighbour monitors matter; match by reference.
      const Term& ref = message.tuple_elements()[1];
      for (auto it = monitors_.begin(); it != monitors_.end(); ++it) {
        if (Term(it->second) == ref) {
          Term neighbour = it->first;
          monitors_.erase(it);
          down(neighbour);
          return;
        }
      }
      return;  // a stale DOWN (demonitored neighbour)
    }
    if (message.is_record("EXIT", 3) && !message.tuple_elements()[2].is_atom("normal")) {
      // DeltaCrdt has no clause for these and dies with its linked owner;
      // so do we (a supervisor restarting the owner needs the name free).
      exit(message.tuple_elements()[2]);
      return;
    }
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
      if (origin && !(*origin == Term(self())) && is_round_start(message) && queued([origin](const Term& m) {
            const Term* o = diff_originator(m);
            return o && *o == *origin && is_round_start(m);
          })) {
        ++counters_.stale_diffs;
        return;
      }
    }
    if (message.is_record("get_diff", 3)) ++counters_.get_diffs_in;
    execute(engine_->handle_message(message));
  } catch (const std::exception& e) {
    ++counters_.warnings;
    HC_LOG(error) << options_.name << ": dropped a message after an internal error: " << e.what();
  }
}

void CrdtProcess::down(const Term& neighbour) {
  ++counters_.downs;
  execute(engine_->handle_down(neighbour));
}

void CrdtProcess::put(const Term& key, const Term& value) { execute(engine_->put(key, value)); }
void CrdtProcess::remove(const Term& key) { execute(engine_->remove(key)); }
void CrdtProcess::set_neighbours(std::vector<Term> neighbours) { execute(engine_->set_neighbours(std::move(neighbours))); }
Term CrdtProcess::read() const { return engine_->state().read(); }
std::optional<Term> CrdtProcess::get(const Term& key) const { return engine_->state().get(key); }

void CrdtProcess::execute(const crdt::SyncActions& actions) {
  for (const auto& a : actions) {
    if (auto* s = std::get_if<crdt::action::Send>(&a)) {
      auto dest = cnode::Dest::from_term(s->to);
      if (!dest) {
        ++counters_.warnings;
        HC_LOG(warn) << options_.name << ": cannot send to " << s->to;
        continue;
      }
      ++counters_.sends;
      if (s->message.is_record("diff", 3)) ++counters_.slices_out;
      if (s->message.is_record("diff", 2)) ++counters_.diffs_out;
      if (s->message.is_record("get_diff", 3)) ++counters_.get_diffs_out;
      send(*dest, s->message);
    } else if (auto* m = std::get_if<crdt::action::Monitor>(&a)) {
      auto dest = cnode::Dest::from_term(m->neighbour);
      if (!dest) {
        HC_LOG(warn) << options_.name << ": neighbour " << m->neighbour << " is not a process name";
        down(m->neighbour);  // forget it; the next sync tries again
        continue;
      }
      monitors_[m->neighbour] = monitor(*dest);
    } else if (auto* d = std::get_if<crdt::action::Demonitor>(&a)) {
      auto it = monitors_.find(d->neighbour);
      if (it != monitors_.end()) {
        demonitor(it->second);
        monitors_.erase(it);
      }
    } else if (auto* r = std::get_if<crdt::action::Reply>(&a)) {
      if (r->from.is_tuple(2) && r->from.tuple_elements()[0].is_pid()) {
        reply(r->from, r->reply);
      } else {
        HC_LOG(warn) << options_.name << ": cannot reply to " << r->from;
      }
    } else if (auto* n = std::get_if<crdt::action::Notify>(&a)) {
      ++counters_.notifications;
      if (options_.on_diffs) options_.on_diffs(n->diffs);
      if (options_.owner) send(*options_.owner, tuple(options_.owner_tag, crdt::changes_to_term(n->diffs)));
    } else if (auto* t = std::get_if<crdt::action::ScheduleSync>(&a)) {
      send_after(std::chrono::milliseconds(t->after_ms), Term(Atom("sync")));
    } else if (auto* w = std::get_if<crdt::action::Warning>(&a)) {
      ++counters_.warnings;
      HC_LOG(warn) << options_.name << ": " << w->text;
    }
  }
}

std::size_t CrdtProcess::memory_bytes() const { return engine_ ? engine_->state().memory_bytes() : 0; }

Term CrdtProcess::stats_term() const {
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
  s.emplace_back(Term(Atom("diffs_out")), u(counters_.diffs_out));
  s.emplace_back(Term(Atom("stale_diffs")), u(counters_.stale_diffs));
  s.emplace_back(Term(Atom("deferred_peer_rounds")), u(engine_ ? engine_->deferred_peer_rounds() : 0));
  return Term::map(std::move(s));
}

}  // namespace hc::horde
