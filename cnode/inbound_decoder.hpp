// The receiving side of the node's connections after the handshake: frames
// in (whole, or fragments of a large message, dist_fragments.hpp), decoded
// distribution messages out, in the order each connection received them.
//
// A message whose bytes reach `offload_bytes` (1 MiB by default: a sync
// slice of a few thousand names and up) is decoded on a worker thread
// (offload.hpp) instead of the io thread: a 20 MB Horde slice took a
// 0.1-0.25 s io-thread turn to decode, during which no process, timer or
// other connection of the node ran. Order is kept per connection: frames of
// that connection that arrive meanwhile wait (raw) behind it, and are fed
// in when its decode is done; other connections go on.
//
// A connection that closes (forget()) loses what it had not delivered yet:
// the peer cannot tell a message in flight from one lost with the
// connection, and nothing of that peer is delivered after its nodedown.
//
// Threading: the node's io thread; only decoding runs on the worker.
// Memory: a connection's frames that wait behind a decode are copied (the
// read buffer is reused); at most what the peer sends during one decode.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <span>
#include <unordered_map>
#include <vector>

#include "cnode/dist_fragments.hpp"
#include "cnode/dist_frame.hpp"
#include "cnode/framing.hpp"  // kDefaultOffloadDecodeBytes
#include "cnode/offload.hpp"

namespace hc::cnode {

class Connection;

class InboundDecoder {
 public:
  // One message of `c`, decoded or not (a malformed one, to be dropped by
  // the caller with a log line); `bytes`: its size on the wire.
  using Deliver = std::function<void(Connection& c, Result<DistFrame>& parsed, std::size_t bytes)>;

  // `max_message`: fragmented messages larger than it are an error (as
  // FragmentAssembler); `offload_bytes` 0: everything decoded inline.
  InboundDecoder(boost::asio::io_context& io, std::size_t max_message, std::size_t offload_bytes, Deliver deliver);

  // One non-empty frame of `c` (an established connection). Either decodes
  // and delivers at once, or starts a worker decode, or (behind a decode of
  // `c`) copies the frame to wait. Cost: a small frame's decode inline.
  void feed(Connection& c, std::span<const std::uint8_t> frame);
  // Adds a decoder for payloads of a shape it knows (PayloadDecoder), or
  // replaces the one added under the same `key`. Tried on every message,
  // where it is decoded (inline or on the worker), so it must decline what
  // is not its own at a glance. Decodes already started go on with the
  // decoders they had.
  void add_payload_decoder(std::string key, PayloadDecoder decoder);
  // `c` is closed: drop its waiting frames, half-received fragments and
  // the result of its decode in flight.
  void forget(const Connection& c);

  // ---- introspection (tests, stats)
  bool decoding(const Connection& c) const;
  std::uint64_t offloaded() const noexcept { return offloaded_; }
  // Bytes held for `c`: fragments in reassembly and frames waiting.
  std::size_t bytes_held(const Connection& c) const;

 private:
  struct PerConnection {
    explicit PerConnection(std::size_t max_message) : assembler(max_message) {}
    FragmentAssembler assembler;
    std::uint64_t generation = 0;  // tells a stale completion from one of a reused address
    bool busy = false;             // a decode in flight
    std::deque<std::vector<std::uint8_t>> waiting;
    std::size_t waiting_bytes = 0;
  };
  // Feeds `frame` while `c` is not busy; true when a worker decode started.
  bool process(Connection& c, PerConnection& pc, std::span<const std::uint8_t> frame);
  void start(Connection& c, PerConnection& pc, std::vector<std::uint8_t> bytes, bool pass_through);
  void finished(Connection& c, std::uint64_t generation, Result<DistFrame> parsed, std::size_t bytes);

  std::span<const PayloadDecoder> decoders() const noexcept {
    return decoders_ ? std::span<const PayloadDecoder>(*decoders_) : std::span<const PayloadDecoder>();
  }
  // Copied on change, shared with the decodes in flight.
  std::shared_ptr<const std::vector<PayloadDecoder>> decoders_;
  std::vector<std::string> decoder_keys_;
  std::size_t max_message_;
  std::size_t offload_bytes_;
  Deliver deliver_;
  std::unordered_map<const Connection*, PerConnection> conns_;
  std::uint64_t next_generation_ = 1;
  std::uint64_t offloaded_ = 0;
  Offload offload_;  // last: destroyed (joined) first
};

}  // namespace hc::cnode
