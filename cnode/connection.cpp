#include "cnode/connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "cnode/error.hpp"
#include "cnode/log.hpp"

namespace hc::cnode {
namespace asio = boost::asio;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
// A read buffer that grew past this for one large message (a DeltaCrdt sync
// slice of a big registry is tens of MB) is released once it is handled:
// kept, every connection would hold its largest message ever for good
// (measured: ~1.5 KB per registry name after a 30 000-name absorb). The
// write buffers: DistSendQueue::written.
constexpr std::size_t kKeepBuffer = 1024 * 1024;
// Handshake messages are small (the longest is a challenge with a 255-byte
// name); anything bigger is garbage or an attack.
constexpr std::size_t kMaxHandshakeMessage = 4096;
}

Connection::Connection(DistStream stream, ConnectionConfig config, Handshake::Role role,
                       std::string expected_peer, ConnectionHandler& handler)
    : stream_(std::move(stream)),
      config_(std::move(config)),
      handshake_(role, with_status_hook(config_.handshake), expected_peer),
      handler_(handler),
      expected_peer_(std::move(expected_peer)),
      queue_(config_.fragment_size),
      tick_timer_(stream_.socket().get_executor()) {
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if (!expected_peer_.empty()) peer_ = Atom(expected_peer_);
}

Connection::~Connection() = default;

HandshakeConfig Connection::with_status_hook(HandshakeConfig c) {
  // The node decides the acceptor's status (simultaneous connects, duplicates).
  c.decide_status = [this](std::string_view peer) { return handler_.decide_status(*this, peer); };
  return c;
}

const std::string& Connection::peer_name() const noexcept {
  return handshake_.peer().name.empty() ? expected_peer_ : handshake_.peer().name;
}

std::string Connection::describe_handshake_failure(std::error_code why) const {
  if (handshake_.awaiting_ack())
    return "the peer closed the connection after our challenge reply: the cookies differ "
           "(the peer logs 'Invalid challenge reply')";
  if (!handshake_.status().empty() && handshake_.status() != "ok" && handshake_.status() != "ok_simultaneous")
    return "the peer answered status '" + handshake_.status() + "'";
  if (why == std::errc::timed_out) return "no handshake answer within " + std::to_string(config_.handshake_timeout.count()) + " ms";
  return "handshake failed: " + why.message();
}

void Connection::start() {
  last_read_ = std::chrono::steady_clock::now();
  // Handshake watchdog (TLS and distribution handshakes together, as
  // net_kernel's setup time covers both): the same timer later drives ticks.
  tick_timer_.expires_after(config_.handshake_timeout);
  tick_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_ || self->established_) return;
    // Outgoing attempts are logged by the node (once per peer, then with backoff).
    if (self->role() == Handshake::Role::acceptor) {
      HC_LOG(warn) << "handshake with " << (self->peer_name().empty() ? self->remote_ : self->peer_name())
                   << " timed out";
    }
    self->close(make_error_code(std::errc::timed_out));
  });
  if (!stream_.is_tls()) {
    start_dist_handshake();
    return;
  }
  stream_.async_handshake([self = shared_from_this()](std::error_code ec, const std::string& why) {
    if (self->closed_) return;
    std::string who = self->peer_name().empty() ? self->remote_ : self->peer_name() + " (" + self->remote_ + ")";
    if (ec) {
      HC_LOG(warn) << "TLS handshake with " << who << " failed: " << why << "; connection refused";
      self->close(ec);
      return;
    }
    HC_LOG(debug) << "TLS (" << self->stream_.protocol() << ") established with " << who;
    self->start_dist_handshake();
  });
}

void Connection::start_dist_handshake() {
  auto step = handshake_.start();
  write_handshake(step.send);
  read();
}

void Connection::read() {
  if (closed_) return;
  if (in_.size() - in_len_ < kReadChunk) {
    // A large frame whose length we know is received into one exact buffer
    // (no geometric growth to twice its size).
    std::size_t want = in_len_ + kReadChunk;
    if (established_ && in_len_ >= 4) {
      const std::size_t frame = 4 + (std::size_t{in_[0]} << 24 | std::size_t{in_[1]} << 16 | std::size_t{in_[2]} << 8 | in_[3]);
      if (frame > want && frame <= config_.max_frame + 4) want = frame;
    }
    if (want > in_.capacity() && in_.capacity() > 0) in_.reserve(want);
    in_.resize(want);
  }
  stream_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close(ec == asio::error::eof
                                              ? make_error_code(std::errc::connection_reset)
                                              : std::error_code(ec.value(), std::system_category()));
                              return;
                            }
                            self->on_read(n);
                          });
}

void Connection::on_read(std::size_t n) {
  in_len_ += n;
  bytes_in_ += n;
  last_read_ = std::chrono::steady_clock::now();
  if (!process_input()) return;
  read();
}

