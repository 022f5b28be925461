// The process table of a node: pids and references, the live processes with
// their mailboxes, their turns on the io thread, and registered names.
//
// Turn order (what the BEAM guarantees and tests rely on): a message is
// handled in a later turn than the one that delivered it, never re-entrantly;
// a process's messages are handled in delivery order; one turn handles at
// most kTurnBudget messages of one process, and none after the turn has
// taken kTurnTime, before the others get theirs (several large sync
// messages in one mailbox were one turn of their handlers' sum: 31 s at
// 1 000 000 names, with no timer or connection served meanwhile);
// an exit asked for while a process runs (Process::exit, a throw) happens
// once its callback has returned.
//
// It knows nothing of sockets, links or monitors: a process's end is handed
// to the ExitHook (the node propagates the signals), which calls finish().
// Threading: the node's io thread only. Costs: O(1) lookups by pid or name.
#pragma once

#include <chrono>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "cnode/links_monitors.hpp"
#include "cnode/process.hpp"

namespace hc::cnode {

struct ProcessEntry {
  std::unique_ptr<Process> proc;
  std::deque<Term> mailbox;
  bool scheduled = false;
  bool running = false;
  std::optional<Term> pending_exit;
  LinksMonitors lm;
  std::vector<Term> aliases;     // kept by the router; released on exit
  std::set<TimerId> timers;      // send_after timers still pending
  // Names besides the primary one (Process::add_name): a Horde role host
  // is addressed both as N and as 'N.Crdt'.
  std::vector<Atom> extra_names;
};

// What is left of a process once it has ended: the node turns it into
// exit signals, DOWN messages and cancelled timers.
struct ProcessRemains {
  Pid pid;
  LinksMonitors lm;
  std::vector<Term> aliases;
  std::vector<TimerId> timers;   // send_after and pending call timers
};

class ProcessTable {
 public:
  static constexpr int kTurnBudget = 256;
  static constexpr std::chrono::milliseconds kTurnTime{10};
  // Run `fn` in a later turn of the io thread (asio::post in the node).
  using Post = std::function<void(std::function<void()>)>;
  // A process must end with `reason` now (not inside its own callback).
  using ExitHook = std::function<void(ProcessEntry&, const Term& reason)>;

  ProcessTable(Post post, ExitHook on_exit);
  // Where a message goes once its handler returned (the node hands large
  // ones to a worker thread to free); unset: it is destroyed at once.
  using Reaper = std::function<void(Term&&)>;
  void set_reaper(Reaper r) { reaper_ = std::move(r); }
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

  // The node's name and creation (known once epmd answered): pids and refs
  // made before carry the values set then.
  void set_identity(Atom node, std::uint32_t creation) noexcept;
  Atom node() const noexcept { return node_; }
  std::uint32_t creation() const noexcept { return creation_; }
  bool is_local(const Pid& pid) const noexcept { return pid.node == node_ && pid.creation == creation_; }

  // 15-bit ids and 13-bit serials like a real node's (id 0 serial 0, the
  // null pid, is never given out).
  Pid allocate_pid();
  Reference make_ref();

  // Take `p` into the table under `pid` (alive, trapping exits if asked);
  // init() has not run yet (run_init).
  ProcessEntry& insert(const Pid& pid, std::unique_ptr<Process> p, bool trap_exit, Node* node, ProcessContext* ctx);
  // init() inside a turn of its own; exits asked for meanwhile happen after it.
  void run_init(ProcessEntry& e);
  ProcessEntry* entry(const Pid& pid);                // local, in the table (alive or exiting)
  ProcessEntry* live(const Pid& pid);                 // local and alive
  std::size_t size() const noexcept { return procs_.size(); }
  std::vector<Pid> pids() const;                      // every process in the table, any order
  template <class F>
  void for_each(F&& fn) {
    for (auto& [k, e] : procs_) fn(*e);
  }

  // Queue `msg` for `to` (local); dropped when `to` is not alive.
  void deliver(const Pid& to, Term msg);
  // Exit `e` with `reason`: now, or once its running callback has returned.
  void exit(ProcessEntry& e, const Term& reason);
  // The end of a process (from the ExitHook): terminate(reason) runs, its
  // names are released, it leaves the table (the object is destroyed in a
  // later turn, so a callback on its stack may return). nullopt when it had
  // already ended.
  std::optional<ProcessRemains> finish(ProcessEntry& e, const Term& reason);
  // Remove queued DOWN messages of monitor `ref` (demonitor's flush).
  static void flush_down(ProcessEntry& e, const Reference& ref);

  // ---- registered names (a name maps to at most one process)
  bool register_name(Atom name, const Pid& pid);      // false: taken, or pid has a name or is dead
  bool add_name(Atom name, const Pid& pid);           // a further name (see ProcessEntry::extra_names)
  bool unregister_name(Atom name);
  std::optional<Pid> whereis(Atom name) const;

  static std::uint64_t key_of(const Pid& p) noexcept { return (std::uint64_t(p.serial) << 32) | p.id; }

 private:
  void schedule(ProcessEntry& e);
  void drain(std::uint64_t key);

  Post post_;
  ExitHook on_exit_;
  Reaper reaper_;
  Atom node_;
  std::uint32_t creation_ = 0;
  std::uint64_t next_pid_ = 1;
  std::uint64_t next_ref_ = 1;
  std::uint32_t ref_salt_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<ProcessEntry>> procs_;
  std::vector<std::unique_ptr<ProcessEntry>> graveyard_;
  std::unordered_map<Atom, Pid, AtomHash> names_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hc::cnode
