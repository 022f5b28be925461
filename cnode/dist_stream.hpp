// The byte stream under one distribution connection: plain TCP
// (`inet_tcp_dist`) or TLS over TCP (`inet_tls_dist`). The distribution
// handshake and framing run unchanged on top of it, inside TLS when TLS is
// used, exactly as OTP's inet_tls_dist does.
//
// TLS is Boost.Asio SSL on the system's OpenSSL. The contexts are built once
// per node from TlsDistOptions (tls_options.hpp); each stream adds its own
// peer-host check:
// - acceptor (server side): the chain of the client's certificate is
//   verified when the server options say verify_peer (no host check, as
//   OTP's default server side);
// - initiator (client side): with verify_peer, the server's certificate must
//   be issued by cacertfile AND name the host we dialled (the host part of
//   the node name, or client server_name_indication): a DNS SAN equal to it,
//   or, when the host is an IP address, an IP SAN equal to it.
//   A host that is a name is also sent as SNI.
// A failed TLS handshake reports the reason in words (the OpenSSL verify
// error: "unable to get local issuer certificate", "hostname mismatch", or
// the peer's alert), for the log line.
//
// Threading: io thread (the connection's). Lifetime: owned by the Connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cnode/tls_options.hpp"
#include "interop/result.hpp"

namespace hc::cnode {

// The node's TLS contexts (opaque: OpenSSL stays out of this header).
class TlsContexts;

// Build the server and client contexts (loads certificates and keys now, so
// that a bad file is an error at start-up, not at the first connection). An
// error's detail (Result::what()) names the file or option, as `problem` does.
Result<std::shared_ptr<const TlsContexts>> make_tls_contexts(const TlsDistOptions& options,
                                                            TlsOptionProblem* problem = nullptr);
const TlsDistOptions& tls_options_of(const TlsContexts& contexts);

class DistStream {
 public:
  using IoHandler = std::function<void(boost::system::error_code, std::size_t)>;
  // Handshake outcome; `why` names the reason when it failed.
  using HandshakeHandler = std::function<void(std::error_code ec, const std::string& why)>;

  // Plain TCP.
  explicit DistStream(boost::asio::ip::tcp::socket socket);
  // TLS: `server` for accepted sockets; `peer_host` (client side) is the host
  // the server's certificate is checked against.
  DistStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<const TlsContexts> tls, bool server,
             std::string peer_host);
  DistStream(DistStream&&) noexcept;
  DistStream& operator=(DistStream&&) noexcept;
  ~DistStream();

  bool is_tls() const noexcept;
  boost::asio::ip::tcp::socket& socket() noexcept;  // the TCP socket (endpoint, options, executor)

  // TLS handshake; for plain TCP the handler runs at once (posted) with success.
  void async_handshake(HandshakeHandler handler);
  void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler);
  // Writes the whole buffer.
  void async_write(boost::asio::const_buffer buffer, IoHandler handler);
  // Writes all the buffers, in order (scatter/gather); `buffers` and what
  // they point to must stay valid until the handler runs.
  void async_write(const std::vector<boost::asio::const_buffer>& buffers, IoHandler handler);
  // Close the TCP socket (pending operations complete with operation_aborted).
  void close() noexcept;

  // The negotiated protocol ("TLSv1.2") once the TLS handshake is done; "tcp" for plain.
  std::string protocol() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Plain when `tls` is null; otherwise TLS with the host of `peer_node`
// ("name@host") or the client's server_name_indication as the checked host.
DistStream make_dist_stream(boost::asio::ip::tcp::socket socket, const std::shared_ptr<const TlsContexts>& tls,
                            bool server, std::string_view peer_node);

}  // namespace hc::cnode
