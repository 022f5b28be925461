#include "cnode/dialer.hpp"

#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "cnode/epmd_client.hpp"
#include "cnode/error.hpp"

namespace hc::cnode {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class TcpDialer final : public Dialer {
 public:
  TcpDialer(asio::io_context& io, std::uint16_t epmd_port) : io_(io), epmd_port_(epmd_port) {}
  ~TcpDialer() override { *alive_ = false; }

  void dial(Atom node, Done done) override {
    asio::co_spawn(
        io_,
        [this, node, done = std::move(done), alive = alive_]() -> asio::awaitable<void> {
          auto fail = [&](std::error_code ec, std::string reason) { done(ec, std::move(reason), tcp::socket(io_)); };
          const std::string n(node.text());
          const auto at = n.find('@');
          const std::string peer_alive = n.substr(0, at), host = n.substr(at + 1);
          boost::system::error_code ec;
          auto addr = asio::ip::make_address(host, ec);
          if (ec) {
            tcp::resolver resolver(io_);
            auto results = co_await resolver.async_resolve(host, "", asio::redirect_error(asio::use_awaitable, ec));
            if (!*alive) co_return;
            if (ec || results.empty()) {
              fail(std::error_code(ec.value(), std::system_category()), "cannot resolve its host: " + ec.message());
              co_return;
            }
            addr = results.begin()->endpoint().address();
          }
          epmd::PortInfo info;
          auto e = co_await epmd::port_please(tcp::endpoint(addr, epmd_port_), peer_alive, info);
          if (!*alive) co_return;
          if (e) {
            fail(make_error_code(Errc::noconnection), "epmd lookup on " + host + " failed: " + e.message());
            co_return;
          }
          tcp::socket s(io_);
          co_await s.async_connect(tcp::endpoint(addr, info.port), asio::redirect_error(asio::use_awaitable, ec));
          if (!*alive) co_return;
          if (ec) {
            fail(make_error_code(Errc::noconnection),
                 "TCP connect to port " + std::to_string(info.port) + " failed: " + ec.message());
            co_return;
          }
          done({}, {}, std::move(s));
        },
        asio::detached);
  }

 private:
  asio::io_context& io_;
  std::uint16_t epmd_port_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Dialer> make_tcp_dialer(asio::io_context& io, std::uint16_t epmd_port) {
  return std::make_unique<TcpDialer>(io, epmd_port);
}

}  // namespace hc::cnode
