// One distribution connection to one peer node: owns the socket, the read
// buffer, the write queue (one write in flight at a time; frames queued
// meanwhile are batched into the next write), the handshake, the tick timer
// and idle detection. It knows nothing about processes: established frames go
// to its ConnectionHandler (the node).
//
// Threading: io thread only. Lifetime: shared_ptr; async operations hold a
// shared_ptr to the connection, so it lives until its socket is closed and
// its handlers have run.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cnode/dist_send_queue.hpp"
#include "cnode/dist_stream.hpp"
#include "cnode/framing.hpp"
#include "cnode/handshake.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

class Connection;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Acceptor: the status to answer for `peer` ("ok", "ok_simultaneous", "nok", ...).
  virtual std::string decide_status(Connection& c, std::string_view peer) = 0;
  // Handshake done; return false to refuse the connection (it is closed).
  virtual bool on_established(const std::shared_ptr<Connection>& c) = 0;
  // One non-tick frame (bytes after the 4-byte length).
  virtual void on_frame(Connection& c, std::span<const std::uint8_t> frame) = 0;
  // Closed for `why` (after on_established or during the handshake). Called once.
  virtual void on_closed(const std::shared_ptr<Connection>& c, std::error_code why) = 0;
  // A frame of `size` bytes over max_frame is being skipped (not buffered);
  // `head` is what of it has arrived so far (for naming its sender).
  virtual void on_frame_skipped(Connection& c, std::size_t size, std::span<const std::uint8_t> head) {
    (void)c, (void)size, (void)head;
  }
};

struct ConnectionConfig {
  HandshakeConfig handshake;
  std::size_t max_frame = kDefaultMaxFrame;
  std::chrono::milliseconds tick_interval{5000};
  std::chrono::milliseconds peer_timeout{60000};
  std::chrono::milliseconds handshake_timeout{7000};
  // Bytes queued for the peer (not yet written) beyond which the connection
  // is closed (the peer does not read fast enough; the processes see
  // noconnection, as Erlang allows messages to be lost only with the
  // connection). 0: no limit.
  std::size_t max_send_queue = kDefaultMaxSendQueue;
  std::size_t fragment_size = kFragmentSize;
  // A written message's buffer of at least kFreeElsewhereBytes is handed
  // here to be freed (on a worker: unmapping 67 MB is milliseconds of the
  // io thread's turn); unset: freed in place.
  std::function<void(std::vector<std::uint8_t>)> free_elsewhere;
};

inline constexpr std::size_t kFreeElsewhereBytes = 4 * 1024 * 1024;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `stream`: plain TCP or TLS (dist_stream.hpp); with TLS, the TLS handshake
  // runs first and the distribution handshake inside it (inet_tls_dist).
  Connection(DistStream stream, ConnectionConfig config, Handshake::Role role,
             std::string expected_peer, ConnectionHandler& handler);
  ~Connection();

  void start();
  // Close now (pending writes are dropped); on_closed(why) follows.
  void close(std::error_code why);
  // Close once queued writes are flushed.
  void close_after_flush(std::error_code why);

  // Append complete frames (length prefix included) to the output buffer
  // with append_*() on out() (a distribution-header frame of a process:
  // then queue().commit(sender, start), which fragments it when large), then
  // call flush(). Each write takes what is ready plus a slice of fragments.
  std::vector<std::uint8_t>& out() noexcept { return queue_.ready(); }
  DistSendQueue& queue() noexcept { return queue_; }
  const DistSendQueue& queue() const noexcept { return queue_; }
  // Start a write when none is in flight; past max_send_queue, the
  // connection is closed (in a later turn of the io thread).
  void flush();

  bool established() const noexcept { return established_; }
  // Why a handshake that ended with `why` failed, in words for the log.
  std::string describe_handshake_failure(std::error_code why) const;
  bool closed() const noexcept { return closed_; }
  Handshake::Role role() const noexcept { return handshake_.role(); }
  Atom peer() const noexcept { return peer_; }
  std::uint64_t peer_flags() const noexcept { return handshake_.peer().flags; }
  std::uint32_t peer_creation() const noexcept { return handshake_.peer().creation; }
  const std::string& remote() const noexcept { return remote_; }
  // The name we expect (initiator) or the name the peer sent (acceptor).
  const std::string& peer_name() const noexcept;
  std::uint64_t bytes_in() const noexcept { return bytes_in_; }
  std::uint64_t bytes_out() const noexcept { return bytes_out_; }

 private:
  HandshakeConfig with_status_hook(HandshakeConfig c);
  void start_dist_handshake();
  // inet_tcp_dist frames handshake messages with 2-byte lengths; inet_tls_dist
  // runs its TLS socket with {packet, 4} from the start, handshake included.
  LengthPrefix handshake_prefix() const noexcept { return stream_.is_tls() ? LengthPrefix::four : LengthPrefix::two; }
  void read();
  void on_read(std::size_t n);
  bool process_input();  // false when the connection was closed
  bool handle_handshake_message(std::span<const std::uint8_t> msg);
  void write_handshake(const std::vector<Bytes>& msgs);
  void start_write();
  void arm_tick();
  void finish_close();

  DistStream stream_;
  ConnectionConfig config_;
  Handshake handshake_;
  ConnectionHandler& handler_;
  std::string expected_peer_;
  std::string remote_;
  Atom peer_;
  bool established_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  std::error_code close_reason_;

  std::vector<std::uint8_t> in_;
  std::size_t in_len_ = 0;
  FrameSkipper skip_;       // an oversized frame being discarded
  DistSendQueue queue_;
  DistSendQueue::Write writing_;                     // in flight
  std::vector<boost::asio::const_buffer> buffers_;  // writing_'s pieces, for the gathering write
  bool overflowed_ = false;
  bool write_in_flight_ = false;

  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point last_read_;
  bool wrote_since_tick_ = false;
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace hc::cnode
