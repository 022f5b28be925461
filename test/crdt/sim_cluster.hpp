// A deterministic in-memory cluster of SyncEngines for the CRDT tests:
// messages are queued and delivered by the test, optionally lost,
// duplicated or reordered by a seeded generator. Timers and monitors are
// not simulated: tests call tick() to run a sync round. An engine's
// action::Continue queues its continue_work() like a message to self
// (never lost or duplicated; reordered like the rest when reordering).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crdt/sync_engine.hpp"

namespace hc::crdt::test {

struct Faults {
  double loss = 0;
  double duplicate = 0;
  bool reorder = false;
};

class SimCluster {
 public:
  struct Member {
    Term name;  // {'Sim.Crdt', 'simN@host'}
    Term pid;
    std::unique_ptr<SyncEngine> engine;
    std::map<Term, Term> owner_view;  // built from Notify actions only
    std::size_t warnings = 0;
    std::int64_t clock = 0;
  };

  // `configure` adjusts every member's SyncConfig (node_id and self set).
  SimCluster(std::size_t n, std::uint64_t seed, std::uint32_t first_node_id = 1,
             std::function<void(SyncConfig&)> configure = {})
      : rng_(seed), configure_(std::move(configure)) {
    for (std::size_t i = 0; i < n; ++i) {
      auto m = std::make_unique<Member>();
      Atom node(("sim" + std::to_string(i) + "@host").c_str());
      m->name = tuple(Atom("Sim.Crdt"), node);
      m->pid = Term(Pid{node, 100, 0, 1});
      m->clock = -1'000'000'000 + static_cast<std::int64_t>(i);
      m->engine = make_engine(*m, first_node_id + static_cast<std::int64_t>(i) * 7919);
      members_.push_back(std::move(m));
    }
  }

  // Member i's CRDT process dies and a fresh one (empty state, node id
  // `node_id`, a new pid) takes its registered name, as after a role
  // restart: messages to the old pid are lost from now on, messages to the
  // name reach the new process. Its owner view starts empty too.
  void restart(std::size_t i, std::int64_t node_id) {
    Member& m = at(i);
    const Pid old = *m.pid.as_pid();
    m.pid = Term(Pid{old.node, old.id + 1, old.serial, old.creation});
    m.owner_view.clear();
    m.engine = make_engine(m, node_id);
  }

  std::size_t size() const { return members_.size(); }
  Member& at(std::size_t i) { return *members_[i]; }
  SyncEngine& engine(std::size_t i) { return *members_[i]->engine; }
  Faults faults;
  std::size_t delivered = 0;
  // Messages routed, by kind (before loss): continuation, get_diff, slice
  // with keys, ack.
  std::size_t sent_continuations = 0, sent_get_diffs = 0, sent_slices = 0, sent_acks = 0;

  // Everyone's neighbours are all the others.
  void connect_all() {
    for (std::size_t i = 0; i < size(); ++i) {
      std::vector<Term> ns;
      for (std::size_t j = 0; j < size(); ++j)
        if (j != i) ns.push_back(at(j).name);
      run(i, engine(i).set_neighbours(ns));
    }
  }

  void put(std::size_t i, const Term& k, const Term& v) { run(i, engine(i).put(k, v)); }
  void remove(std::size_t i, const Term& k) { run(i, engine(i).remove(k)); }
  void tick(std::size_t i) { run(i, engine(i).on_sync_timer()); }
  void tick_all() {
    for (std::size_t i = 0; i < size(); ++i) tick(i);
  }

  // Deliver one queued message (random one when reordering). False if idle.
  bool step() {
    if (queue_.empty()) return false;
    std::size_t idx = faults.reorder ? rng_() % queue_.size() : 0;
    auto [dest, msg] = queue_[idx];
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(idx));
    ++delivered;
    run(dest, msg == continue_marker() ? engine(dest).continue_work() : engine(dest).handle_message(msg));
    return true;
  }
  void deliver_all(std::size_t limit = 1'000'000) {
    for (std::size_t n = 0; n < limit && step(); ++n) {
    }
  }
  std::size_t in_flight() const { return queue_.size(); }
  std::mt19937_64& rng() { return rng_; }

  void run(std::size_t i, const SyncActions& actions) {
    for (const SyncAction& a : actions) {
      if (auto* s = std::get_if<action::Send>(&a)) {
        route(s->to, s->message);
      } else if (auto* n = std::get_if<action::Notify>(&a)) {
        for (const KeyChange& c : n->diffs) {
          if (c.kind == KeyChange::Kind::add) {
            at(i).owner_view[c.key] = c.value;
          } else {
            at(i).owner_view.erase(c.key);
          }
        }
      } else if (std::get_if<action::Warning>(&a)) {
        ++at(i).warnings;
      } else if (std::get_if<action::Continue>(&a)) {
        queue_.emplace_back(i, continue_marker());
      }
    }
  }

 private:
  static const Term& continue_marker() {
    static const Term t{Atom("$sim_continue")};
    return t;
  }
  void route(const Term& to, const Term& msg) {
    if (msg.is_record("diff", 2)) ++sent_continuations;
    if (msg.is_record("get_diff", 3)) ++sent_get_diffs;
    if (msg.is_record("diff", 3)) ++sent_slices;
    if (msg.is_record("ack_diff", 2)) ++sent_acks;
    for (std::size_t j = 0; j < size(); ++j) {
      if (to == at(j).name || to == at(j).pid) {
        std::uniform_real_distribution<double> u(0, 1);
        if (u(rng_) < faults.loss) return;
        queue_.emplace_back(j, msg);
        if (u(rng_) < faults.duplicate) queue_.emplace_back(j, msg);
        return;
      }
    }
  }

  std::unique_ptr<SyncEngine> make_engine(Member& m, std::int64_t node_id) {
    SyncConfig cfg;
    cfg.node_id = node_id;
    cfg.self = m.pid;
    if (configure_) configure_(cfg);
    Member* raw = &m;
    return std::make_unique<SyncEngine>(cfg, [raw] { return raw->clock += 1000; });
  }

  std::mt19937_64 rng_;
  std::function<void(SyncConfig&)> configure_;
  std::vector<std::unique_ptr<Member>> members_;
  std::deque<std::pair<std::size_t, Term>> queue_;
};

}  // namespace hc::crdt::test
