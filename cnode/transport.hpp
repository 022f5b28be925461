// What the routing and signal layers need of the connections: is a peer
// connected and with which flags, send a control message there, connect.
// Implemented by the connection manager; tests implement it with a fake
// that records the control messages (router_test, signals_test).
// Threading: the node's io thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <system_error>

#include "cnode/control_message.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual bool is_connected(Atom node) const = 0;
  // The flags the peer negotiated in the handshake (dflag::), 0 when not connected.
  virtual std::uint64_t peer_flags(Atom node) const = 0;
  // Send `m` (+ `payload`) to `node`. Not connected: with `auto_connect`,
  // queued (bounded) while the node is dialled, else dropped. `sender`: the
  // process the message is ordered with (default: the one `m` names).
  // Returns the error when the message was dropped (not_connected,
  // pending_queue_full, bad_peer_name, node_stopped), {} when sent or queued.
  virtual std::error_code send_ctrl(Atom node, const ControlMessage& m, const Term* payload, bool auto_connect = true,
                                    const Pid* sender = nullptr) = 0;
  // Connect (no-op when connected or connecting); `done` runs once with the
  // outcome of the attempt, always in a later turn.
  virtual void connect(Atom node, std::function<void(std::error_code)> done) = 0;
};

}  // namespace hc::cnode
