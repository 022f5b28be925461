// The first leg of an outgoing connection: from a node name to a connected
// TCP socket (resolve the host, ask its epmd for the port, connect). The
// connection manager runs the handshake on the socket and bounds the whole
// attempt with its dial deadline; tests inject a Dialer that never answers
// or fails at once (connection_manager_test).
//
// Threading: the node's io thread; `done` runs there once (never inside
// dial()). Cost: a resolver query when the host is a name, one epmd round
// trip, one TCP connect.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "interop/term.hpp"

namespace hc::cnode {

class Dialer {
 public:
  // ec and `reason` (in words, for the log) when it failed; else the socket.
  using Done = std::function<void(std::error_code ec, std::string reason, boost::asio::ip::tcp::socket socket)>;
  virtual ~Dialer() = default;
  virtual void dial(Atom node, Done done) = 0;
};

// Host from `node` ("alive@host"), port from the epmd on that host at `epmd_port`.
std::unique_ptr<Dialer> make_tcp_dialer(boost::asio::io_context& io, std::uint16_t epmd_port);

}  // namespace hc::cnode
