// The outgoing side of a connection: the bytes queued for the socket, and
// large messages split into fragments (DFLAG_FRAGMENTS, OTP 22+).
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html#distribution-header-for-fragmented-messages
//
// A message whose body (Control [Message] after 131,68,0) is larger than
// `fragment_size` is written as
//   131, 69, SeqId:64, FragId:64 = N, 0, Body[0 .. F)            first fragment
//   131, 70, SeqId:64, FragId:64 = N-1 .. 1, Body[...]           the rest
// one fragment per frame (each with its 4-byte length), F = fragment_size,
// SeqId distinct per connection. Each write (take()) carries everything that
// is ready plus fragments round-robin until about `write_slice` bytes, so a
// small message of another sender waits for at most one slice, not for the
// whole large message (dist_fragments.hpp is the receiving side).
//
// Order (Erlang guarantees it per pair of processes; signals included): while
// a fragmented message of sender S is being written, every later message or
// signal of S on this connection is held behind it, in order, and released
// when its last fragment has been taken. Other senders and ticks go between
// the fragments. Frames without a sender (kNoSender: ticks, handshake,
// answers of the node itself) are one more sender.
//
// Pure (no I/O): the connection calls take() when it can write. Threading:
// the connection's (io) thread. Memory: the queue keeps the encoded bytes of
// every message not yet taken; queued_bytes() says how many, the connection
// closes when they exceed its limit (ConnectionConfig::max_send_queue).
//
// Copies: a fragment's body is not copied into the write but referenced in
// place (Write::pieces, written with scatter/gather), and a payload handed
// over with commit(sender, start, payload) is moved in, so queueing a 67 MB
// sync slice costs O(fragments), not two 67 MB copies in one io-thread turn
// (issue 13: no turn over ~50 ms). Small frames are still copied into the
// write (one buffer, one write for a burst of them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace hc::cnode {

// Bytes of message body per fragment: the size of the pieces OTP 25 sends us
// (fragments_beam_test); a frame of this size takes well under a
// millisecond on a LAN, which bounds how long a small message waits behind
// a large one.
inline constexpr std::size_t kFragmentSize = 64 * 1024;
// About how many bytes one socket write carries when fragments are queued.
inline constexpr std::size_t kWriteSlice = 256 * 1024;
// Write-buffer memory a connection keeps (DistSendQueue::written): while
// writes follow one another, a buffer of up to kKeepWriteBuffer is reused
// (one write slice of fragments is ~256-320 KB, grown to 512 KB); once the
// queue runs dry, buffers over kIdleWriteBuffer are given back. Kept, a
// connection idle between sync rounds would hold its largest write (512 KB
// after any large message: ~50 B per name of a 10 000-name registry).
inline constexpr std::size_t kKeepWriteBuffer = 1024 * 1024;
inline constexpr std::size_t kIdleWriteBuffer = 64 * 1024;
// Default limit of a connection's queued bytes (ConnectionConfig::max_send_queue).
inline constexpr std::size_t kDefaultMaxSendQueue = std::size_t{1} << 30;  // 1 GiB
// Default limit of the messages that wait for a peer while it is dialled
// (NodeOptions::max_pending_sends, connection_manager.hpp): a few seconds of
// a busy Horde sync, bounded.
inline constexpr std::size_t kDefaultMaxPendingSends = 16384;

class DistSendQueue {
 public:
  using Sender = std::uint64_t;  // an identity of the sending process (NodeImpl: its pid)
  static constexpr Sender kNoSender = ~Sender{0};

  explicit DistSendQueue(std::size_t fragment_size = kFragmentSize, std::size_t write_slice = kWriteSlice)
      : fragment_size_(fragment_size ? fragment_size : 1), write_slice_(write_slice) {}

  // Complete frames (length prefix included) that go out as they are, in
  // order, at the next take(): append with append_*() and then call
  // commit() for a distribution-header frame of a sender.
  std::vector<std::uint8_t>& ready() noexcept { return ready_; }

  // The bytes from `start` to the end of ready() are one complete frame
  // `len:32, 131, 68, 0, Body` of `sender`. Left where it is when small and
  // its sender is not held; otherwise moved out (behind the sender's
  // fragmented message, or fragmented itself). O(1), plus a copy of the
  // frame when ready() held other frames before it and it is moved out.
  void commit(Sender sender, std::size_t start);
  // The same for a frame whose end the caller hands over: ready() from
  // `start` holds `len:32, 131, 68, 0, Control`, len counting `payload`
  // too, and `payload` is the rest of the body (an encoded message,
  // FramePayload::appended_later). Large or held: `payload` is kept as it
  // is (O(1)); small: appended to ready() (a copy of at most fragment_size).
  void commit(Sender sender, std::size_t start, std::vector<std::uint8_t> payload);

