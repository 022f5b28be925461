#include "cnode/dist_send_queue.hpp"

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
    q.take(w);
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
  q.take(w);
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
  q.take(f1);
  q.take(f2);
  q.take(f3);
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
  q.take(w);  // the first fragment of sender 1's message
  push_message(q, 3, Term(Atom("small")));  // another sender, during the large ones
  while (!q.empty()) {
    q.take(w);
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
  while (!q.empty()) q.take(w);
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
  q.take(w);  // one fragment of the large message
  q.fill(t1, {});
  while (!q.empty()) q.take(w);
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

// Memory a connection keeps for writing: reused while writes follow one
// another, given back once the queue runs dry (an idle connection between
// sync rounds held its largest write slice, 512 KB, for good).
BOOST_AUTO_TEST_CASE(the_write_buffer_is_kept_between_writes_and_given_back_when_the_queue_runs_dry) {
  DistSendQueue q;  // default fragment size and write slice
  push_body(q, 7, Bytes8(2 * 1024 * 1024, 42));
  Bytes8 w;
  q.take(w);
  const std::size_t grown = w.capacity();
  BOOST_TEST(grown >= kWriteSlice);
  q.written(w);
  BOOST_TEST(w.empty());
  BOOST_TEST(w.capacity() == grown);  // fragments left: no reallocation for the next write
  std::size_t writes = 1;
  while (!q.empty()) {
    q.take(w);
    q.written(w);
    ++writes;
  }
  BOOST_TEST(writes > 2u);
  BOOST_TEST(w.capacity() <= kIdleWriteBuffer);
  BOOST_TEST(q.ready_capacity() <= kIdleWriteBuffer);
}

BOOST_AUTO_TEST_CASE(a_burst_of_small_messages_leaves_no_grown_buffer_behind) {
  DistSendQueue q;
  for (int i = 0; i < 100; ++i) push_body(q, 7, Bytes8(8 * 1024, std::uint8_t(i)));  // each under the fragment size
  Bytes8 w;
  w.reserve(512 * 1024);  // grown by an earlier write
  q.take(w);              // the 800 KB of ready frames become w; w's old buffer becomes ready()
  BOOST_TEST(w.size() > 800u * 1024);
  BOOST_TEST(q.ready_capacity() >= 512u * 1024);
  q.written(w);
  BOOST_TEST(w.capacity() <= kIdleWriteBuffer);
  BOOST_TEST(q.ready_capacity() <= kIdleWriteBuffer);
}

BOOST_AUTO_TEST_SUITE_END()
