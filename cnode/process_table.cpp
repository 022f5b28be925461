#include "cnode/process_table.hpp"

#include <random>

#include "cnode/log.hpp"

namespace hc::cnode {

ProcessTable::ProcessTable(Post post, ExitHook on_exit)
    : post_(std::move(post)), on_exit_(std::move(on_exit)), ref_salt_(std::random_device{}()) {}

ProcessTable::~ProcessTable() { *alive_ = false; }

void ProcessTable::set_identity(Atom node, std::uint32_t creation) noexcept {
  node_ = node;
  creation_ = creation;
}

Pid ProcessTable::allocate_pid() {
  std::uint64_t n = next_pid_++;
  Pid p;
  p.node = node_;
  p.id = std::uint32_t(n & 0x7fff);
  p.serial = std::uint32_t((n >> 15) & 0x1fff);
  p.creation = creation_;
  if (p.id == 0 && p.serial == 0) return allocate_pid();
  return p;
}

Reference ProcessTable::make_ref() {
  std::uint64_t n = next_ref_++;
  Reference r;
  r.node = node_;
  r.creation = creation_;
  r.ids = {std::uint32_t(n & 0x3ffff), std::uint32_t(n >> 18), ref_salt_};
  return r;
}

ProcessEntry& ProcessTable::insert(const Pid& pid, std::unique_ptr<Process> p, bool trap_exit, Node* node,
                                   ProcessContext* ctx) {
  auto owned = std::make_unique<ProcessEntry>();
  ProcessEntry& e = *owned;
  p->node_ = node;
  p->ctx_ = ctx;
  p->pid_ = pid;
  p->alive_ = true;
  p->trap_exit_ = trap_exit;
  e.proc = std::move(p);
  procs_.emplace(key_of(pid), std::move(owned));
  return e;
}

void ProcessTable::run_init(ProcessEntry& e) {
  e.running = true;
  try {
    e.proc->init();
  } catch (const std::exception& ex) {
    e.pending_exit = tuple(Atom("cpp_exception"), Term::binary(ex.what()));
  }
  e.running = false;
  if (e.pending_exit) {
    on_exit_(e, *e.pending_exit);
  } else if (!e.mailbox.empty()) {
    schedule(e);  // messages init() sent to itself
  }
}

ProcessEntry* ProcessTable::entry(const Pid& pid) {
  if (!is_local(pid)) return nullptr;
  auto it = procs_.find(key_of(pid));
  return it == procs_.end() ? nullptr : it->second.get();
}

ProcessEntry* ProcessTable::live(const Pid& pid) {
  ProcessEntry* e = entry(pid);
  return e && e->proc->alive() ? e : nullptr;
}

std::vector<Pid> ProcessTable::pids() const {
  std::vector<Pid> out;
  out.reserve(procs_.size());
  for (const auto& [k, e] : procs_) out.push_back(e->proc->self());
  return out;
}

void ProcessTable::schedule(ProcessEntry& e) {
  if (e.scheduled || e.running) return;
  e.scheduled = true;
  post_([this, key = key_of(e.proc->self()), alive = alive_] {
    if (*alive) drain(key);
  });
}

void ProcessTable::deliver(const Pid& to, Term msg) {
  ProcessEntry* e = live(to);
  if (!e) return;
  e->mailbox.push_back(std::move(msg));
  schedule(*e);
}

void ProcessTable::drain(std::uint64_t key) {
  auto it = procs_.find(key);
  if (it == procs_.end()) return;
  ProcessEntry& e = *it->second;
  e.scheduled = false;
  const auto until = std::chrono::steady_clock::now() + kTurnTime;
  for (int budget = 0; budget < kTurnBudget && !e.mailbox.empty() && e.proc->alive(); ++budget) {
    if (budget > 0 && std::chrono::steady_clock::now() >= until) break;
    Term msg = std::move(e.mailbox.front());
    e.mailbox.pop_front();
    e.running = true;
    try {
      if (!e.proc->intercept_call_message(msg)) e.proc->handle_message(msg);
    } catch (const std::exception& ex) {
      HC_LOG(error) << "process " << Term(e.proc->self()) << " threw: " << ex.what();
      if (!e.pending_exit) e.pending_exit = tuple(Atom("cpp_exception"), Term::binary(ex.what()));
    } catch (...) {
      if (!e.pending_exit) e.pending_exit = tuple(Atom("cpp_exception"), Term::binary("unknown"));
    }
    e.running = false;
    if (reaper_) reaper_(std::move(msg));
    if (e.pending_exit) {
      on_exit_(e, *e.pending_exit);
      return;
    }
  }
  if (!e.mailbox.empty() && e.proc->alive()) schedule(e);
}

void ProcessTable::exit(ProcessEntry& e, const Term& reason) {
  if (!e.proc->alive()) return;
  if (e.running) {
    if (!e.pending_exit) e.pending_exit = reason;
    return;
  }
  on_exit_(e, reason);
}

std::optional<ProcessRemains> ProcessTable::finish(ProcessEntry& e, const Term& reason) {
  Process& p = *e.proc;
  if (!p.alive_) return std::nullopt;
  p.alive_ = false;
  ProcessRemains out;
  out.pid = p.pid_;
  try {
    p.terminate(reason);
  } catch (...) {
  }
  if (p.name_) {
    names_.erase(*p.name_);
    p.name_.reset();
  }
  for (const Atom& n : e.extra_names) names_.erase(n);
  e.extra_names.clear();
  out.aliases = std::move(e.aliases);
  e.aliases.clear();
  out.timers.assign(e.timers.begin(), e.timers.end());
  e.timers.clear();
  for (auto& [tag, call] : p.calls_)
    if (call.timer) out.timers.push_back(call.timer);
  out.lm = std::move(e.lm);
  e.lm = {};
  e.mailbox.clear();
  // Out of the table first: cascading signals must see the process dead.
  // The object lives on in the graveyard until the current handler returned.
  auto it = procs_.find(key_of(out.pid));
  if (it != procs_.end()) {
    if (graveyard_.empty()) {
      post_([this, alive = alive_] {
        if (*alive) graveyard_.clear();
      });
    }
    graveyard_.push_back(std::move(it->second));
    procs_.erase(it);
  }
  return out;
}

void ProcessTable::flush_down(ProcessEntry& e, const Reference& ref) {
  const Term key(ref);
  for (auto it = e.mailbox.begin(); it != e.mailbox.end();) {
    if (it->is_record("DOWN", 5) && *it->element(1) == key) it = e.mailbox.erase(it);
    else ++it;
  }
}

bool ProcessTable::register_name(Atom name, const Pid& pid) {
  ProcessEntry* e = live(pid);
  if (!e || e->proc->name_ || names_.count(name)) return false;
  names_.emplace(name, pid);
  e->proc->name_ = name;
  return true;
}

bool ProcessTable::add_name(Atom name, const Pid& pid) {
  ProcessEntry* e = live(pid);
  if (!e || names_.count(name)) return false;
  if (!e->proc->name_) return register_name(name, pid);
  names_.emplace(name, pid);
  e->extra_names.push_back(name);
  return true;
}

bool ProcessTable::unregister_name(Atom name) {
  auto it = names_.find(name);
  if (it == names_.end()) return false;
  if (ProcessEntry* e = entry(it->second)) {
    if (e->proc->name_ == name) e->proc->name_.reset();
    std::erase(e->extra_names, name);
  }
  names_.erase(it);
  return true;
}

std::optional<Pid> ProcessTable::whereis(Atom name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hc::cnode
