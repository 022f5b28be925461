// Answers to SPAWN_REQUEST (erlang:spawn_request/5 from a BEAM node; what
// erpc:call and rpc:call use since OTP 23). We cannot run Erlang code, so we
// answer the one call Horde needs and refuse everything else at once:
//
// - {erpc, execute_call, 4} with args [ResRef, M, F, [Pid]] where {M, F} is
//   {'Elixir.Process', 'alive?'} or {erlang, is_process_alive}:
//   SPAWN_REPLY {31, ReqId, From, Flags, SomePid} (Flags: 1 link, 2 monitor, as
//   requested in the options), then, when a monitor was requested,
//   MONITOR_P_EXIT {21, SomePid, From, ReqId, {ResRef, return, Bool}}, and when a
//   link was requested EXIT {3, SomePid, From, {ResRef, return, Bool}} - what the
//   spawned erpc:execute_call/4 process would do when it exits with its result.
// - anything else: SPAWN_REPLY with Result = the atom `notsup`, which the caller
//   sees as a spawn error ({erpc, notsup} from erpc:call, a badrpc from rpc:call).
#pragma once

#include <functional>
#include <vector>

#include "cnode/control_message.hpp"

namespace hc::cnode {

struct SpawnAnswer {
  std::vector<ControlMessage> messages;  // to send to the requester, in order
  bool handled = false;                  // true when we executed the request
};

// `args` is the payload (argument list); `fresh_pid` a pid that never runs;
// `is_alive` answers for pids.
SpawnAnswer answer_spawn_request(const ctrl::SpawnRequest& req, const Term& args, const Pid& fresh_pid,
                                 const std::function<bool(const Pid&)>& is_alive);

}  // namespace hc::cnode
