// Answers to SPAWN_REQUEST (erlang:spawn_request/5 from a BEAM node; what
// erpc and rpc use since OTP 23). We cannot run Erlang code; we run the C++
// functions exported under a module name (rpc_exports.hpp) when the request
// is one of erpc's:
//
// - {erpc, execute_call, 4} with args [ResRef, M, F, Args] (erpc:call,
//   rpc:call, multicall, send_request): SPAWN_REPLY {31, ReqId, From, Flags,
//   SomePid} (Flags: 1 link, 2 monitor, as requested in the options), then,
//   once the function has answered, MONITOR_P_EXIT {21, SomePid, From, ReqId,
//   Reason} when a monitor was requested and EXIT {3, SomePid, From, Reason}
//   when a link was - what the spawned erpc:execute_call/4 process does when
//   it exits. Reason is {ResRef, return, V} | {ResRef, throw, V} |
//   {ResRef, exit, R} | {ResRef, error, R, Stack} (erpc_exit_reason).
// - {erpc, execute_cast, 3} with args [M, F, Args] (erpc:cast, rpc:cast):
//   SPAWN_REPLY, then the function runs; nobody waits for its result.
// - M:F/length(Args) not exported but M has exports: the call fails with
//   error undef, stack [{M, F, Args, []}], as on a BEAM node.
// - anything else (other modules, spawn of any other MFA): SPAWN_REPLY with
//   Result = the atom `notsup` (only an atom may go there), which the caller
//   sees as a spawn error ({erpc, notsup} from erpc:call, a badrpc from
//   rpc:call). The node logs which M:F/A it refused.
//
// Pure: decides and builds control messages; the node runs the function.
#pragma once

#include <optional>
#include <vector>

#include "cnode/control_message.hpp"
#include "cnode/rpc_exports.hpp"

namespace hc::cnode {

struct ErpcRequest {
  enum class Kind { call, cast };
  Kind kind = Kind::call;
  Term res_ref;  // call only
  Atom module, function;
  TermVector args;
};

// erpc:execute_call(Ref, M, F, Args) / erpc:execute_cast(M, F, Args) with an
// atom M and F and a proper argument list; nullopt for anything else.
std::optional<ErpcRequest> parse_erpc_request(const ctrl::SpawnRequest& req, const Term& args);

struct SpawnFlags {
  bool link = false;
  bool monitor = false;
  std::int64_t bits() const noexcept { return (link ? 1 : 0) | (monitor ? 2 : 0); }
};
SpawnFlags spawn_flags(const ctrl::SpawnRequest& req);

struct SpawnAnswer {
  std::vector<ControlMessage> messages;  // to send to the requester now, in order
  bool handled = false;                  // false: refused with notsup
  std::optional<ErpcRequest> erpc;       // when handled
  const RpcAsyncFunction* function = nullptr;  // to run (nullptr: already answered, e.g. undef)
  SpawnFlags flags;
};

// `fresh_pid`: a pid that never runs (the "spawned" process).
SpawnAnswer answer_spawn_request(const ctrl::SpawnRequest& req, const Term& args, const Pid& fresh_pid,
                                 const RpcExports& exports);

// What the spawned process's exit with `reason` sends to the requester
// (MONITOR_P_EXIT and/or EXIT, as the flags say).
std::vector<ControlMessage> spawn_exit_messages(const ctrl::SpawnRequest& req, const Pid& fresh_pid, SpawnFlags flags,
                                                const Term& reason);

}  // namespace hc::cnode
