#include "interop/etf_view.hpp"

#include <cstring>

#include "interop/codec.hpp"
#include "interop/codec_tags.hpp"
#include "interop/error.hpp"

namespace hc {

using namespace etf;

namespace {

// The end of the atom at `p` (the node of a pid, port or reference), or
// nullopt; `err` says why.
std::optional<std::size_t> atom_end(std::span<const std::uint8_t> b, std::size_t p, TermError& err) noexcept {
  auto has = [&](std::size_t n) { return p <= b.size() && n <= b.size() - p; };
  if (!has(1)) return err = TermError::truncated, std::nullopt;
  std::size_t len = 0;
  std::size_t head = 0;
  switch (b[p]) {
    case TAG_ATOM_EXT:
    case TAG_ATOM_UTF8_EXT:
      if (!has(3)) return err = TermError::truncated, std::nullopt;
      len = be16(&b[p + 1]);
      head = 3;
      break;
    case TAG_SMALL_ATOM_EXT:
    case TAG_SMALL_ATOM_UTF8_EXT:
      if (!has(2)) return err = TermError::truncated, std::nullopt;
      len = b[p + 1];
      head = 2;
      break;
    default: return err = TermError::expected_atom, std::nullopt;
  }
  if (len > kMaxAtomBytes) return err = TermError::atom_too_long, std::nullopt;
  if (!has(head + len)) return err = TermError::truncated, std::nullopt;
  return p + head + len;
}

}  // namespace

Result<std::size_t> EtfView::skip(std::size_t pos) const noexcept {
  // Terms still to pass. Each needs at least one byte, so a count beyond
  // the bytes left is absurd (as in the decoder), and the sum never
  // overflows.
  std::size_t pending = 1;
  std::size_t p = pos;
  TermError err = TermError::truncated;
  auto fixed = [&](std::size_t n) -> bool {  // a tag followed by n bytes
    if (!has(p, 1 + n)) return false;
    p += 1 + n;
    return true;
  };
  auto sized = [&](std::size_t head, std::size_t len) -> bool {  // tag, a `head`-byte header, `len` bytes
    if (!has(p, 1 + head) || !has(p + 1 + head, len)) return false;
    p += 1 + head + len;
    return true;
  };
  auto more = [&](std::size_t head, std::size_t n) -> bool {  // tag, header, then n more terms
    if (!has(p, 1 + head)) return false;
    p += 1 + head;
    if (pending > b_.size() - p || n > b_.size() - p - pending) {
      err = TermError::absurd_length;
      return false;
    }
    pending += n;
    return true;
  };
  auto node_then = [&](std::size_t before, std::size_t after) -> bool {  // tag, `before` bytes, an atom, `after` bytes
    if (!has(p, 1 + before)) return false;
    auto e = atom_end(b_, p + 1 + before, err);
    if (!e) return false;
    if (!has(*e, after)) {
      err = TermError::truncated;
      return false;
    }
    p = *e + after;
    return true;
  };
  while (pending > 0) {
    --pending;
    if (!has(p, 1)) return TermError::truncated;
    bool ok = false;
    const std::uint8_t t = b_[p];
    switch (t) {
      case TAG_SMALL_INTEGER_EXT: ok = fixed(1); break;
      case TAG_INTEGER_EXT: ok = fixed(4); break;
      case TAG_NEW_FLOAT_EXT: ok = fixed(8); break;
      case TAG_FLOAT_EXT: ok = fixed(31); break;
      case TAG_NIL_EXT: ok = fixed(0); break;
      case TAG_ATOM_EXT:
      case TAG_ATOM_UTF8_EXT:
      case TAG_SMALL_ATOM_EXT:
      case TAG_SMALL_ATOM_UTF8_EXT: {
        auto e = atom_end(b_, p, err);
        if (e) p = *e;
        ok = e.has_value();
        break;
      }
      case TAG_STRING_EXT: ok = has(p, 3) && sized(2, be16(&b_[p + 1])); break;
      case TAG_BINARY_EXT: ok = has(p, 5) && sized(4, be32(&b_[p + 1])); break;
      case TAG_BIT_BINARY_EXT:
        // As the decoder: the last byte holds 1..8 bits; an empty bitstring has 0.
        if (has(p, 6) && ((be32(&b_[p + 1]) == 0) != (b_[p + 5] == 0) || b_[p + 5] > 8)) {
          err = TermError::bad_length;
          return err;
        }
        ok = has(p, 6) && sized(5, be32(&b_[p + 1]));
        break;
      case TAG_SMALL_BIG_EXT: ok = has(p, 2) && sized(2, b_[p + 1]); break;
      case TAG_LARGE_BIG_EXT: ok = has(p, 5) && sized(5, be32(&b_[p + 1])); break;
      case TAG_SMALL_TUPLE_EXT: ok = has(p, 2) && more(1, b_[p + 1]); break;
      case TAG_LARGE_TUPLE_EXT: ok = has(p, 5) && more(4, be32(&b_[p + 1])); break;
      case TAG_MAP_EXT:
        ok = has(p, 5) && more(4, 2 * static_cast<std::size_t>(be32(&b_[p + 1])));
        break;
      case TAG_LIST_EXT: ok = has(p, 5) && more(4, static_cast<std::size_t>(be32(&b_[p + 1])) + 1); break;
      case TAG_EXPORT_EXT: ok = more(0, 3); break;
      case TAG_NEW_PID_EXT: ok = node_then(0, 12); break;
      case TAG_PID_EXT: ok = node_then(0, 9); break;
      case TAG_NEW_PORT_EXT: ok = node_then(0, 8); break;
      case TAG_V4_PORT_EXT: ok = node_then(0, 12); break;
      case TAG_PORT_EXT: ok = node_then(0, 5); break;
      case TAG_REFERENCE_EXT: ok = node_then(0, 5); break;
      case TAG_NEW_REFERENCE_EXT:
      case TAG_NEWER_REFERENCE_EXT: {
        if (!has(p, 3)) break;
        const std::size_t words = be16(&b_[p + 1]);
        if (words > 5) {
          err = TermError::bad_length;
          return err;
        }
        ok = node_then(2, (t == TAG_NEWER_REFERENCE_EXT ? 4 : 1) + 4 * words);
        break;
      }
      case TAG_NEW_FUN_EXT: {
        // Size counts itself and everything after it up to the fun's end.
        if (!has(p, 5)) break;
        const std::size_t size = be32(&b_[p + 1]);
        if (size < 4 + 1 + 16 + 4 + 4) {  // as the decoder: Size, Arity, Uniq, Index, NumFree
          err = TermError::bad_length;
          return err;
        }
        ok = sized(0, size);
        break;
      }
      case TAG_COMPRESSED:
      case TAG_ATOM_CACHE_REF:
      case TAG_FUN_EXT:
      case TAG_LOCAL_EXT: return TermError::unsupported_tag;
      default: return TermError::unknown_tag;
    }
    if (!ok) return err;
  }
  return p;
}

std::optional<EtfView::Header> EtfView::tuple(std::size_t pos) const noexcept {
  if (has(pos, 2) && b_[pos] == TAG_SMALL_TUPLE_EXT) return Header{b_[pos + 1], pos + 2};
  if (has(pos, 5) && b_[pos] == TAG_LARGE_TUPLE_EXT) return Header{be32(&b_[pos + 1]), pos + 5};
  return std::nullopt;
}

std::optional<EtfView::Header> EtfView::map(std::size_t pos) const noexcept {
  if (has(pos, 5) && b_[pos] == TAG_MAP_EXT) return Header{be32(&b_[pos + 1]), pos + 5};
  return std::nullopt;
}

std::optional<EtfView::Header> EtfView::list(std::size_t pos) const noexcept {
  if (has(pos, 1) && b_[pos] == TAG_NIL_EXT) return Header{0, pos + 1};
  if (has(pos, 5) && b_[pos] == TAG_LIST_EXT) return Header{be32(&b_[pos + 1]), pos + 5};
  return std::nullopt;
}

std::optional<EtfView::Bits> EtfView::bitstring(std::size_t pos) const noexcept {
  if (has(pos, 5) && b_[pos] == TAG_BINARY_EXT) {
    const std::size_t len = be32(&b_[pos + 1]);
    if (!has(pos + 5, len)) return std::nullopt;
    return Bits{b_.subspan(pos + 5, len), len * 8, pos + 5 + len};
  }
  if (has(pos, 6) && b_[pos] == TAG_BIT_BINARY_EXT) {
    const std::size_t len = be32(&b_[pos + 1]);
    const std::size_t bits = b_[pos + 5];
    if ((len == 0) != (bits == 0) || bits > 8 || !has(pos + 6, len)) return std::nullopt;
    return Bits{b_.subspan(pos + 6, len), len == 0 ? 0 : (len - 1) * 8 + bits, pos + 6 + len};
  }
  return std::nullopt;
}

bool EtfView::is_atom(std::size_t pos, std::string_view ascii) const noexcept {
  if (!has(pos, 2)) return false;
  std::size_t len = 0, head = 0;
  switch (b_[pos]) {
    case TAG_ATOM_EXT:
    case TAG_ATOM_UTF8_EXT:
      if (!has(pos, 3)) return false;
      len = be16(&b_[pos + 1]);
      head = 3;
      break;
    case TAG_SMALL_ATOM_EXT:
    case TAG_SMALL_ATOM_UTF8_EXT:
      len = b_[pos + 1];
      head = 2;
      break;
    default: return false;
  }
  return len == ascii.size() && has(pos + head, len) && std::memcmp(&b_[pos + head], ascii.data(), len) == 0;
}

Result<Term> EtfView::decode(std::size_t pos, std::size_t& end) const {
  std::size_t at = pos;
  auto t = decode_body_at(b_, at);
  if (t) end = at;
  return t;
}

}  // namespace hc
