// What a process may do, as the node offers it: the narrow interface
// `Process` talks to (instead of reaching into the node's internals). The
// node implements it (NodeImpl); a test may implement it with a fake.
//
// Every call names the calling process (`self`) and runs on the node's io
// thread, inside or outside that process's callbacks. Costs: O(1) hash
// lookups, plus encoding when a message leaves the node.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "cnode/timer.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

class Dest;
class Process;
struct SpawnOptions;

class ProcessContext {
 public:
  virtual ~ProcessContext() = default;

  // ---- messaging and names
  virtual void send(const Pid& self, const Dest& to, const Term& message) = 0;
  // send() of a message already encoded: `body` is its external format
  // without the version byte; copied into the frame to a peer, decoded for
  // a local receiver. O(body) either way.
  virtual void send_encoded(const Pid& self, const Dest& to, std::span<const std::uint8_t> body) = 0;
  // The same, taking the bytes over: O(1) for a large body to a peer with
  // FRAGMENTS (queued as it is); otherwise as above.
  virtual void send_encoded(const Pid& self, const Dest& to, std::vector<std::uint8_t>&& body) = 0;
  virtual bool register_name(const Pid& self, Atom name) = 0;
  virtual bool add_name(const Pid& self, Atom name) = 0;
  virtual bool unregister_name(Atom name) = 0;
  // Does a message matching `pred` wait in self's mailbox?
  virtual bool queued(const Pid& self, const std::function<bool(const Term&)>& pred) = 0;

  // ---- links, monitors, exits
  virtual void link(const Pid& self, const Pid& other) = 0;
  virtual void unlink(const Pid& self, const Pid& other) = 0;
  virtual void monitor(const Pid& self, const Dest& target, const Reference& ref) = 0;
  virtual bool demonitor(const Pid& self, const Reference& ref) = 0;
  virtual void exit_self(const Pid& self, const Term& reason) = 0;       // once the current callback returns
  virtual void exit_signal(const Pid& self, const Pid& target, const Term& reason) = 0;  // erlang:exit/2

  // ---- spawning, timers, references, aliases
  virtual Pid spawn(const Pid& self, std::unique_ptr<Process> child, SpawnOptions options) = 0;
  virtual TimerId send_after(const Pid& self, std::chrono::milliseconds delay, Term message) = 0;
  virtual bool cancel_timer(const Pid& self, TimerId id) = 0;
  virtual Reference make_ref() = 0;
  virtual void add_alias(const Pid& self, const Reference& alias) = 0;
  virtual void remove_alias(const Reference& alias) = 0;
  // Can a message to an alias of `node` be sent there (this node, or a
  // connected peer that negotiated DFLAG_ALIAS)?
  virtual bool alias_reachable(Atom node) const = 0;
};

}  // namespace hc::cnode
