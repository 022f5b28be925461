// Asynchronous EPMD client (https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#epmd-protocol).
//
//   ALIVE2_REQ  : Len:16 | 120 | PortNo:16 | NodeType:8 (77 normal) | Protocol:8 (0 tcp)
//                 | Highest:16 | Lowest:16 | NLen:16 | Name | ELen:16 | Extra
//   ALIVE2_X_RESP: 118 | Result:8 | Creation:32       (OTP 23+ epmd)
//   ALIVE2_RESP  : 121 | Result:8 | Creation:16       (older epmd)
//   PORT_PLEASE2_REQ: Len:16 | 122 | Name
//   PORT2_RESP  : 119 | Result:8 [| PortNo:16 | NodeType:8 | Protocol:8 | Highest:16 | Lowest:16 | NLen:16 | Name | ELen:16 | Extra]
//
// The registration socket must stay open for as long as the node is
// published: epmd unregisters the name when it closes.
// The encoders/decoders are pure and tested without epmd.
#pragma once

#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace hc::cnode::epmd {

std::vector<std::uint8_t> encode_alive2_req(std::string_view alive, std::uint16_t port);
std::vector<std::uint8_t> encode_port_please2_req(std::string_view alive);
// Creation from an ALIVE2_X_RESP / ALIVE2_RESP, nullopt when malformed or refused.
std::optional<std::uint32_t> decode_alive2_resp(std::span<const std::uint8_t> bytes);
struct PortInfo {
  std::uint16_t port = 0;
  std::uint16_t highest_version = 0;
  std::uint16_t lowest_version = 0;
};
std::optional<PortInfo> decode_port2_resp(std::span<const std::uint8_t> bytes);

// Register `alive` with the epmd at `epmd`; on success returns the creation
// and leaves `socket` open (keep it for as long as the node is published).
// Errors, one per cause: Errc::epmd_unreachable (cannot connect),
// Errc::epmd_name_in_use (epmd refused the name: it is taken),
// Errc::epmd_failure (epmd reached, then the connection was lost before a
// whole answer), Errc::epmd_bad_answer (an answer that is not ALIVE2's).
boost::asio::awaitable<std::error_code> register_node(boost::asio::ip::tcp::socket& socket,
                                                      boost::asio::ip::tcp::endpoint epmd,
                                                      std::string alive, std::uint16_t port,
                                                      std::uint32_t& creation);
// Ask the epmd at `epmd` for the distribution port of `alive`.
// Errors: Errc::epmd_unreachable, Errc::epmd_unknown_node (no such node
// registered), Errc::epmd_failure (connection lost before a whole answer),
// Errc::epmd_bad_answer (not a PORT2_RESP).
boost::asio::awaitable<std::error_code> port_please(boost::asio::ip::tcp::endpoint epmd, std::string alive,
                                                    PortInfo& info);
// Start `epmd -daemon -port PORT` without blocking the caller (the child is
// reaped on a helper thread).
void start_daemon(std::uint16_t port);

}  // namespace hc::cnode::epmd
