// Error codes of the distribution layer, wired into std::error_code
// (house style: errors as values where failure is expected). Each code
// belongs to a group of interop/error_condition.hpp, named after it below
// ([group] or [group, second group]); decide by group where the exact code
// does not matter: `ec == hc::errc::handshake_failed`.
#pragma once

#include <string>
#include <system_error>

#include "interop/error_condition.hpp"

namespace hc::cnode {

enum class Errc {
  // framing
  frame_too_large = 1,      // [protocol_violation]
  // handshake                 [handshake_failed] (a malformed message also protocol_violation)
  bad_handshake_message,
  unsupported_version,
  missing_mandatory_flags,
  bad_peer_name,            // a malformed node name (the peer's, or one we were asked to dial or use)
  bad_cookie,
  handshake_rejected,   // the peer answered a status other than "ok"/"ok_simultaneous"
  // distribution frames / control messages   [protocol_violation]
  bad_dist_header,
  unsupported_dist_header,  // 131,68 atom-cache header or fragments: we never ask for them
  malformed_term,
  bad_control_message,
  unknown_control_op,
  // epmd
  epmd_failure,         // [connection_lost] epmd closed the connection (or a write failed) before answering
  epmd_name_in_use,     // [name_taken] epmd answered ALIVE2 with a non-zero result: the name is registered
  epmd_unreachable,     // [unreachable] no epmd accepts connections on the port
  epmd_unknown_node,    // [unreachable, not_found] PORT_PLEASE2: epmd has no node of that name (not running)
  epmd_bad_answer,      // [protocol_violation] epmd answered something that is not an epmd response
  // processes
  noproc,               // [not_found]
  timeout,              // [timeout]
  noconnection,         // [unreachable]
  not_connected,        // [connection_lost] (a connection we closed on request)
  call_failed,          // (no group: the server exited; CallResult::reason() says why)
  node_stopped,         // [stopped]
  name_registered,      // [name_taken] a local process name is registered by another process
  // connections (connection_manager.hpp)
  dial_timeout,         // [unreachable, timeout] no connection within NodeOptions::dial_timeout (resolve, epmd, connect, handshake)
  pending_queue_full,   // [unreachable] NodeOptions::max_pending_sends messages already wait for the connection: dropped
  send_queue_full,      // [connection_lost] a connection's queued bytes passed NodeOptions::max_send_queue: closed
};

const std::error_category& cnode_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), cnode_category()}; }

}  // namespace hc::cnode

template <>
struct std::is_error_code_enum<hc::cnode::Errc> : std::true_type {};
