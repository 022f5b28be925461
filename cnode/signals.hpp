// Links, monitors and exit signals between processes, local and remote: the
// semantics of https://www.erlang.org/doc/reference_manual/processes.html
// over the bookkeeping of links_monitors.hpp.
//
// - exit signals: `kill` (not from a link) kills untrappably (reason
//   `killed`); a process trapping exits gets {'EXIT', From, Reason}; a
//   `normal` one is ignored unless a process sends it to itself; any other
//   kills. A link signal from a process no longer linked is ignored.
// - linking to a dead local process: an exit `noproc` at once; to a node
//   that cannot be reached: `noconnection`.
// - a monitor of a dead or unknown target gives DOWN `noproc` (as a message);
//   of a target on an unreachable node, `noconnection`.
// - a node going down: every link to it gives an exit `noconnection`, every
//   monitor of a process there a DOWN `noconnection`.
//
// Remote signals go out as control messages through the Transport.
// Threading: the node's io thread. Costs: O(1) per signal, node_down walks
// every process.
#pragma once

#include <cstdint>

#include "cnode/process_table.hpp"
#include "cnode/router.hpp"
#include "cnode/transport.hpp"

namespace hc::cnode {

class Signals {
 public:
  Signals(ProcessTable& procs, const Router& router, Transport& transport)
      : procs_(procs), router_(router), transport_(transport) {}

  // An exit signal from `from` to `to` (local or remote); `from_link`: the
  // signal of a link (EXIT), else erlang:exit/2 (EXIT2).
  void exit_signal(const Pid& from, const Pid& to, const Term& reason, bool from_link);
  void link(const Pid& a, const Pid& b);             // a: local
  void unlink(const Pid& a, const Pid& b);
  void monitor(const Pid& watcher, const Dest& target, const Reference& ref);
  bool demonitor(const Pid& watcher, const Reference& ref);  // and flush its queued DOWN
  // A process ended with `reason`: exits to its links, DOWN to its watchers,
  // its own monitors removed.
  void process_ended(const ProcessRemains& remains, const Term& reason);
  // The connection to `node` is gone (or never came up).
  void node_down(Atom node, const Term& reason);

  // ---- from a peer (`node`)
  void incoming_link(Atom node, const ctrl::Link& m);
  void incoming_unlink(const Pid& from, const Pid& to);
  void incoming_monitor(Atom node, const ctrl::MonitorP& m);
  void incoming_demonitor(const ctrl::DemonitorP& m);
  void incoming_down(const Reference& ref, const Pid& to, const Term& reason);

 private:
  ProcessTable& procs_;
  const Router& router_;
  Transport& transport_;
  // Per node (this io thread): a process-wide counter would be shared,
  // unsynchronised, by every node in the process.
  std::uint64_t next_unlink_id_ = 1;
};

}  // namespace hc::cnode
