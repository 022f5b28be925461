// The one host of a Horde role on the C++ node: a process registered as N
// and as 'N.Crdt' that owns the role's DeltaCrdt (CrdtPart) and runs the
// role's pure state machine (RegistryState, sup::SupervisorState) on it.
//
// One turn = one message (or one local API call): the host parses the OTP
// envelope once (cnode/gen_server.hpp: '$gen_call', '$gen_cast', 'DOWN',
// 'EXIT'), gives DeltaCrdt traffic to the CrdtPart and everything else to
// the role, executes the role's actions (CRDT operations apply to the
// CrdtPart directly), and before the turn ends hands every change the CRDT
// reported (crdt::KeyChange, DeltaCrdt's on_diffs) to the role, until no
// more come. Horde gets the same changes one message later
// ({crdt_update, Diffs}); nothing can run in between here either way.
//
// Crashes: an exception escaping a turn, an exit signal, or a plain
// {'EXIT', From, Reason} message from a process the role is not linked to
// (DeltaCrdt stops on that message; we cannot tell which of our two names
// it was sent to) end the host; its RoleSupervisor (role_supervisor.hpp)
// restarts it, and the new host rejoins the members and resyncs with a new
// CRDT node id, as a restarted DeltaCrdt does. What a role keeps across the
// restart goes through its RoleCarry (written in on_stop).
//
// Threading: io thread only. Lifetime: owned by the Node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnode/gen_server.hpp"
#include "horde/crdt_part.hpp"
#include "horde/role_supervisor.hpp"

namespace hc::horde {

class RoleHost : public cnode::Process {
 public:
  RoleHost(Atom name, std::string kind, CrdtPartOptions crdt, std::shared_ptr<RoleCarry> carry);
  ~RoleHost() override;

  void init() final;
  void handle_message(const Term& message) final;
  void terminate(const Term& reason) final;

  Atom role_name() const noexcept { return name_; }
  const CrdtPart& crdt() const noexcept { return crdt_; }

 protected:
  // ---- the role ---------------------------------------------------------------
  virtual void on_start() = 0;
  // A gen_server call on N; the reply, or nullopt when answered later.
  virtual std::optional<Term> on_call(const Term& request, const Term& from) = 0;
  virtual void on_cast(const Term& request) { (void)request; }
  // Messages that are neither calls, casts, DeltaCrdt traffic nor handled
  // DOWN/EXIT.
  virtual void on_info(const Term& message) { (void)message; }
  // {'EXIT', From, Reason}: true when From is a process of the role (e.g. a
  // linked registered process); otherwise the host treats a non-normal
  // reason as the CRDT's crash.
  virtual bool on_exit(const cnode::ExitMessage& exit) { (void)exit; return false; }
  // A DOWN that is not for a CRDT neighbour monitor.
  virtual void on_down(const cnode::DownMessage& down) { (void)down; }
  // The visible nodes changed (after follow_visible_nodes()).
  virtual void on_nodes_changed() {}
  // What the CRDT changed, in order, within the turn that changed it, as
  // the one diff type the roles' state machines take (crdt::KeyChange,
  // horde's CrdtDiff): handed over as it is, never converted.
  virtual void on_crdt_changes(std::vector<crdt::KeyChange> changes) = 0;
  // The host is exiting (any reason, `kill` included): write the carry.
  virtual void on_stop(const Term& reason) { (void)reason; }

  // ---- services for the role -----------------------------------------------------------
  void crdt_put(const Term& key, const Term& value) { crdt_.put(*this, key, value); }
  void crdt_remove(const Term& key) { crdt_.remove(*this, key); }
  void crdt_set_neighbours(std::vector<Term> neighbours) { crdt_.set_neighbours(*this, std::move(neighbours)); }
  std::optional<Term> crdt_get(const Term& key) const { return crdt_.get(key); }
  // Horde's NodeListener (members: :auto): on_nodes_changed after every
  // nodeup/nodedown of a visible node.
  void follow_visible_nodes();
  RoleCarry& carry() noexcept { return *carry_; }

 public:
  // One turn from outside the mailbox (the C++ API of a role, called from
  // another process on this io thread): runs `f`, then the CRDT changes it
  // caused. An exception crashes this host (not the caller); `f` then has
  // not completed and the function returns false.
  template <class F>
  bool turn(F&& f) {
    ++depth_;
    bool ok = true;
    try {
      f();
      if (depth_ == 1) flush_changes();
    } catch (const std::exception& e) {
      ok = false;
      crash(e.what());
    }
    --depth_;
    return ok;
  }

 private:
  void dispatch(const Term& message);
  void flush_changes();
  void crash(const std::string& what);

  Atom name_;
  std::string kind_;
  CrdtPart crdt_;
  std::shared_ptr<RoleCarry> carry_;
  int depth_ = 0;
  std::uint64_t node_monitor_ = 0;
};

}  // namespace hc::horde
