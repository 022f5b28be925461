#include "cnode/signals.hpp"

#include "cnode/flags.hpp"

namespace hc::cnode {
namespace {
const Atom& a_normal() { static const Atom a("normal"); return a; }
const Atom& a_kill() { static const Atom a("kill"); return a; }
const Atom& a_killed() { static const Atom a("killed"); return a; }
const Atom& a_noproc() { static const Atom a("noproc"); return a; }
const Atom& a_noconnection() { static const Atom a("noconnection"); return a; }
}  // namespace

void Signals::exit_signal(const Pid& from, const Pid& to, const Term& reason, bool from_link) {
  if (!procs_.is_local(to)) {
    if (from_link) transport_.send_ctrl(to.node, ctrl::Exit{from, to, reason}, nullptr, false);
    else transport_.send_ctrl(to.node, ctrl::Exit2{from, to, reason}, nullptr);
    return;
  }
  ProcessEntry* e = procs_.live(to);
  if (!e) return;
  if (from_link && e->lm.links.erase(from) == 0) return;  // not linked (any more): ignored
  if (!from_link && reason == Term(a_kill())) {
    procs_.exit(*e, Term(a_killed()));
  } else if (e->proc->trap_exit()) {
    procs_.deliver(to, make_exit_message(from, reason));
  } else if (reason == Term(a_normal())) {
    if (!from_link && from == to) procs_.exit(*e, reason);
  } else {
    procs_.exit(*e, reason);
  }
}

void Signals::link(const Pid& a, const Pid& b) {
  ProcessEntry* ea = procs_.entry(a);
  if (!ea || a == b) return;
  if (procs_.is_local(b)) {
    ProcessEntry* eb = procs_.live(b);
    ea->lm.links.insert(b);
    if (!eb) {
      exit_signal(b, a, Term(a_noproc()), true);
      return;
    }
    eb->lm.links.insert(a);
    return;
  }
  ea->lm.links.insert(b);
  if (transport_.is_connected(b.node)) {
    transport_.send_ctrl(b.node, ctrl::Link{a, b}, nullptr);
  } else {
    transport_.connect(b.node, [this, a, b](std::error_code ec) {
      if (ec) exit_signal(b, a, Term(a_noconnection()), true);
      else transport_.send_ctrl(b.node, ctrl::Link{a, b}, nullptr, false);
    });
  }
}

void Signals::unlink(const Pid& a, const Pid& b) {
  ProcessEntry* ea = procs_.entry(a);
  if (!ea) return;
  ea->lm.links.erase(b);
  if (procs_.is_local(b)) {
    if (ProcessEntry* eb = procs_.entry(b)) eb->lm.links.erase(a);
    return;
  }
  if (transport_.peer_flags(b.node) & dflag::UNLINK_ID)
    transport_.send_ctrl(b.node, ctrl::UnlinkId{next_unlink_id_++, a, b}, nullptr, false);
  else
    transport_.send_ctrl(b.node, ctrl::Unlink{a, b}, nullptr, false);
}

void Signals::monitor(const Pid& watcher, const Dest& target, const Reference& ref) {
  ProcessEntry* we = procs_.entry(watcher);
  if (!we) return;
  const Atom self = procs_.node();
  const Term key(ref);
  auto local_target = [&](const Pid& p, const Term& monitored, const Term& item) {
    ProcessEntry* te = procs_.live(p);
    if (!te) {
      procs_.deliver(watcher, make_down(ref, item, Term(a_noproc())));
      return;
    }
    te->lm.watchers[key] = Watcher{watcher, monitored};
    we->lm.monitors[key] = OutgoingMonitor{Term(p), self, item};
  };
  auto remote_target = [&](Atom node, const Term& target_term, const Term& item) {
    we->lm.monitors[key] = OutgoingMonitor{target_term, node, item};
    if (transport_.is_connected(node)) {
      transport_.send_ctrl(node, ctrl::MonitorP{watcher, target_term, ref}, nullptr, false);
      return;
    }
    transport_.connect(node, [this, node, watcher, target_term, ref](std::error_code ec) {
      if (ec) incoming_down(ref, watcher, Term(a_noconnection()));
      else transport_.send_ctrl(node, ctrl::MonitorP{watcher, target_term, ref}, nullptr, false);
    });
  };
  if (auto p = target.pid()) {
    if (p->node == self) local_target(*p, Term(*p), Term(*p));
    else remote_target(p->node, Term(*p), Term(*p));
  } else if (auto a = target.local_name()) {
    Term item = tuple(*a, self);
    if (auto p2 = procs_.whereis(*a)) local_target(*p2, Term(*a), item);
    else procs_.deliver(watcher, make_down(ref, item, Term(a_noproc())));
  } else if (auto rn = target.remote_name()) {
    Term item = tuple(rn->name, rn->node);
    if (rn->node == self) {
      if (auto p2 = procs_.whereis(rn->name)) local_target(*p2, Term(rn->name), item);
      else procs_.deliver(watcher, make_down(ref, item, Term(a_noproc())));
    } else {
      remote_target(rn->node, Term(rn->name), item);
    }
  } else {
    procs_.deliver(watcher, make_down(ref, target.to_term(), Term(a_noproc())));
  }
}

bool Signals::demonitor(const Pid& watcher, const Reference& ref) {
  ProcessEntry* we = procs_.entry(watcher);
  if (!we) return false;
  const Term key(ref);
  auto it = we->lm.monitors.find(key);
  const bool found = it != we->lm.monitors.end();
  if (found) {
    auto m = it->second;
    we->lm.monitors.erase(it);
    if (m.node == procs_.node()) {
      if (auto tp = m.target.as_pid())
        if (ProcessEntry* te = procs_.entry(*tp)) te->lm.watchers.erase(key);
    } else {
      transport_.send_ctrl(m.node, ctrl::DemonitorP{watcher, m.target, ref}, nullptr, false);
    }
  }
  ProcessTable::flush_down(*we, ref);
  return found;
}

void Signals::process_ended(const ProcessRemains& r, const Term& reason) {
  const Pid& self = r.pid;
  for (const auto& l : r.lm.links) {
    if (procs_.is_local(l)) exit_signal(self, l, reason, true);
    else transport_.send_ctrl(l.node, ctrl::Exit{self, l, reason}, nullptr, false);
  }
  for (const auto& [ref, w] : r.lm.watchers) {
    if (procs_.is_local(w.watcher)) {
      Term item = w.monitored.is_atom() ? tuple(w.monitored, procs_.node()) : w.monitored;
      if (ProcessEntry* we = procs_.entry(w.watcher)) {
        we->lm.monitors.erase(ref);
        procs_.deliver(w.watcher, make_down(*ref.as_reference(), item, reason));
      }
    } else {
      transport_.send_ctrl(w.watcher.node, ctrl::MonitorPExit{w.monitored, w.watcher, *ref.as_reference(), reason},
                           nullptr, false, &self);  // monitored by name: still this process's signal
    }
  }
  for (const auto& [ref, m] : r.lm.monitors) {
    if (m.node == procs_.node()) {
      if (auto tp = m.target.as_pid())
        if (ProcessEntry* te = procs_.entry(*tp)) te->lm.watchers.erase(ref);
    } else {
      transport_.send_ctrl(m.node, ctrl::DemonitorP{self, m.target, *ref.as_reference()}, nullptr, false);
    }
  }
}

void Signals::node_down(Atom node, const Term& reason) {
  std::vector<std::pair<Pid, Pid>> link_exits;  // (remote, local)
  std::vector<std::tuple<Pid, Reference, Term>> downs;
  procs_.for_each([&](ProcessEntry& e) {
    for (const auto& l : e.lm.links)
      if (l.node == node) link_exits.emplace_back(l, e.proc->self());
    for (auto it = e.lm.monitors.begin(); it != e.lm.monitors.end();) {
      if (it->second.node == node) {
        downs.emplace_back(e.proc->self(), *it->first.as_reference(), it->second.item);
        it = e.lm.monitors.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = e.lm.watchers.begin(); it != e.lm.watchers.end();) {
      if (it->second.watcher.node == node) it = e.lm.watchers.erase(it);
      else ++it;
    }
  });
  for (auto& [pid, ref, item] : downs) procs_.deliver(pid, make_down(ref, item, reason));
  for (auto& [remote, local] : link_exits) exit_signal(remote, local, reason, true);
}

void Signals::incoming_link(Atom node, const ctrl::Link& m) {
  if (ProcessEntry* e = procs_.live(m.to)) e->lm.links.insert(m.from);
  else transport_.send_ctrl(node, ctrl::Exit{m.to, m.from, Term(a_noproc())}, nullptr, false);
}

void Signals::incoming_unlink(const Pid& from, const Pid& to) {
  if (ProcessEntry* e = procs_.entry(to)) e->lm.links.erase(from);
}

void Signals::incoming_monitor(Atom node, const ctrl::MonitorP& m) {
  ProcessEntry* e = router_.target(m.to_proc);
  if (e && e->proc->alive()) {
    e->lm.watchers[Term(m.ref)] = Watcher{m.from, m.to_proc};
    return;
  }
  transport_.send_ctrl(node, ctrl::MonitorPExit{m.to_proc, m.from, m.ref, Term(a_noproc())}, nullptr, false);
}

void Signals::incoming_demonitor(const ctrl::DemonitorP& m) {
  if (ProcessEntry* e = router_.target(m.to_proc)) e->lm.watchers.erase(Term(m.ref));
}

void Signals::incoming_down(const Reference& ref, const Pid& to, const Term& reason) {
  ProcessEntry* e = procs_.entry(to);
  if (!e) return;
  auto it = e->lm.monitors.find(Term(ref));
  if (it == e->lm.monitors.end()) return;
  Term item = it->second.item;
  e->lm.monitors.erase(it);
  procs_.deliver(to, make_down(ref, item, reason));
}

}  // namespace hc::cnode
