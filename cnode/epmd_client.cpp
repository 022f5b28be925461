#include "cnode/epmd_client.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/error.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "cnode/error.hpp"
#include "cnode/log.hpp"

extern char** environ;

namespace hc::cnode::epmd {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
void put16(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(std::uint8_t(v >> 8));
  b.push_back(std::uint8_t(v));
}
std::vector<std::uint8_t> with_length(std::vector<std::uint8_t> body) {
  std::vector<std::uint8_t> out;
  put16(out, std::uint32_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
}  // namespace

std::vector<std::uint8_t> encode_alive2_req(std::string_view alive, std::uint16_t port) {
  std::vector<std::uint8_t> b{120};
  put16(b, port);
  b.push_back(77);  // normal Erlang node
  b.push_back(0);   // tcp/ipv4
  put16(b, 6);      // highest version
  put16(b, 6);      // lowest version
  put16(b, std::uint32_t(alive.size()));
  b.insert(b.end(), alive.begin(), alive.end());
  put16(b, 0);  // no extra
  return with_length(std::move(b));
}

std::vector<std::uint8_t> encode_port_please2_req(std::string_view alive) {
  std::vector<std::uint8_t> b{122};
  b.insert(b.end(), alive.begin(), alive.end());
  return with_length(std::move(b));
}

std::optional<std::uint32_t> decode_alive2_resp(std::span<const std::uint8_t> r) {
  if (r.size() == 6 && r[0] == 118 && r[1] == 0)
    return std::uint32_t(r[2]) << 24 | std::uint32_t(r[3]) << 16 | std::uint32_t(r[4]) << 8 | r[5];
  if (r.size() == 4 && r[0] == 121 && r[1] == 0) return std::uint32_t(r[2]) << 8 | r[3];
  return std::nullopt;
}

std::optional<PortInfo> decode_port2_resp(std::span<const std::uint8_t> r) {
  if (r.size() < 12 || r[0] != 119 || r[1] != 0) return std::nullopt;
  PortInfo p;
  p.port = std::uint16_t(r[2] << 8 | r[3]);
  p.highest_version = std::uint16_t(r[6] << 8 | r[7]);
  p.lowest_version = std::uint16_t(r[8] << 8 | r[9]);
  return p;
}

asio::awaitable<std::error_code> register_node(tcp::socket& socket, tcp::endpoint ep, std::string alive,
                                               std::uint16_t port, std::uint32_t& creation) {
  boost::system::error_code ec;
  co_await socket.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return make_error_code(Errc::epmd_unreachable);
  // The registration lives as long as this socket: a child process (erl,
  // `epmd -daemon`, anything the program forks) must not inherit it, or the
  // name stays taken after the node stops.
  ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
  // From here on epmd was reached: a failed write or read is a lost
  // connection (epmd_failure), never "unreachable" or "name in use".
  auto lost = [&ec](const char* step) {
    HC_LOG(debug) << "epmd connection lost while " << step << ": " << ec.message();
    return make_error_code(Errc::epmd_failure);
  };
  auto req = encode_alive2_req(alive, port);
  co_await asio::async_write(socket, asio::buffer(req), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return lost("sending ALIVE2_REQ");
  std::uint8_t head[2];
  co_await asio::async_read(socket, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return lost("reading the ALIVE2 answer");
  std::vector<std::uint8_t> resp(head, head + 2);
  // Not an ALIVE2 answer at all: epmd (or whatever listens there) spoke
  // another protocol.
  if (head[0] != 118 && head[0] != 121) co_return make_error_code(Errc::epmd_bad_answer);
  // A well-formed ALIVE2 answer with a non-zero result means epmd refused
  // the name (it is taken); epmd closes right after it, so the creation
  // bytes may never come.
  if (head[1] != 0) co_return make_error_code(Errc::epmd_name_in_use);
  const std::size_t rest = head[0] == 118 ? 4 : 2;
  resp.resize(2 + rest);
  co_await asio::async_read(socket, asio::buffer(resp.data() + 2, rest), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return lost("reading the creation");
  auto c = decode_alive2_resp(resp);
  if (!c) co_return make_error_code(Errc::epmd_bad_answer);
  creation = *c;
  co_return std::error_code{};
}

asio::awaitable<std::error_code> port_please(tcp::endpoint ep, std::string alive, PortInfo& info) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  boost::system::error_code ec;
  co_await socket.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return make_error_code(Errc::epmd_unreachable);
  auto req = encode_port_please2_req(alive);
  co_await asio::async_write(socket, asio::buffer(req), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return make_error_code(Errc::epmd_failure);
  // epmd answers and closes: read to EOF.
  std::vector<std::uint8_t> resp;
  std::uint8_t chunk[512];
  for (;;) {
    std::size_t n = co_await socket.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    resp.insert(resp.end(), chunk, chunk + n);
    if (ec || resp.size() > 4096) break;
  }
  // Closed before a result, or dropped (not the EOF that ends every answer)
  // inside one: lost; a complete answer of the wrong shape: bad answer.
  const bool dropped = ec && ec != asio::error::eof;
  if (resp.size() < 2) co_return make_error_code(Errc::epmd_failure);
  if (resp[0] != 119) co_return make_error_code(Errc::epmd_bad_answer);
  // PORT2_RESP with a non-zero result: the name is not registered.
  if (resp[1] != 0) co_return make_error_code(Errc::epmd_unknown_node);
  auto p = decode_port2_resp(resp);
  if (!p) co_return make_error_code(dropped ? Errc::epmd_failure : Errc::epmd_bad_answer);
  info = *p;
  co_return std::error_code{};
}

void start_daemon(std::uint16_t port) {
  std::thread([port] {
    pid_t pid = 0;
    char arg0[] = "epmd";
    char arg1[] = "-daemon";
    char arg2[] = "-port";
    std::string p = std::to_string(port);
    char* argv[] = {arg0, arg1, arg2, p.data(), nullptr};
    if (posix_spawnp(&pid, "epmd", nullptr, nullptr, argv, environ) != 0) {
      HC_LOG(error) << "could not run epmd -daemon";
      return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }).detach();
}

}  // namespace hc::cnode::epmd
