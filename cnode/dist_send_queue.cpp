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

void DistSendQueue::commit(Sender sender, std::size_t start) {
  const std::size_t body = ready_.size() - start - kHeader;
  const bool large = body > fragment_size_;
  if (auto it = held_.find(sender); it != held_.end()) {
    Message m = cut(start);
    queued_ += m.bytes.size();
    it->second.push_back(std::move(m));
    return;
  }
  if (!large) return;
  Message m = cut(start);
  m.pos = kHeader;
  start_fragmented(sender, std::move(m));
}

void DistSendQueue::start_fragmented(Sender sender, Message m) {
  const std::size_t body = m.bytes.size() - m.pos;
  Fragmented f{sender, std::move(m), next_seq_++, (body + fragment_size_ - 1) / fragment_size_, false};
  queued_ += f.msg.bytes.size() - f.msg.pos;
  ++messages_fragmented_;
  held_[sender];  // later messages of `sender` wait behind this one
  active_.push_back(std::move(f));
}

void DistSendQueue::emit_fragment(Fragmented& f, std::vector<std::uint8_t>& out) {
  const std::size_t n = std::min(fragment_size_, f.msg.bytes.size() - f.msg.pos);
  const std::size_t at = out.size();
  out.resize(at + 4);
  out.push_back(131);
  out.push_back(f.started ? 70 : 69);
  push64(out, f.seq);
  push64(out, f.left);
  if (!f.started) out.push_back(0);  // NumberOfAtomCacheRefs
  const auto* p = f.msg.bytes.data() + f.msg.pos;
  out.insert(out.end(), p, p + n);
  put32(out, at, out.size() - at - 4);
  f.msg.pos += n;
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
    queued_ -= m.bytes.size();
    if (m.bytes.size() - kHeader > fragment_size_) {
      m.pos = kHeader;
      // Still held: the rest of q stays behind this one.
      const std::size_t body = m.bytes.size() - m.pos;
      Fragmented f{sender, std::move(m), next_seq_++, (body + fragment_size_ - 1) / fragment_size_, false};
      queued_ += body;
      ++messages_fragmented_;
      active_.push_back(std::move(f));
      return;
    }
    out.insert(out.end(), m.bytes.begin(), m.bytes.end());
  }
  held_.erase(it);
}

void DistSendQueue::take(std::vector<std::uint8_t>& out) {
  if (out.empty()) out.swap(ready_);
  else out.insert(out.end(), ready_.begin(), ready_.end());
  ready_.clear();
  bool first = true;
  while (!active_.empty() && (first || out.size() < write_slice_)) {
    first = false;
    Fragmented f = std::move(active_.front());
    active_.pop_front();
    emit_fragment(f, out);
    if (f.left > 0) active_.push_back(std::move(f));
    else release(f.sender, out);
  }
}

void DistSendQueue::written(std::vector<std::uint8_t>& out) noexcept {
  out.clear();
  const std::size_t keep = empty() ? kIdleWriteBuffer : kKeepWriteBuffer;
  if (out.capacity() > keep) std::vector<std::uint8_t>().swap(out);
  // take() swapped the last write buffer in here: an idle queue gives back
  // a grown one too (ready_ is empty then).
  if (empty() && ready_.capacity() > kIdleWriteBuffer) std::vector<std::uint8_t>().swap(ready_);
}

}  // namespace hc::cnode
