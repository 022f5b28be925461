#include "cnode/dist_send_queue.hpp"

#include <algorithm>

namespace hc::cnode {
namespace {
constexpr std::size_t kHeader = 4 + 3;  // len:32, 131, 68, 0

void put32(std::vector<std::uint8_t>& out, std::size_t at, std::size_t n) {
  out[at] = std::uint8_t(n >> 24);
  out[at + 1] = std::uint8_t(n >> 16);
  out[at + 2] = std::uint8_t(n >> 8);
  out[at + 3] = std::uint8_t(n);
}
void push64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(std::uint8_t(v >> (8 * i)));
}
}  // namespace

DistSendQueue::Message DistSendQueue::cut(std::size_t start) {
  Message m;
  if (start == 0) {
    m.bytes.swap(ready_);  // a large message alone in the buffer: no copy
  } else {
    m.bytes.assign(ready_.begin() + std::ptrdiff_t(start), ready_.end());
    ready_.resize(start);
  }
  return m;
}

void DistSendQueue::commit(Sender sender, std::size_t start) { commit(sender, start, nullptr); }

void DistSendQueue::commit(Sender sender, std::size_t start, std::vector<std::uint8_t> payload) {
  commit(sender, start, &payload);
}

void DistSendQueue::commit(Sender sender, std::size_t start, std::vector<std::uint8_t>* payload) {
  const std::size_t tail = payload ? payload->size() : 0;
  const std::size_t body = ready_.size() - start - kHeader + tail;
  auto held = held_.find(sender);
  if (held == held_.end() && body <= fragment_size_) {
    // Goes out whole with the ready frames: a small copy.
    if (tail) ready_.insert(ready_.end(), payload->begin(), payload->end());
    return;
  }
  Message m = cut(start);
  if (payload) m.tail = std::move(*payload);
  if (held != held_.end()) {
    queued_ += m.size();
    held->second.push_back(std::move(m));
    return;
  }
  m.pos = kHeader;
  start_fragmented(sender, std::move(m));
}

void DistSendQueue::start_fragmented(Sender sender, Message m) {
  const std::size_t body = m.left();
  Fragmented f{sender, std::move(m), next_seq_++, (body + fragment_size_ - 1) / fragment_size_, false};
  queued_ += body;
  ++messages_fragmented_;
  held_[sender];  // later messages of `sender` wait behind this one
  active_.push_back(std::move(f));
}

namespace {
// `n` more bytes of out.bytes (just appended) as a piece; joined to the
// last piece when that one ends where they start.
void add_copied(DistSendQueue::Write& out, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = out.bytes.size() - n;
  if (!out.pieces.empty() && !out.pieces.back().data && out.pieces.back().at + out.pieces.back().size == at)
    out.pieces.back().size += n;
  else
    out.pieces.push_back({nullptr, at, n});
  out.size += n;
}
void add_referenced(DistSendQueue::Write& out, const std::uint8_t* p, std::size_t n) {
  if (n == 0) return;
  out.pieces.push_back({p, 0, n});
  out.size += n;
}
}  // namespace

void DistSendQueue::emit_fragment(Fragmented& f, Write& out) {
  Message& m = f.msg;
  const std::size_t n = std::min(fragment_size_, m.left());
  const std::size_t at = out.bytes.size();
  out.bytes.resize(at + 4);
  out.bytes.push_back(131);
  out.bytes.push_back(f.started ? 70 : 69);
  push64(out.bytes, f.seq);
  push64(out.bytes, f.left);
  if (!f.started) out.bytes.push_back(0);  // NumberOfAtomCacheRefs
  put32(out.bytes, at, out.bytes.size() - at - 4 + n);
  add_copied(out, out.bytes.size() - at);
  // The body: what is left of `bytes`, then of `tail`, in place.
  const std::size_t from_bytes = std::min(n, m.bytes.size() - m.pos);
  add_referenced(out, m.bytes.data() + m.pos, from_bytes);
  m.pos += from_bytes;
  add_referenced(out, m.tail.data() + m.tail_pos, n - from_bytes);
  m.tail_pos += n - from_bytes;
  queued_ -= n;
  f.started = true;
  --f.left;
}

