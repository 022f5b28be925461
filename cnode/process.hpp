// C++ processes: lightweight actors with real Erlang pids that live on a Node.
//
// A process is an object derived from `Process`, owned by its Node. It has a
// mailbox in the sense that messages are delivered one at a time to
// `handle_message` on the node's io thread (never concurrently, never
// re-entrantly: a send to self is queued). Processes interoperate with BEAM
// processes exactly like Erlang processes do: pids, registered names, links,
// monitors, exit signals, gen_server calls.
//
// Threading: every method below runs on the node's io thread only (call them
// from inside the callbacks, or from Node::post / NodeRunner::run).
// Lifetime: the Node owns processes. After exit, the object is destroyed
// once the current callback has returned; do not keep raw pointers to it.
//
// Semantics follow Erlang (https://www.erlang.org/doc/reference_manual/processes.html):
// - a non-normal exit signal from a link (or exit/2) kills the process unless
//   it traps exits; then it arrives as {'EXIT', From, Reason}. `kill` is
//   untrappable (the process dies with reason `killed`).
// - monitor() of a dead or unknown process delivers DOWN with `noproc` at once
//   (asynchronously, as a message); of a process on an unreachable node,
//   `noconnection`.
// - DOWN messages are {'DOWN', Ref, process, Item, Reason} where Item is the
//   pid, or {Name, Node} when monitoring by name.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <variant>
#include <vector>

#include "cnode/error.hpp"
#include "cnode/timer.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

class Node;
class ProcessContext;

// {RegisteredName, NodeName}
struct RemoteName {
  Atom name;
  Atom node;
  bool operator==(const RemoteName&) const = default;
};

// Where a message, monitor or call goes: a pid, a local registered name, a
// {Name, Node} pair (any node, including this one), or a process alias.
class Dest {
 public:
  Dest(Pid pid) : v_(std::move(pid)) {}                       // NOLINT: implicit
  Dest(Atom local_name) : v_(local_name) {}                   // NOLINT: implicit
  Dest(RemoteName name) : v_(std::move(name)) {}              // NOLINT: implicit
  Dest(Reference alias) : v_(std::move(alias)) {}             // NOLINT: implicit
  Dest(Atom name, Atom node) : v_(RemoteName{name, node}) {}
  // pid | atom | {Name, Node} | reference; nullopt otherwise.
  static std::optional<Dest> from_term(const Term& t);
  Term to_term() const;  // the Erlang form (for DOWN's Item and logs)

  const Pid* pid() const noexcept { return std::get_if<Pid>(&v_); }
  const Atom* local_name() const noexcept { return std::get_if<Atom>(&v_); }
  const RemoteName* remote_name() const noexcept { return std::get_if<RemoteName>(&v_); }
  const Reference* alias() const noexcept { return std::get_if<Reference>(&v_); }

 private:
  std::variant<Pid, Atom, RemoteName, Reference> v_;
};

struct SpawnOptions {
  bool link = false;                  // link the parent and the child (spawn_link)
  std::optional<Atom> register_as;    // register the child under this name (fails if taken)
  bool trap_exit = false;             // child starts trapping exits
};

// Outcome of a gen_server call: an hc::Result<Term> — the reply, or
// Errc::timeout / noproc / noconnection / call_failed — that also keeps the
// exit reason the BEAM would raise (`timeout`, `noproc`, `noconnection`, or
// the server's exit reason, e.g. {shutdown, x}). The reason stays beside the
// code because it is what a caller forwards to Erlang ({error, Reason}) and
// the only account of a call_failed. value() on a failure throws, as
// Result's does.
class CallResult : public hc::Result<Term> {
 public:
  static CallResult success(Term reply) { return CallResult(hc::Result<Term>(std::move(reply)), Term()); }
  static CallResult failure(std::error_code code, Term reason) {
    return CallResult(hc::Result<Term>(code), std::move(reason));
  }
  // The exit reason when !ok(); an empty Term on success.
  const Term& reason() const noexcept { return reason_; }

 private:
  CallResult(hc::Result<Term> r, Term reason) : hc::Result<Term>(std::move(r)), reason_(std::move(reason)) {}
  Term reason_;
};

class Process {
 public:
  Process() = default;
  virtual ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // ---- callbacks (io thread) ---------------------------------------------
  // Called once when the process starts (self() and node() are valid).
  virtual void init() {}
  // One message from the mailbox (including {'EXIT', ...} when trapping exits,
  // {'DOWN', ...}, timer messages and gen_server traffic not consumed by call()).
  virtual void handle_message(const Term& message) = 0;
  // Called once when the process exits, with the exit reason.
  virtual void terminate(const Term& reason) { (void)reason; }

  // ---- identity -----------------------------------------------------------
  const Pid& self() const noexcept { return pid_; }
  Node& node() const noexcept { return *node_; }
  bool alive() const noexcept { return alive_; }

