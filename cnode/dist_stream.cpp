#include "cnode/dist_stream.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace hc::cnode {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

class TlsContexts {
 public:
  explicit TlsContexts(TlsDistOptions o)
      : options(std::move(o)), server(ssl::context::tls_server), client(ssl::context::tls_client) {}
  TlsDistOptions options;
  ssl::context server;
  ssl::context client;
};

namespace {

std::error_code setup_problem(TlsOptionProblem* p, std::string detail) {
  auto ec = make_error_code(TlsOptionError::bad_option_value);
  if (p) *p = {ec, std::move(detail)};
  return ec;
}

// The OpenSSL error queue as text ("error:0A000086:SSL routines::certificate verify failed").
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

int version_of(const std::string& v) { return v == "tlsv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION; }

std::error_code configure(ssl::context& ctx, const TlsSideOptions& o, bool server, TlsOptionProblem* problem) {
  const std::string who = server ? "server" : "client";
  SSL_CTX* native = ctx.native_handle();
  int lo = TLS1_3_VERSION, hi = TLS1_2_VERSION;
  for (const auto& v : o.versions) {
    lo = std::min(lo, version_of(v));
    hi = std::max(hi, version_of(v));
  }
  SSL_CTX_set_min_proto_version(native, lo);
  SSL_CTX_set_max_proto_version(native, hi);
  // The distribution never renegotiates and never compresses.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (server && o.honor_cipher_order) SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);

  boost::system::error_code ec;
  if (!o.password.empty()) {
    std::string pw = o.password;
    ctx.set_password_callback([pw](std::size_t, ssl::context::password_purpose) { return pw; }, ec);
  }
  if (!o.certfile.empty()) {
    ctx.use_certificate_chain_file(o.certfile, ec);
    if (ec) return setup_problem(problem, who + " certfile " + o.certfile + ": " + ec.message());
    ctx.use_private_key_file(o.keyfile.empty() ? o.certfile : o.keyfile, ssl::context::pem, ec);
    if (ec)
      return setup_problem(problem, who + " keyfile " + (o.keyfile.empty() ? o.certfile : o.keyfile) + ": " +
                                        ec.message());
    if (SSL_CTX_check_private_key(native) != 1)
      return setup_problem(problem, who + ": keyfile does not match certfile (" + openssl_errors() + ")");
  }
  if (!o.cacertfile.empty()) {
    ctx.load_verify_file(o.cacertfile, ec);
    if (ec) return setup_problem(problem, who + " cacertfile " + o.cacertfile + ": " + ec.message());
  }
  if (!o.ciphers.empty()) {
    // TLS 1.3 suites (TLS_AES_...) and TLS 1.2 ones are configured apart in
    // OpenSSL; RFC names of 1.2 suites are translated to OpenSSL's.
    std::string v12, v13;
    for (const auto& c : o.ciphers) {
      if (c.starts_with("TLS_AES_") || c.starts_with("TLS_CHACHA20_")) {
        v13 += (v13.empty() ? "" : ":") + c;
      } else {
        const char* name = c.starts_with("TLS_") ? OPENSSL_cipher_name(c.c_str()) : c.c_str();
        if (!name || std::string_view(name) == "(NONE)")
          return setup_problem(problem, who + " option 'ciphers': unknown suite " + c);
        v12 += (v12.empty() ? "" : ":") + std::string(name);
      }
    }
    if (!v12.empty() && SSL_CTX_set_cipher_list(native, v12.c_str()) != 1)
      return setup_problem(problem, who + " option 'ciphers': no usable TLS 1.2 suite in " + v12);
    if (!v13.empty() && SSL_CTX_set_ciphersuites(native, v13.c_str()) != 1)
      return setup_problem(problem, who + " option 'ciphers': no usable TLS 1.3 suite in " + v13);
  }
  int mode = SSL_VERIFY_NONE;
  if (o.verify == TlsVerify::peer) {
    mode = SSL_VERIFY_PEER;
    if (server && o.fail_if_no_peer_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(native, mode, nullptr);
  SSL_CTX_set_verify_depth(native, o.depth + 1);  // OTP's depth counts intermediates only
  return {};
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<const TlsContexts>> make_tls_contexts(const TlsDistOptions& options,
                                                            TlsOptionProblem* problem) {
  TlsOptionProblem local;
  TlsOptionProblem& p = problem ? *problem : local;  // the detail rides in the Result too
  auto c = std::make_shared<TlsContexts>(options);
  if (auto ec = configure(c->server, options.server, true, &p)) return Error(ec, p.detail);
  if (auto ec = configure(c->client, options.client, false, &p)) return Error(ec, p.detail);
  return std::shared_ptr<const TlsContexts>(std::move(c));
}

const TlsDistOptions& tls_options_of(const TlsContexts& contexts) { return contexts.options; }

struct DistStream::Impl {
  explicit Impl(tcp::socket s) : socket(std::move(s)) {
    // Forked children must not hold our connections open (see epmd_client).
    if (socket.is_open()) ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
  }
  tcp::socket socket;  // TCP: used directly (plain) or under `tls`
  // TLS mode: the context is kept alive with the stream.
  std::shared_ptr<const TlsContexts> contexts;
  std::optional<ssl::stream<tcp::socket&>> tls;
  bool server = false;
  std::string host;         // client: the host the server certificate must name
  std::string verify_why;   // the first verification failure, in words
};

DistStream::DistStream(tcp::socket socket) : impl_(std::make_unique<Impl>(std::move(socket))) {}

DistStream::DistStream(tcp::socket socket, std::shared_ptr<const TlsContexts> tls, bool server, std::string peer_host)
    : impl_(std::make_unique<Impl>(std::move(socket))) {
  impl_->contexts = std::move(tls);
  impl_->server = server;
  impl_->host = std::move(peer_host);
  // ssl::stream wants a mutable context; it only reads it (SSL_new).
  auto& ctx = const_cast<ssl::context&>(server ? impl_->contexts->server : impl_->contexts->client);
  impl_->tls.emplace(impl_->socket, ctx);
  SSL* native = impl_->tls->native_handle();
  if (!server && !impl_->host.empty() && !is_ip_literal(impl_->host))
    SSL_set_tlsext_host_name(native, impl_->host.c_str());  // SNI (never for IP addresses, RFC 6066)
  Impl* self = impl_.get();
  impl_->tls->set_verify_callback([self](bool preverified, ssl::verify_context& vctx) {
    X509_STORE_CTX* sctx = vctx.native_handle();
    if (!preverified) {
      if (self->verify_why.empty()) {
        int err = X509_STORE_CTX_get_error(sctx);
        self->verify_why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(err);
      }
      return false;
    }
    // Host check on the leaf only, client side only (as OTP's default).
    if (self->server || self->host.empty() || X509_STORE_CTX_get_error_depth(sctx) != 0) return true;
    X509* cert = X509_STORE_CTX_get_current_cert(sctx);
    bool ok = X509_check_host(cert, self->host.c_str(), self->host.size(), 0, nullptr) == 1;
    if (!ok && is_ip_literal(self->host)) ok = X509_check_ip_asc(cert, self->host.c_str(), 0) == 1;
    if (!ok) {
      X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
      self->verify_why = "certificate verify failed: hostname mismatch (the certificate does not name " +
                         self->host + ")";
    }
    return ok;
  });
}

DistStream::DistStream(DistStream&&) noexcept = default;
DistStream& DistStream::operator=(DistStream&&) noexcept = default;
DistStream::~DistStream() = default;

bool DistStream::is_tls() const noexcept { return impl_->tls.has_value(); }
tcp::socket& DistStream::socket() noexcept { return impl_->socket; }

void DistStream::async_handshake(HandshakeHandler handler) {
  if (!impl_->tls) {
    asio::post(impl_->socket.get_executor(), [h = std::move(handler)] { h({}, {}); });
    return;
  }
  Impl* self = impl_.get();
  impl_->tls->async_handshake(self->server ? ssl::stream_base::server : ssl::stream_base::client,
                              [self, h = std::move(handler)](boost::system::error_code ec) {
                                if (!ec) return h({}, {});
                                std::string why = self->verify_why;
                                if (why.empty()) {
                                  // The peer's alert or a protocol error, as OpenSSL words it
                                  // ("tlsv1 alert unknown ca", "wrong version number").
                                  why = ec.message();
                                  if (ec == asio::error::eof) why = "connection closed by the peer during the TLS handshake";
                                }
                                h(std::error_code(ec), why);
                              });
}

void DistStream::async_read_some(asio::mutable_buffer buffer, IoHandler handler) {
  if (impl_->tls) impl_->tls->async_read_some(buffer, std::move(handler));
  else impl_->socket.async_read_some(buffer, std::move(handler));
}

void DistStream::async_write(asio::const_buffer buffer, IoHandler handler) {
  if (impl_->tls) asio::async_write(*impl_->tls, buffer, std::move(handler));
  else asio::async_write(impl_->socket, buffer, std::move(handler));
}

void DistStream::async_write(const std::vector<asio::const_buffer>& buffers, IoHandler handler) {
  if (impl_->tls) asio::async_write(*impl_->tls, buffers, std::move(handler));
  else asio::async_write(impl_->socket, buffers, std::move(handler));
}

void DistStream::close() noexcept {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
}

std::string DistStream::protocol() const {
  if (!impl_->tls) return "tcp";
  return SSL_get_version(const_cast<ssl::stream<tcp::socket&>&>(*impl_->tls).native_handle());
}

DistStream make_dist_stream(tcp::socket socket, const std::shared_ptr<const TlsContexts>& tls, bool server,
                            std::string_view peer_node) {
  if (!tls) return DistStream(std::move(socket));
  std::string host;
  if (!server) {
    const auto& sni = tls->options.client.server_name_indication;
    if (sni) {
      host = *sni;  // "" = disable: no host check
    } else {
      auto at = peer_node.find('@');
      host = std::string(at == std::string_view::npos ? peer_node : peer_node.substr(at + 1));
    }
  }
  return DistStream(std::move(socket), tls, server, std::move(host));
}

}  // namespace hc::cnode
