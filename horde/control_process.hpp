// `horde_cnode`: the control process through which BEAM-side tests and tools
// drive the C++ node (gen_server calls, exact reply shapes).
//
// Requests are dispatched through a handler table keyed by the request's
// tag: the atom itself for atom requests (`stats`), the first element for
// tuple requests (`{spawn_echo}`, `{register, ...}`). Roles add their own
// handlers without touching the others':
//
//   ControlProcess* control = ensure_control_process(node);  // spawned once
//   install_registry_handlers(*control);        // this file
//   install_supervisor_handlers(*control, ...); // the supervisor role's file
//
// Registry requests (issue 5):
//   {spawn_echo}                             -> {ok, Pid}
//   {register, Registry, Key, Value, Pid}    -> {ok, RegistryPid} | {error, {already_registered, OtherPid}}
//   {unregister, Registry, Key, Pid}         -> ok
//   {lookup, Registry, Key}                  -> [{Pid, Value}] | []
//   {count, Registry}                        -> integer
//   {exit, Pid, Reason}                      -> ok
//   {call, Registry, Key, Request}           -> {ok, Reply} | {error, Reason} (looks Key up
//                                               and gen_server-calls its process; demo/tests)
//   stats                                    -> #{...} (every stats provider's entries)
// Errors that Horde has no shape for: {error, {no_registry, Registry}},
// {error, {noproc, Pid}}, {error, {unknown_request, Request}}.
//
// Runs on the node's io thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnode/gen_server.hpp"

namespace hc::horde {

class ControlProcess final : public cnode::GenServer {
 public:
  // Answers one request: the reply, or nullopt when the handler replies
  // later itself with `self.reply(from, Reply)`.
  using Handler = std::function<std::optional<Term>(ControlProcess& self, const Term& request, const Term& from)>;
  // Adds entries to the `stats` map.
  using StatsProvider = std::function<void(ControlProcess& self, TermPairs& out)>;

  // A later handler for the same tag replaces the earlier one.
  void add_handler(std::string_view tag, Handler handler);
  void add_stats_provider(StatsProvider provider);
  bool has_handler(std::string_view tag) const;

  static Atom registered_name() { return atom("horde_cnode"); }
  // The live control process of `node` (entered in init, left in
  // terminate), or nullptr: a per-node record, so nothing casts a Process
  // found by pid. io thread only; O(1).
  static ControlProcess* of(cnode::Node& node);

 protected:
  void init() override;
  void terminate(const Term& reason) override;
  std::optional<Term> handle_call(const Term& request, const Term& from) override;

 private:
  std::map<std::string, Handler, std::less<>> handlers_;
  std::vector<StatsProvider> stats_;
};

// The control process of `node` (registered as horde_cnode), spawned on
// first use, so that every role's installer can add its handlers in any
// order. nullptr only if the name is held by another kind of process.
ControlProcess* ensure_control_process(cnode::Node& node);

// Installs {spawn_echo}, {register, ...}, {unregister, ...}, {lookup, ...},
// {count, ...}, {exit, ...} and the registry part of `stats`
// (`registries => #{Name => #{keys, members, meta, crdt_bytes, view_bytes,
// syncs_started, syncs_completed, diffs_received, keys_received, ...}}`) over
// the registry processes running on this node (found by their registered
// names when a request arrives).
void install_registry_handlers(ControlProcess& control);

}  // namespace hc::horde