bool Connection::process_input() {
  std::size_t off = 0;
  while (!closed_) {
    if (skip_.active()) {
      off += skip_.take(in_len_ - off);
      if (skip_.active()) break;  // the rest has not arrived yet
      continue;
    }
    auto prefix = established_ ? LengthPrefix::four : handshake_prefix();
    const std::size_t limit = established_ ? config_.max_frame : kMaxHandshakeMessage;
    const std::span<const std::uint8_t> rest(in_.data() + off, in_len_ - off);
    auto r = next_frame(rest, prefix, limit);
    if (r && !*r) break;  // need more
    if (!r && established_ && r.error() == Errc::frame_too_large) {
      // Framing is intact (we know where the next frame starts): drop this
      // one message, as the bytes arrive, and keep the connection.
      const std::size_t declared = declared_length(rest, prefix);
      off += header_size(prefix);
      handler_.on_frame_skipped(*this, declared,
                                std::span<const std::uint8_t>(in_.data() + off, std::min(in_len_ - off, declared)));
      skip_.start(declared);
      continue;
    }
    if (!r) {
      HC_LOG(error) << "connection " << (peer_name().empty() ? remote_ : peer_name()) << ": " << r.message()
                    << " (max " << limit << " bytes" << (established_ ? "" : " during the handshake") << "); closing";
      close(r.error());
      return false;
    }
    const Frame& frame = **r;
    off += frame.consumed;
    if (!established_) {
      if (!handle_handshake_message(frame.payload)) return false;
    } else if (!frame.payload.empty()) {
      handler_.on_frame(*this, frame.payload);
    }
  }
  if (closed_) return false;
  if (off > 0) {
    std::memmove(in_.data(), in_.data() + off, in_len_ - off);
    in_len_ -= off;
    if (in_.capacity() > kKeepBuffer && in_len_ <= kReadChunk) {
      in_.resize(kReadChunk);
      in_.shrink_to_fit();
    }
  }
  return true;
}

bool Connection::handle_handshake_message(std::span<const std::uint8_t> msg) {
  auto step = handshake_.on_message(msg);
  write_handshake(step.send);
  if (step.error) {
    std::string who = peer_name().empty() ? remote_ : peer_name();
    if (role() == Handshake::Role::initiator)  // the node logs it (once per peer, then with backoff)
      HC_LOG(debug) << "handshake with " << who << " failed: " << step.error.message();
    else if (step.error == Errc::handshake_rejected)
      HC_LOG(info) << "handshake with " << who << " ended: status " << handshake_.status();
    else
      HC_LOG(error) << "handshake with " << who << " failed: " << step.error.message();
    close_after_flush(step.error);
    return false;
  }
  if (step.done) {
    established_ = true;
    peer_ = Atom(handshake_.peer().name);
    if (!handler_.on_established(shared_from_this())) {
      close(make_error_code(Errc::handshake_rejected));
      return false;
    }
    arm_tick();
  }
  return true;
}

void Connection::write_handshake(const std::vector<Bytes>& msgs) {
  for (const auto& m : msgs) append_frame(queue_.ready(), m, handshake_prefix());
  if (!msgs.empty()) flush();
}

void Connection::flush() {
  if (closed_) return;
  if (config_.max_send_queue && queue_.queued_bytes() > config_.max_send_queue && !overflowed_) {
    // Not from inside the sender's turn: closing runs nodedown handlers.
    overflowed_ = true;
    HC_LOG(error) << "connection to " << peer_name() << ": " << queue_.queued_bytes()
                  << " bytes queued for writing, over the limit of " << config_.max_send_queue
                  << " (the peer does not read fast enough); closing";
    asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
      self->close(make_error_code(Errc::send_queue_full));
    });
    return;
  }
  if (!write_in_flight_ && !queue_.empty()) start_write();
}

void Connection::start_write() {
  write_in_flight_ = true;
  queue_.take(writing_);
  buffers_.clear();
  for (const auto& p : writing_.pieces) buffers_.emplace_back(writing_.data(p), p.size);
  wrote_since_tick_ = true;
  stream_.async_write(buffers_,
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                      self->write_in_flight_ = false;
                      self->bytes_out_ += n;
                      if (self->closed_) return;
                      if (ec) {
                        self->close(std::error_code(ec.value(), std::system_category()));
                        return;
                      }
                      // Grown buffers are given back once the queue is dry
                      // (memory per connection stays small between bursts);
                      // a sent message's large buffer is freed elsewhere.
                      if (self->config_.free_elsewhere)
                        for (auto& b : self->writing_.done)
                          if (b.capacity() >= kFreeElsewhereBytes) self->config_.free_elsewhere(std::move(b));
                      self->queue_.written(self->writing_);
                      if (!self->queue_.empty()) {
                        self->start_write();
                      } else if (self->close_after_flush_) {
                        self->close(self->close_reason_);
                      }
                    });
}

void Connection::arm_tick() {
  tick_timer_.expires_after(config_.tick_interval);
  tick_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    auto idle = std::chrono::steady_clock::now() - self->last_read_;
    if (idle > self->config_.peer_timeout) {
      HC_LOG(warn) << "connection to " << self->peer_name() << ": no data for "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(idle).count()
                   << " ms (net_tick_timeout); closing";
      self->close(make_error_code(std::errc::timed_out));
      return;
    }
    // Our own ticks, also while we only receive: the BEAM needs to hear from
    // us within net_ticktime.
    if (!self->wrote_since_tick_) {
      auto& out = self->queue_.ready();
      out.insert(out.end(), std::begin(kTick), std::end(kTick));
      self->flush();
    }
    self->wrote_since_tick_ = false;
    self->arm_tick();
  });
}

void Connection::close_after_flush(std::error_code why) {
  if (closed_) return;
  if (!write_in_flight_ && queue_.empty()) {
    close(why);
    return;
  }
  close_after_flush_ = true;
  close_reason_ = why;
  flush();
}

void Connection::close(std::error_code why) {
  if (closed_) return;
  closed_ = true;
  tick_timer_.cancel();
  stream_.close();
  handler_.on_closed(shared_from_this(), why);
}

}  // namespace hc::cnode
