// The router of a node: where a message to a Dest goes (a local process, a
// control message to a peer, or nowhere), the local names and aliases that
// incoming messages are addressed to.
//
// Routing rules (as the BEAM's erlang:send/2):
// - a local pid: delivered; a pid of this node's name with another creation
//   (a previous incarnation): dropped;
// - a remote pid: SEND_SENDER when the peer negotiated it or is not yet
//   connected (we offer SEND_SENDER, so a new connection has it), else SEND;
//   connecting when needed;
// - a name, or {Name, ThisNode}: the registered process, else dropped;
//   {Name, Other}: REG_SEND, connecting when needed;
// - an alias of this node: its owner while the alias is active, else
//   dropped; of a connected DFLAG_ALIAS peer: ALIAS_SEND; else dropped
//   (never connects: an alias is only ever received from a connected peer).
//
// Threading: the node's io thread. Costs: O(1) lookups; no encoding here.
#pragma once

#include <optional>
#include <unordered_map>
#include <variant>

#include "cnode/control_message.hpp"
#include "cnode/process_table.hpp"
#include "cnode/transport.hpp"

namespace hc::cnode {

struct RouteLocal {
  Pid pid;
};
struct RouteRemote {
  Atom node;
  ControlMessage control;  // the payload is the message itself
  bool auto_connect = true;
};
struct RouteNowhere {};
using Route = std::variant<RouteNowhere, RouteLocal, RouteRemote>;

class Router {
 public:
  Router(ProcessTable& procs, const Transport& peers) : procs_(procs), peers_(peers) {}

  // Where a message from `from` to `to` goes.
  Route route(const Pid& from, const Dest& to) const;
  // The local process a name or an active alias stands for.
  std::optional<Pid> local_name(Atom name) const { return procs_.whereis(name); }
  std::optional<Pid> alias_owner(const Reference& alias) const;
  // The local process a pid or a registered-name atom (MONITOR_P's ToProc)
  // stands for, nullptr when none (it may be exiting: check alive()).
  ProcessEntry* target(const Term& pid_or_name) const;

  // An active alias of `owner` (a live local process); false otherwise.
  bool add_alias(const Pid& owner, const Reference& alias);
  void remove_alias(const Reference& alias);
  // Aliases of a process that ended (ProcessRemains::aliases).
  void release(const std::vector<Term>& aliases);
  std::size_t alias_count() const noexcept { return aliases_.size(); }

 private:
  ProcessTable& procs_;
  const Transport& peers_;
  std::unordered_map<Term, Pid, TermHash> aliases_;
};

}  // namespace hc::cnode
