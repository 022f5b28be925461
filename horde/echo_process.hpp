// The echo process of the interop control process ({spawn_echo}): the
// simplest C++ process a BEAM node can register, look up and call.
//
//   GenServer.call(Pid, stop)  -> replies ok, then exits with reason normal
//   GenServer.call(Pid, X)     -> replies X
//   Pid ! {From, X}            -> From ! X            (From a pid)
//   anything else              -> ignored
//
// It does not trap exits: exit signals (e.g. a registry's name_conflict)
// kill it as they would kill a plain Erlang process.
// Runs on the node's io thread like every process.
#pragma once

#include "cnode/gen_server.hpp"

namespace hc::horde {

class EchoProcess final : public cnode::GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term& from) override;
  void handle_info(const Term& message) override;
};

}  // namespace hc::horde
