// The registered processes every visible node is expected to run, as C++
// processes on the node:
// - net_kernel: answers {is_auth, Node} with `yes` (net_adm:ping/1 -> pong).
// - rex: answers {Pid, features_request} with {features_reply, node(), [erpc]}
//   (OTP 25 rpc probes this on connect; erpc calls then arrive as SPAWN_REQUEST,
//   see spawn_request.hpp) and refuses old-style rex gen_server calls with
//   {badrpc, notsup}.
// - global_name_server: takes part in OTP's `global` connection protocol
//   enough that :global.sync() on BEAM nodes completes (see global_service.cpp).
// - discovery (unregistered): on nodeup and every discovery_interval, asks each
//   peer's rex for erlang:nodes() and connects to every node it did not know
//   (BEAM nodes never connect to a visible C node transitively).
#pragma once

namespace hc::cnode {

class Node;
void start_system_services(Node& node);

}  // namespace hc::cnode
