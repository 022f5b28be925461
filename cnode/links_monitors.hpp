// Per-process link and monitor bookkeeping (the data; the node applies the
// signal semantics). https://www.erlang.org/doc/reference_manual/processes.html#links
//
// - links: the set of pids (local or remote) this process is linked to.
// - watchers: monitors *on* this process, by anyone: Ref -> who watches and the
//   item they monitored (the pid, or the name atom when monitored by name).
// - monitors: monitors *by* this process: Ref -> the target and its node, and
//   the DOWN item ({Name, Node} when by name, else the pid).
#pragma once

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cnode/hashes.hpp"
#include "cnode/pid_set.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

struct Watcher {
  Pid watcher;       // the monitoring process
  Term monitored;    // pid, or the registered name atom (MONITOR_P ToProc)
};

struct OutgoingMonitor {
  Term target;       // pid, or name atom (what MONITOR_P carries)
  Atom node;         // where the target lives
  Term item;         // DOWN's Item: the pid, or {Name, Node}
};

struct LinksMonitors {
  PidSet links;  // sharded: a registry links every registrant (pid_set.hpp)
  std::unordered_map<Term, Watcher, TermHash> watchers;          // key: monitor reference
  std::unordered_map<Term, OutgoingMonitor, TermHash> monitors;  // key: monitor reference
};

// {'DOWN', Ref, process, Item, Reason}
Term make_down(const Reference& ref, const Term& item, const Term& reason);
// {'EXIT', From, Reason}
Term make_exit_message(const Pid& from, const Term& reason);

}  // namespace hc::cnode