DistSendQueue::Ticket DistSendQueue::reserve(Sender sender) {
  const Ticket t = next_ticket_++;
  Message m;
  m.ticket = t;
  held_[sender].push_back(std::move(m));
  reserved_.emplace(t, sender);
  return t;
}

bool DistSendQueue::active_for(Sender sender) const {
  return std::any_of(active_.begin(), active_.end(), [&](const Fragmented& f) { return f.sender == sender; });
}

void DistSendQueue::fill(Ticket ticket, std::vector<std::uint8_t> frame) {
  auto r = reserved_.find(ticket);
  if (r == reserved_.end()) return;
  const Sender sender = r->second;
  reserved_.erase(r);
  auto& q = held_[sender];
  auto m = std::find_if(q.begin(), q.end(), [&](const Message& x) { return x.ticket == ticket; });
  if (m == q.end()) return;
  if (frame.size() <= kHeader) {
    q.erase(m);
  } else {
    m->bytes = std::move(frame);
    m->ticket = 0;
    queued_ += m->bytes.size();
  }
  // At the front with nothing of this sender being written: it goes now
  // (fragmented when large), and what waited behind it up to the next
  // reserved one.
  if (!active_for(sender)) release(sender, ready_);
}

void DistSendQueue::release(Sender sender, std::vector<std::uint8_t>& out) {
  auto it = held_.find(sender);
  if (it == held_.end()) return;
  auto& q = it->second;
  while (!q.empty()) {
    if (q.front().ticket != 0) return;  // reserved, not yet encoded: the rest stays behind it
    Message m = std::move(q.front());
    q.pop_front();
    queued_ -= m.size();
    if (m.size() - kHeader > fragment_size_) {
      m.pos = kHeader;
      // Still held: the rest of q stays behind this one.
      const std::size_t body = m.left();
      Fragmented f{sender, std::move(m), next_seq_++, (body + fragment_size_ - 1) / fragment_size_, false};
      queued_ += body;
      ++messages_fragmented_;
      active_.push_back(std::move(f));
      return;
    }
    out.insert(out.end(), m.bytes.begin(), m.bytes.end());
    out.insert(out.end(), m.tail.begin(), m.tail.end());
  }
  held_.erase(it);
}

void DistSendQueue::take(Write& out) {
  const std::size_t before = out.bytes.size();
  if (out.bytes.empty()) out.bytes.swap(ready_);
  else out.bytes.insert(out.bytes.end(), ready_.begin(), ready_.end());
  ready_.clear();
  add_copied(out, out.bytes.size() - before);
  bool first = true;
  while (!active_.empty() && (first || out.size < write_slice_)) {
    first = false;
    Fragmented f = std::move(active_.front());
    active_.pop_front();
    emit_fragment(f, out);
    if (f.left > 0) {
      active_.push_back(std::move(f));
      continue;
    }
    // Referenced by this write until it is written.
    if (f.msg.bytes.capacity()) out.done.push_back(std::move(f.msg.bytes));
    if (f.msg.tail.capacity()) out.done.push_back(std::move(f.msg.tail));
    const std::size_t at = out.bytes.size();
    release(f.sender, out.bytes);
    add_copied(out, out.bytes.size() - at);
  }
}

void DistSendQueue::written(Write& out) noexcept {
  out.bytes.clear();
  out.pieces.clear();
  out.done.clear();
  out.size = 0;
  const std::size_t keep = empty() ? kIdleWriteBuffer : kKeepWriteBuffer;
  if (out.bytes.capacity() > keep) std::vector<std::uint8_t>().swap(out.bytes);
  // take() swapped the last write buffer in here: an idle queue gives back
  // a grown one too (ready_ is empty then).
  if (empty() && ready_.capacity() > kIdleWriteBuffer) std::vector<std::uint8_t>().swap(ready_);
}

}  // namespace hc::cnode
