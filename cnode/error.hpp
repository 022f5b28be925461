// Error codes of the distribution layer, wired into std::error_code
// (house style: errors as values where failure is expected).
#pragma once

#include <string>
#include <system_error>

namespace hc::cnode {

enum class Errc {
  // framing
  frame_too_large = 1,
  // handshake
  bad_handshake_message,
  unsupported_version,
  missing_mandatory_flags,
  bad_peer_name,
  bad_cookie,
  handshake_rejected,   // the peer answered a status other than "ok"/"ok_simultaneous"
  // distribution frames / control messages
  bad_dist_header,
  unsupported_dist_header,  // 131,68 atom-cache header or fragments: we never ask for them
  malformed_term,
  bad_control_message,
  unknown_control_op,
  // epmd
  epmd_failure,         // epmd dropped the connection or answered something malformed
  epmd_name_in_use,     // epmd answered ALIVE2 with a non-zero result: the name is registered
  epmd_unreachable,     // no epmd accepts connections on the port
  epmd_unknown_node,    // PORT_PLEASE2: epmd has no node of that name (it is not running)
  // processes
  noproc,
  timeout,
  noconnection,
  not_connected,
  call_failed,
  node_stopped,
  // connections (connection_manager.hpp)
  dial_timeout,         // no connection within NodeOptions::dial_timeout (resolve, epmd, connect, handshake)
  pending_queue_full,   // NodeOptions::max_pending_sends messages already wait for the connection: dropped
  send_queue_full,      // a connection's queued bytes passed NodeOptions::max_send_queue: closed
};

const std::error_category& cnode_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), cnode_category()}; }

}  // namespace hc::cnode

template <>
struct std::is_error_code_enum<hc::cnode::Errc> : std::true_type {};