  // Is `sender` held behind a fragmented or reserved message of its own?
  bool holding(Sender sender) const { return held_.count(sender) > 0; }

  // A message of `sender` whose bytes come later (encoded on a worker
  // thread, connection_manager.cpp): from now on everything `sender`
  // commits waits behind it, as behind a fragmented message of its own;
  // other senders go on. The ticket is for fill().
  using Ticket = std::uint64_t;
  Ticket reserve(Sender sender);
  // The reserved message's frame (`len:32, 131, 68, 0, Body`, as commit()
  // takes it), or empty to drop it; what waited behind it follows. An
  // unknown ticket is ignored.
  void fill(Ticket ticket, std::vector<std::uint8_t> frame);
  std::size_t reserved() const noexcept { return reserved_.size(); }

  // One socket write, in wire order: `pieces` are ranges of `bytes` (the
  // ready frames and fragment headers, copied) or of queued messages'
  // buffers (fragment bodies, referenced). Those buffers stay valid until
  // written(): a message still being fragmented keeps them, and one whose
  // last fragment is in this write leaves them in `done`.
  struct Write {
    struct Piece {
      const std::uint8_t* data = nullptr;  // null: bytes[at, at + size)
      std::size_t at = 0;
      std::size_t size = 0;
    };
    std::vector<std::uint8_t> bytes;
    std::vector<Piece> pieces;
    std::vector<std::vector<std::uint8_t>> done;
    std::size_t size = 0;  // bytes in all pieces
    bool empty() const noexcept { return size == 0; }
    const std::uint8_t* data(const Piece& p) const noexcept { return p.data ? p.data : bytes.data() + p.at; }
  };
  // Append the next write to `out`: everything ready, then fragments
  // round-robin over the fragmented messages until out holds about
  // write_slice bytes (at least one fragment when any is queued). Cost:
  // the ready frames (swapped in when `out` is empty, else copied) plus
  // O(1) per fragment.
  void take(Write& out);
  // `out`, filled by take(), has been written: clears it (and frees its
  // `done` buffers: move out big ones first to free them elsewhere,
  // Connection) and decides what memory it and ready() keep. More to
  // write: out.bytes keeps its capacity up to kKeepWriteBuffer (no
  // reallocation between back-to-back writes). Nothing left (empty()):
  // both keep at most kIdleWriteBuffer. O(pieces) plus the frees.
  void written(Write& out) noexcept;
  // Capacity of ready() (what an idle queue holds besides the connection's
  // own write buffer).
  std::size_t ready_capacity() const noexcept { return ready_.capacity(); }

  bool empty() const noexcept { return ready_.empty() && active_.empty(); }
  // Bytes queued in all: ready frames plus fragmented and held messages.
  std::size_t queued_bytes() const noexcept { return queued_ + ready_.size(); }
  std::size_t fragmented_in_flight() const noexcept { return active_.size(); }
  std::size_t fragment_size() const noexcept { return fragment_size_; }
  std::uint64_t messages_fragmented() const noexcept { return messages_fragmented_; }

 private:
  // One frame `len:32, 131, 68, 0, Body` (held), or one fragmented
  // message: bytes[pos ..) then tail[tail_pos ..) is the body still to go
  // (tail: a payload handed over to commit(), else empty).
  struct Message {
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> tail;
    std::size_t pos = 0;
    std::size_t tail_pos = 0;
    Ticket ticket = 0;  // reserved and not yet filled: what follows waits
    std::size_t size() const noexcept { return bytes.size() + tail.size(); }
    std::size_t left() const noexcept { return bytes.size() - pos + tail.size() - tail_pos; }
  };
  struct Fragmented {
    Sender sender;
    Message msg;
    std::uint64_t seq = 0;
    std::uint64_t left = 0;  // fragments still to write (the next FragId)
    bool started = false;
  };
  Message cut(std::size_t start);
  void commit(Sender sender, std::size_t start, std::vector<std::uint8_t>* payload);
  void start_fragmented(Sender sender, Message m);
  void emit_fragment(Fragmented& f, Write& out);
  void release(Sender sender, std::vector<std::uint8_t>& out);

  std::size_t fragment_size_;
  std::size_t write_slice_;
  std::vector<std::uint8_t> ready_;
  std::deque<Fragmented> active_;                          // round robin; at most one per sender
  std::unordered_map<Sender, std::deque<Message>> held_;   // per sender with an active or reserved one: what follows it
  std::unordered_map<Ticket, Sender> reserved_;
  Ticket next_ticket_ = 1;
  bool active_for(Sender sender) const;
  std::uint64_t next_seq_ = 1;
  std::size_t queued_ = 0;      // body bytes in active_ and held_ (ready_ not counted here)
  std::uint64_t messages_fragmented_ = 0;
};

}  // namespace hc::cnode
