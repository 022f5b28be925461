#include "cnode/dist_send_queue.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <set>

#include "cnode/dist_fragments.hpp"
#include "cnode/dist_frame.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::cnode;
using Bytes8 = std::vector<std::uint8_t>;

namespace {

Pid pid(std::uint32_t id) { return Pid{Atom("a@h"), id, 0, 1}; }

void put64(Bytes8& v, std::uint64_t x) {
  for (int i = 7; i >= 0; --i) v.push_back(std::uint8_t(x >> (8 * i)));
}
void put32(Bytes8& v, std::size_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(std::uint8_t(x >> (8 * i)));
}

// One frame `len, 131, 68, 0, body` appended to q.ready() and committed.
void push_body(DistSendQueue& q, DistSendQueue::Sender s, const Bytes8& body) {
  auto& out = q.ready();
  const std::size_t start = out.size();
  put32(out, body.size() + 3);
  out.insert(out.end(), {131, 68, 0});
  out.insert(out.end(), body.begin(), body.end());
  q.commit(s, start);
}

// A SEND_SENDER from `from` with `payload`, the way NodeImpl::write_ctrl queues it.
void push_message(DistSendQueue& q, std::uint32_t from, const Term& payload) {
  const std::size_t start = q.ready().size();
  append_dist_frame(q.ready(), ctrl::SendSender{pid(from), pid(99)}, &payload, FrameFormat::dist_header);
  q.commit(from, start);
}

// The next write's bytes, as the socket sends them (the pieces in order),
// appended to `out`.
void take(DistSendQueue& q, Bytes8& out) {
  DistSendQueue::Write w;
  q.take(w);
  std::size_t n = 0;
  for (const auto& p : w.pieces) {
    out.insert(out.end(), w.data(p), w.data(p) + p.size);
    n += p.size;
  }
  BOOST_TEST(n == w.size);
  q.written(w);
}

// Split a byte stream into frames (without length prefixes).
std::vector<Bytes8> frames_of(const Bytes8& stream) {
  std::vector<Bytes8> out;
  std::size_t at = 0;
  while (at < stream.size()) {
    BOOST_REQUIRE(stream.size() - at >= 4);
    const std::size_t n = (std::size_t(stream[at]) << 24) | (std::size_t(stream[at + 1]) << 16) |
                          (std::size_t(stream[at + 2]) << 8) | stream[at + 3];
    BOOST_REQUIRE(stream.size() - at - 4 >= n);
    out.emplace_back(stream.begin() + std::ptrdiff_t(at + 4), stream.begin() + std::ptrdiff_t(at + 4 + n));
    at += 4 + n;
  }
  return out;
}

// Everything the queue writes, one take() per write, fed to the receiver's
// FragmentAssembler: the payloads of the completed messages, in order of completion.
std::vector<Term> drain_and_receive(DistSendQueue& q, std::size_t* writes = nullptr) {
  FragmentAssembler a(1 << 30);
  std::vector<Term> got;
  std::size_t n = 0;
  while (!q.empty()) {
    Bytes8 w;
    take(q, w);
    ++n;
    for (auto& f : frames_of(w)) {
      auto step = a.feed(f);
      BOOST_REQUIRE(step.kind != FragmentAssembler::Step::Kind::error);
      if (step.kind != FragmentAssembler::Step::Kind::message) continue;
      auto parsed = parse_dist_body(step.body);
      BOOST_REQUIRE(parsed.ok());
      auto& d = *parsed;
      got.push_back(d.payload ? *d.payload : Term(Atom("control_only")));
    }
  }
  BOOST_TEST(a.in_flight() == 0u);
  if (writes) *writes = n;
  return got;
}

Term big(char c, std::size_t n) { return tuple(Atom("big"), Term::binary(std::string(n, c))); }

// The frame of a SEND_SENDER, as the worker encodes a reserved message.
Bytes8 frame_of(std::uint32_t from, const Term& payload) {
  Bytes8 f;
  append_dist_frame(f, ctrl::SendSender{pid(from), pid(99)}, &payload, FrameFormat::dist_header);
  return f;
}

// The frame of a SEND_SENDER from `from` with `payload` encoded ahead, as
// ConnectionManager::send_ctrl_encoded queues it: copied into ready() (a
// span), or with the body handed over (a vector: the head in ready(), the
// body moved in).
Bytes8 body_of(const Term& payload) {
  Bytes8 body;
  encode_to(body, payload);
  return body;
}
void push_copied(DistSendQueue& q, std::uint32_t from, const Term& payload) {
  const Bytes8 body = body_of(payload);
  const std::size_t start = q.ready().size();
  BOOST_REQUIRE(append_dist_frame(q.ready(), ctrl::SendSender{pid(from), pid(99)}, FramePayload::encoded_body(body),
                                  FrameFormat::dist_header));
  q.commit(from, start);
}
void push_owned(DistSendQueue& q, std::uint32_t from, const Term& payload) {
  Bytes8 body = body_of(payload);
  const std::size_t start = q.ready().size();
  BOOST_REQUIRE(append_dist_frame(q.ready(), ctrl::SendSender{pid(from), pid(99)},
                                  FramePayload::appended_later(body.size()), FrameFormat::dist_header));
  q.commit(from, start, std::move(body));
}
Bytes8 wire_of(DistSendQueue& q) {
  Bytes8 out;
  while (!q.empty()) take(q, out);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dist_send_queue_test)

BOOST_AUTO_TEST_CASE(small_messages_go_out_whole_and_unchanged) {
  DistSendQueue q(16);
  const Bytes8 body{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};  // exactly the fragment size
  push_body(q, 7, body);
  Bytes8 expect;
  put32(expect, 19);
  expect.insert(expect.end(), {131, 68, 0});
  expect.insert(expect.end(), body.begin(), body.end());
  Bytes8 w;
  take(q, w);
  BOOST_TEST(w == expect);
  BOOST_TEST(q.empty());
  BOOST_TEST(q.messages_fragmented() == 0u);
}

BOOST_AUTO_TEST_CASE(large_message_frames_byte_exact) {
  // Fragment size 4, a 10-byte body: 3 fragments, FragId 3, 2, 1.
  DistSendQueue q(4, 1);  // write slice 1: one fragment per write
  const Bytes8 body{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  push_body(q, 7, body);
  BOOST_TEST(q.messages_fragmented() == 1u);
  BOOST_TEST(q.queued_bytes() == 10u);
  Bytes8 f1, f2, f3;
  take(q, f1);
  take(q, f2);
  take(q, f3);
  BOOST_TEST(q.empty());
  Bytes8 e1;
  put32(e1, 2 + 8 + 8 + 1 + 4);
  e1.insert(e1.end(), {131, 69});
  put64(e1, 1);  // the first sequence id
  put64(e1, 3);
  e1.insert(e1.end(), {0, 10, 11, 12, 13});  // NumberOfAtomCacheRefs 0, then the body
  Bytes8 e2;
  put32(e2, 2 + 8 + 8 + 4);
  e2.insert(e2.end(), {131, 70});
  put64(e2, 1);
  put64(e2, 2);
  e2.insert(e2.end(), {14, 15, 16, 17});
  Bytes8 e3;
  put32(e3, 2 + 8 + 8 + 2);
  e3.insert(e3.end(), {131, 70});
  put64(e3, 1);
  put64(e3, 1);
  e3.insert(e3.end(), {18, 19});
  BOOST_TEST(f1 == e1);
  BOOST_TEST(f2 == e2);
  BOOST_TEST(f3 == e3);
}

BOOST_AUTO_TEST_CASE(reassembled_by_the_receiver_to_the_original_message) {
  DistSendQueue q;  // the real sizes: 64 KiB fragments, 256 KiB writes
  const Term payload = big('x', 3 * 1024 * 1024 + 17);
  push_message(q, 1, payload);
  BOOST_TEST(q.messages_fragmented() == 1u);
  std::size_t writes = 0;
  auto got = drain_and_receive(q, &writes);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST((got[0] == payload));
  BOOST_TEST(writes >= 12u, writes << " writes for 3 MB");  // in slices, not in one
}

BOOST_AUTO_TEST_CASE(sequence_ids_distinct_and_other_senders_in_between) {
  DistSendQueue q(1024, 1);
  push_message(q, 1, big('a', 10 * 1024));
  push_message(q, 2, big('b', 10 * 1024));
  std::vector<Bytes8> frames;
  Bytes8 w;
  take(q, w);  // the first fragment of sender 1's message
  push_message(q, 3, Term(Atom("small")));  // another sender, during the large ones
  while (!q.empty()) {
    take(q, w);
  }
  std::set<std::uint64_t> seqs;
  std::size_t small_at = 0, last_fragment_of_1 = 0, i = 0;
  for (auto& f : frames_of(w)) {
    if (f[1] == 69 || f[1] == 70) {
      std::uint64_t seq = 0, frag = 0;
      for (int k = 0; k < 8; ++k) seq = (seq << 8) | f[std::size_t(2 + k)];
      for (int k = 0; k < 8; ++k) frag = (frag << 8) | f[std::size_t(10 + k)];
      seqs.insert(seq);
      if (seq == 1 && frag == 1) last_fragment_of_1 = i;
    } else {
      small_at = i;
    }
    ++i;
  }
  BOOST_TEST(seqs.size() == 2u);
  BOOST_TEST(small_at < last_fragment_of_1, "the small message waited for the whole large one");
  BOOST_TEST(small_at <= 2u);
}

BOOST_AUTO_TEST_CASE(one_senders_frames_stay_in_order) {
  // Sender 1: large, small, large, small, and its signal (EXIT) last; sender
  // 2's small message overtakes them; every message of sender 1 arrives in
  // the order sent.
  DistSendQueue q(1024, 2048);
  push_message(q, 1, big('a', 8 * 1024));
  push_message(q, 1, tuple(Atom("small"), 1));
  push_message(q, 1, big('b', 5 * 1024));
  BOOST_TEST(q.holding(1));
  BOOST_TEST(!q.holding(2));
  push_message(q, 2, tuple(Atom("other"), 2));
  push_message(q, 1, tuple(Atom("small"), 3));
  {
    const std::size_t start = q.ready().size();
    append_dist_frame(q.ready(), ctrl::Exit{pid(1), pid(99), Term(Atom("bye"))}, nullptr, FrameFormat::dist_header);
    q.commit(1, start);
  }
  auto got = drain_and_receive(q);
  BOOST_REQUIRE_EQUAL(got.size(), 6u);
  BOOST_TEST((got[0] == tuple(Atom("other"), 2)));
  BOOST_TEST((got[1] == big('a', 8 * 1024)));
  BOOST_TEST((got[2] == tuple(Atom("small"), 1)));
  BOOST_TEST((got[3] == big('b', 5 * 1024)));
  BOOST_TEST((got[4] == tuple(Atom("small"), 3)));
  BOOST_TEST((got[5] == Term(Atom("control_only"))));  // the EXIT signal, last
  BOOST_TEST(!q.holding(1));
  BOOST_TEST(q.queued_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(signal_of_a_sender_follows_its_fragmented_message) {
  DistSendQueue q(1024, 1);
  push_message(q, 1, big('a', 4 * 1024));
  const std::size_t start = q.ready().size();
  append_dist_frame(q.ready(), ctrl::Exit{pid(1), pid(99), Term(Atom("bye"))}, nullptr, FrameFormat::dist_header);
  q.commit(1, start);
  Bytes8 w;
  while (!q.empty()) take(q, w);
  auto frames = frames_of(w);
  BOOST_REQUIRE(frames.size() == 6u);  // 5 fragments (4 KiB + the control message and tuple), then the EXIT
  BOOST_TEST(frames[5][1] == 68);
  for (std::size_t k = 0; k < 5; ++k) BOOST_TEST(frames[k][1] == (k == 0 ? 69 : 70));
}

BOOST_AUTO_TEST_CASE(a_reserved_message_holds_its_senders_later_ones_until_filled) {
  DistSendQueue q(1024, 4096);
  auto t = q.reserve(1);
  push_message(q, 1, tuple(Atom("after"), 1));
  push_message(q, 2, tuple(Atom("other"), 2));
  BOOST_TEST(q.holding(1));
  BOOST_TEST(q.reserved() == 1u);
  // Only the other sender's message can go.
  auto first = drain_and_receive(q);
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  BOOST_TEST((first[0] == tuple(Atom("other"), 2)));
  // Filled with a large message: fragmented, then what waited.
  q.fill(t, frame_of(1, big('r', 5000)));
  auto rest = drain_and_receive(q);
  BOOST_REQUIRE_EQUAL(rest.size(), 2u);
  BOOST_TEST((rest[0] == big('r', 5000)));
  BOOST_TEST((rest[1] == tuple(Atom("after"), 1)));
  BOOST_TEST(!q.holding(1));
  BOOST_TEST(q.reserved() == 0u);
  BOOST_TEST(q.queued_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(a_reservation_behind_a_fragmented_message_keeps_its_place) {
  DistSendQueue q(1024, 1);
  push_message(q, 1, big('a', 4 * 1024));
  auto t1 = q.reserve(1);
  auto t2 = q.reserve(1);
  push_message(q, 1, tuple(Atom("last"), 3));
  // The second is encoded first, and the large message is still being
  // written when the first turns out to be dropped (it could not be encoded).
  q.fill(t2, frame_of(1, tuple(Atom("second"), 2)));
  Bytes8 w;
  take(q, w);  // one fragment of the large message
  q.fill(t1, {});
  while (!q.empty()) take(q, w);
  FragmentAssembler a(1 << 30);
  std::vector<Term> got;
  for (auto& f : frames_of(w)) {
    auto step = a.feed(f);
    BOOST_REQUIRE(step.kind != FragmentAssembler::Step::Kind::error);
    if (step.kind == FragmentAssembler::Step::Kind::message) got.push_back(*parse_dist_body(step.body)->payload);
  }
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  BOOST_TEST((got[0] == big('a', 4 * 1024)));
  BOOST_TEST((got[1] == tuple(Atom("second"), 2)));
  BOOST_TEST((got[2] == tuple(Atom("last"), 3)));
  BOOST_TEST(!q.holding(1));
  BOOST_TEST(q.reserved() == 0u);
}

BOOST_AUTO_TEST_CASE(a_dropped_reservation_releases_what_waited_behind_it) {
  DistSendQueue q(1024, 4096);
  auto t = q.reserve(7);
  push_message(q, 7, tuple(Atom("a"), 1));
  push_message(q, 7, tuple(Atom("b"), 2));
  BOOST_TEST(drain_and_receive(q).empty());
  q.fill(t, {});
  auto got = drain_and_receive(q);
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST((got[0] == tuple(Atom("a"), 1)));
  BOOST_TEST((got[1] == tuple(Atom("b"), 2)));
  q.fill(t, frame_of(7, Term(1)));  // a second fill of the same ticket: ignored
  BOOST_TEST(q.empty());
}

// The ownership path (a body handed over, fragments written from it in
// place) puts the same bytes on the wire as the copy path, whole or in
// fragments, wherever the fragment boundaries fall (in the control
// message, at the start of the body, inside it).
BOOST_AUTO_TEST_CASE(an_owned_body_goes_out_byte_for_byte_as_a_copied_one) {
  std::vector<std::size_t> sizes{0, 1, 500, 2047, 2048, 2049, 5000, 10'000};
  for (std::size_t n = 960; n <= 1040; ++n) sizes.push_back(n);  // around one fragment of body
  for (std::size_t slice : {std::size_t{1}, std::size_t{4096}}) {
    for (std::size_t n : sizes) {
      const Term payload = big('p', n);
      DistSendQueue copied(1024, slice), owned(1024, slice);
      push_copied(copied, 1, payload);
      push_owned(owned, 1, payload);
      BOOST_TEST(owned.queued_bytes() == copied.queued_bytes(), n);
      BOOST_TEST(owned.messages_fragmented() == copied.messages_fragmented(), n);
      const Bytes8 a = wire_of(copied), b = wire_of(owned);
      BOOST_TEST((a == b), "payload of " << n << " bytes, write slice " << slice);
      BOOST_TEST(owned.queued_bytes() == 0u);
    }
  }
  // And what arrives is the message.
  DistSendQueue q(1024, 4096);
  push_owned(q, 1, big('z', 5000));
  auto got = drain_and_receive(q);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST((got[0] == big('z', 5000)));
}

// Owned and copied messages of several senders, signals, a tick, and writes
// taken in between: the same wire bytes and the same queued_bytes() (the
// back-pressure limit) at every step, and each sender's order kept.
BOOST_AUTO_TEST_CASE(owned_bodies_interleave_with_other_frames_as_copied_ones) {
  DistSendQueue copied(1024, 1), owned(1024, 1);  // each write: the ready frames and one fragment
  Bytes8 wire_copied, wire_owned;
  auto both = [&](auto&& op) {
    op(copied, false);
    op(owned, true);
    BOOST_TEST(copied.queued_bytes() == owned.queued_bytes());
    BOOST_TEST(copied.holding(1) == owned.holding(1));
  };
  auto push = [&](std::uint32_t from, const Term& t) {
    both([&](DistSendQueue& q, bool own) { own ? push_owned(q, from, t) : push_copied(q, from, t); });
  };
  auto write = [&] {
    take(copied, wire_copied);
    take(owned, wire_owned);
  };
  push(1, big('a', 6000));              // fragmented
  push(1, tuple(Atom("small"), 1));     // held behind it
  push(2, tuple(Atom("other"), 2));     // goes first
  write();
  push(1, big('b', 3000));              // held, fragmented when released
  both([](DistSendQueue& q, bool) {     // a tick (an empty frame of no sender)
    q.ready().insert(q.ready().end(), {0, 0, 0, 0});
  });
  push(2, big('c', 2500));              // a second sender's fragmented message, round-robin with 1's
  write();
  both([](DistSendQueue& q, bool) {     // 1's EXIT signal, behind all of 1's messages
    const std::size_t start = q.ready().size();
    append_dist_frame(q.ready(), ctrl::Exit{pid(1), pid(99), Term(Atom("bye"))}, nullptr, FrameFormat::dist_header);
    q.commit(1, start);
  });
  push(3, tuple(Atom("third"), 3));
  write();
  write();
  BOOST_TEST(owned.queued_bytes() > 0u);
  while (!copied.empty() || !owned.empty()) write();
  BOOST_TEST((wire_copied == wire_owned));
  BOOST_TEST(owned.queued_bytes() == 0u);
  BOOST_TEST(!owned.holding(1));

  // The receiver gets 1's messages in order, the others between them.
  FragmentAssembler a(1 << 30);
  std::vector<Term> got;
  auto frames = frames_of(wire_owned);
  for (auto& f : frames) {
    if (f.empty()) continue;  // the tick
    auto step = a.feed(f);
    BOOST_REQUIRE(step.kind != FragmentAssembler::Step::Kind::error);
    if (step.kind != FragmentAssembler::Step::Kind::message) continue;
    auto d = parse_dist_body(step.body);
    BOOST_REQUIRE(d.ok());
    got.push_back(d->payload ? *d->payload : Term(Atom("exit")));
  }
  BOOST_REQUIRE_EQUAL(got.size(), 7u);
  auto at = [&](const Term& t) { return std::find(got.begin(), got.end(), t) - got.begin(); };
  BOOST_TEST(at(tuple(Atom("other"), 2)) == 0);
  BOOST_TEST(at(big('a', 6000)) < at(tuple(Atom("small"), 1)));
  BOOST_TEST(at(tuple(Atom("small"), 1)) < at(big('b', 3000)));
  BOOST_TEST(at(big('b', 3000)) < at(Term(Atom("exit"))));
  BOOST_TEST(at(big('c', 2500)) < 7);
  BOOST_TEST(at(tuple(Atom("third"), 3)) < at(Term(Atom("exit"))));  // not held behind sender 1
}

// What makes queueing a 67 MB slice cheap: the write copies only fragment
// headers (and ready frames); the bodies are slices of the buffer handed
// over (or of the frame, on the copy path), and the write whose last
// fragment it is hands that buffer back in `done` (to be freed elsewhere).
BOOST_AUTO_TEST_CASE(fragment_bodies_are_written_from_the_message_in_place) {
  for (bool own : {true, false}) {
    DistSendQueue q;  // 64 KiB fragments, 256 KiB writes
    const Term payload = big('m', 1024 * 1024);
    const std::uint8_t* buffer = nullptr;
    std::size_t buffer_size = 0;
    {
      Bytes8 body = body_of(payload);
      buffer = body.data();
      buffer_size = body.size();
      const std::size_t start = q.ready().size();
      if (own) {
        append_dist_frame(q.ready(), ctrl::SendSender{pid(1), pid(99)}, FramePayload::appended_later(body.size()),
                          FrameFormat::dist_header);
        q.commit(1, start, std::move(body));
      } else {
        append_dist_frame(q.ready(), ctrl::SendSender{pid(1), pid(99)}, FramePayload::encoded_body(body),
                          FrameFormat::dist_header);
        buffer = q.ready().data() + q.ready().size() - body.size();  // the body's copy in the frame
        q.commit(1, start);
      }
    }
    std::size_t writes = 0, referenced = 0;
    bool handed_back = false;
    while (!q.empty()) {
      DistSendQueue::Write w;
      q.take(w);
      ++writes;
      BOOST_TEST(w.bytes.size() < 200u, "copied " << w.bytes.size() << " bytes into write " << writes);
      const auto lo = reinterpret_cast<std::uintptr_t>(buffer), hi = lo + buffer_size;
      for (const auto& p : w.pieces) {
        if (!p.data) continue;
        const auto a = std::max(lo, reinterpret_cast<std::uintptr_t>(p.data)), b = std::min(hi, reinterpret_cast<std::uintptr_t>(p.data) + p.size);
        if (a < b) referenced += b - a;  // the part of this piece that is the body's buffer
      }
      for (const auto& d : w.done) {
        const auto at = reinterpret_cast<std::uintptr_t>(d.data());
        handed_back = handed_back || (at <= lo && lo < at + d.size());
      }
      BOOST_TEST((handed_back == q.empty()));  // kept by the queue until its last fragment is taken
      q.written(w);
    }
    BOOST_TEST(writes >= 4u);
    BOOST_TEST(referenced == buffer_size, (own ? "owned" : "copied"));
    BOOST_TEST(handed_back);
  }
}

// A small body handed over is copied into the ready frames (one buffer, one
// piece), so many small encoded sends still make one write.
BOOST_AUTO_TEST_CASE(small_owned_bodies_join_the_ready_frames) {
  DistSendQueue q(1024);
  for (int i = 0; i < 10; ++i) push_owned(q, 1, tuple(Atom("n"), i));
  DistSendQueue::Write w;
  q.take(w);
  BOOST_TEST(w.pieces.size() == 1u);
  BOOST_TEST(w.done.empty());
  BOOST_TEST(q.empty());
  std::size_t n = 0;
  for (auto& f : frames_of(Bytes8(w.bytes.begin(), w.bytes.end()))) {
    auto d = parse_dist_body(std::span<const std::uint8_t>(f).subspan(3));
    BOOST_REQUIRE(d.ok());
    BOOST_TEST((*d->payload == tuple(Atom("n"), int(n))));
    ++n;
  }
  BOOST_TEST(n == 10u);
}

// Memory a connection keeps for writing: reused while writes follow one
// another, given back once the queue runs dry (an idle connection between
// sync rounds held its largest write slice, 512 KB, for good).
BOOST_AUTO_TEST_CASE(the_write_buffer_is_kept_between_writes_and_given_back_when_the_queue_runs_dry) {
  DistSendQueue q;  // default fragment size and write slice
  push_body(q, 7, Bytes8(2 * 1024 * 1024, 42));                                     // a fragmented message
  for (int i = 0; i < 20; ++i) push_body(q, 8, Bytes8(8 * 1024, std::uint8_t(i)));  // and 160 KB of small frames
  DistSendQueue::Write w;
  q.take(w);
  const std::size_t grown = w.bytes.capacity();
  BOOST_TEST(grown >= 160u * 1024);
  q.written(w);
  BOOST_TEST(w.bytes.empty());
  BOOST_TEST(w.pieces.empty());
  BOOST_TEST(w.size == 0u);
  BOOST_TEST(w.bytes.capacity() == grown);  // fragments left: no reallocation for the next write
  std::size_t writes = 1;
  while (!q.empty()) {
    q.take(w);
    q.written(w);
    ++writes;
  }
  BOOST_TEST(writes > 2u);
  BOOST_TEST(w.bytes.capacity() <= kIdleWriteBuffer);
  BOOST_TEST(q.ready_capacity() <= kIdleWriteBuffer);
}

BOOST_AUTO_TEST_CASE(a_burst_of_small_messages_leaves_no_grown_buffer_behind) {
  DistSendQueue q;
  for (int i = 0; i < 100; ++i) push_body(q, 7, Bytes8(8 * 1024, std::uint8_t(i)));  // each under the fragment size
  DistSendQueue::Write w;
  w.bytes.reserve(512 * 1024);  // grown by an earlier write
  q.take(w);                    // the 800 KB of ready frames become w.bytes; its old buffer becomes ready()
  BOOST_TEST(w.size > 800u * 1024);
  BOOST_TEST(w.pieces.size() == 1u);  // one piece: one buffer for the socket
  BOOST_TEST(q.ready_capacity() >= 512u * 1024);
  q.written(w);
  BOOST_TEST(w.bytes.capacity() <= kIdleWriteBuffer);
  BOOST_TEST(q.ready_capacity() <= kIdleWriteBuffer);
}

BOOST_AUTO_TEST_SUITE_END()