  // ---- messaging ----------------------------------------------------------
  void send(const Dest& to, const Term& message);
  // send() of a message already encoded: `body` is its external format
  // without the version byte (131), e.g. crdt::encode_slice_message's
  // bytes; they go into the frame as they are (decoded only for a local
  // receiver or a peer still being dialled). The caller guarantees a
  // well-formed term: a body that does not decode is dropped with a log line.
  void send_encoded(const Dest& to, std::span<const std::uint8_t> body);
  // The same, taking the bytes over: to a peer, a large body is queued and
  // written from as it is (no copy of it in this turn; freed after the
  // write, off the io thread when large).
  void send_encoded(const Dest& to, std::vector<std::uint8_t>&& body);
  // Register/unregister a local name (false when taken / not registered).
  bool register_name(Atom name);
  bool unregister_name();
  // An additional registered name (not in Erlang, where a process has at
  // most one): one process answering under two names, as a Horde role host
  // does for N and 'N.Crdt'. False when taken. Dropped when the process exits.
  bool add_name(Atom name);
  std::optional<Atom> registered_name() const noexcept { return name_; }

  // ---- links, monitors, exits --------------------------------------------
  void link(const Pid& other);
  void unlink(const Pid& other);
  // Monitor a pid, a local name, or {Name, Node}. DOWN arrives as a message.
  Reference monitor(const Dest& target);
  // Remove a monitor (and drop a DOWN for it that is already queued: flush).
  bool demonitor(const Reference& ref);
  // Exit self with `reason` once the current callback returns.
  void exit(const Term& reason);
  // Send an exit signal to `target` (like erlang:exit/2).
  void exit(const Pid& target, const Term& reason);
  void set_trap_exit(bool on) noexcept { trap_exit_ = on; }
  bool trap_exit() const noexcept { return trap_exit_; }

  // ---- spawning -----------------------------------------------------------
  Pid spawn(std::unique_ptr<Process> child, SpawnOptions options = {});
  template <class P, class... Args>
  Pid spawn(SpawnOptions options, Args&&... args) {
    return spawn(std::make_unique<P>(std::forward<Args>(args)...), std::move(options));
  }

  // ---- mailbox --------------------------------------------------------------
  // Whether a message matching `pred` waits in this process's mailbox, behind
  // the one being handled (what `process_info(self(), messages)` lets an
  // Erlang process see). Lets a process skip work a later message makes moot.
  bool queued(const std::function<bool(const Term&)>& pred);

  // ---- timers -------------------------------------------------------------
  // Deliver `message` to self after `delay` (like erlang:send_after/3).
  TimerId send_after(std::chrono::milliseconds delay, Term message);
  bool cancel_timer(TimerId id);

  // ---- references and aliases ---------------------------------------------
  Reference make_ref();
  // A process alias: messages sent to it reach this process until unalias().
  Reference alias();
  void unalias(const Reference& alias);

  // ---- gen_server interop -------------------------------------------------
  using CallCallback = std::function<void(CallResult)>;
  // gen_server:call(Server, Request, Timeout): sends {'$gen_call', {self(),
  // [alias | Ref]}, Request}, monitors the server, and calls `done` exactly once
  // with the reply or an error (timeout, noproc, noconnection, exit reason).
  // The reply message is consumed (handle_message does not see it).
  void call(const Dest& server, const Term& request, std::chrono::milliseconds timeout, CallCallback done);
  // gen_server:cast(Server, Request): sends {'$gen_cast', Request}.
  void cast(const Dest& server, const Term& request);
  // gen_server:reply(From, Reply) for From = {Pid, Tag} from a '$gen_call'.
  // Tag [alias | Ref] (OTP 24+): sent to the alias as {Tag, Reply} (as OTP 25
  // gen:reply/2 does); plain Tag: {Tag, Reply} sent to Pid.
  void reply(const Term& from, const Term& reply);

 private:
  friend class ProcessTable;  // sets the identity below, runs the callbacks
  struct PendingCall {
    Reference monitor;
    TimerId timer = 0;
    CallCallback done;
  };
  // Returns true when `message` was a reply/DOWN consumed by a pending call.
  bool intercept_call_message(const Term& message);
  void finish_call(const Reference& tag, CallResult result);

  Node* node_ = nullptr;
  ProcessContext* ctx_ = nullptr;  // what this process may do (process_context.hpp)
  Pid pid_;
  bool alive_ = false;
  bool trap_exit_ = false;
  std::optional<Atom> name_;
  std::unordered_map<Term, PendingCall, TermHash> calls_;   // key: the call's Ref (the monitor ref)
};

// A process whose behaviour is a lambda, handy in tests and small helpers.
class FunctionProcess final : public Process {
 public:
  using Handler = std::function<void(Process& self, const Term& message)>;
  using Init = std::function<void(Process& self)>;
  explicit FunctionProcess(Handler handler, Init init = {}) : handler_(std::move(handler)), init_(std::move(init)) {}
  void init() override {
    if (init_) init_(*this);
  }
  void handle_message(const Term& message) override { handler_(*this, message); }

 private:
  Handler handler_;
  Init init_;
};

}  // namespace hc::cnode
