#include "cnode/dist_fragments.hpp"

#include <algorithm>
#include <new>

#include "cnode/error.hpp"

namespace hc::cnode {
namespace {
constexpr std::size_t kMaxReserve = std::size_t{256} << 20;

std::uint64_t be64(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[static_cast<std::size_t>(i)];
  return v;
}
}  // namespace

FragmentAssembler::Step FragmentAssembler::fail(std::string what) const {
  Step s;
  s.kind = Step::Kind::error;
  s.error = make_error_code(Errc::bad_dist_header);
  s.what = std::move(what);
  return s;
}

FragmentAssembler::Step FragmentAssembler::feed(std::span<const std::uint8_t> frame) {
  if (frame.size() < 2 || frame[0] != 131) return fail("not a distribution header");
  const std::uint8_t kind = frame[1];
  if (kind == 68) {
    if (frame.size() < 3) return fail("distribution header truncated");
    if (frame[2] != 0)
      return fail("atom-cache references in a distribution header (DIST_HDR_ATOM_CACHE was not offered)");
    Step s;
    s.kind = Step::Kind::message;
    s.body = frame.subspan(3);
    return s;
  }
  if (kind != 69 && kind != 70) return fail("unknown distribution header type " + std::to_string(kind));
  const std::size_t head = kind == 69 ? 19 : 18;  // 131, Kind, SeqId, FragId [, NumberOfAtomCacheRefs]
  if (frame.size() < head) return fail("fragment header truncated");
  const std::uint64_t seq = be64(frame.subspan(2, 8));
  const std::uint64_t frag = be64(frame.subspan(10, 8));
  if (frag == 0) return fail("fragment id 0");
  auto data = frame.subspan(head);
  if (kind == 69) {
    if (frame[18] != 0)
      return fail("atom-cache references in a fragment header (DIST_HDR_ATOM_CACHE was not offered)");
    if (sequences_.count(seq)) return fail("fragment sequence " + std::to_string(seq) + " started twice");
    if (frag == 1) {  // a fragmented message of one fragment
      Step s;
      s.kind = Step::Kind::message;
      s.body = data;
      return s;
    }
    if (sequences_.size() >= max_sequences_)
      return fail("more than " + std::to_string(max_sequences_) + " fragmented messages in flight");
    if (data.size() > max_message_) return fail("fragmented message exceeds the maximum frame size");
    Sequence& q = sequences_[seq];
    q.next_fragment = frag - 1;
    // Room for all `frag` fragments at the first one's size (senders cut
    // equal fragments): growing by doubling instead copied up to half the
    // message in the turn of one fragment (42 ms at 32 -> 64 MB, issue 13).
    // The peer only claims the size: at most max_message and kMaxReserve
    // (beyond: doubling again), and a refused reservation is no error.
    const std::size_t cap = std::min(max_message_, kMaxReserve) / std::max<std::size_t>(data.size(), 1);
    try {
      q.bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(frag, cap)) * data.size());
    } catch (const std::bad_alloc&) {
    }
    q.bytes.assign(data.begin(), data.end());
    return Step{};
  }
  auto it = sequences_.find(seq);
  if (it == sequences_.end()) return fail("fragment of unknown sequence " + std::to_string(seq));
  Sequence& q = it->second;
  if (frag != q.next_fragment)
    return fail("fragment " + std::to_string(frag) + " of sequence " + std::to_string(seq) + " out of order (expected " +
                std::to_string(q.next_fragment) + ")");
  if (q.bytes.size() + data.size() > max_message_)
    return fail("fragmented message exceeds the maximum frame size (" + std::to_string(max_message_) + " bytes)");
  q.bytes.insert(q.bytes.end(), data.begin(), data.end());
  if (frag > 1) {
    q.next_fragment = frag - 1;
    return Step{};
  }
  done_ = std::move(q.bytes);
  sequences_.erase(it);
  Step s;
  s.kind = Step::Kind::message;
  s.body = done_;
  return s;
}

std::vector<std::uint8_t> FragmentAssembler::take_body(std::span<const std::uint8_t> body) {
  if (!done_.empty() && body.data() == done_.data() && body.size() == done_.size()) {
    std::vector<std::uint8_t> out = std::move(done_);
    done_ = {};
    return out;
  }
  return {body.begin(), body.end()};
}

std::size_t FragmentAssembler::bytes_held() const noexcept {
  std::size_t n = done_.capacity();
  for (const auto& [seq, q] : sequences_) n += q.bytes.capacity();
  return n;
}

}  // namespace hc::cnode
