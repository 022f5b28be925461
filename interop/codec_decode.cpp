// External term format decoder over erl_interface: the bounded, iterative
// walk behind decode()/decode_at() (see codec.hpp for the contract; the
// encoder is codec_encode.cpp). Tag names and layouts follow erl_ext_dist
// (OTP 25).
#include "interop/codec.hpp"

#include <ei.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "interop/codec_tags.hpp"
#include "interop/utf8.hpp"

namespace hc {
namespace {
using namespace etf;

constexpr std::size_t kMaxRefWords = 5;          // erlang_ref::n[5]; OTP 25 uses at most 5
constexpr std::size_t kMaxFunNesting = max_fun_nesting;  // funs recurse on the C++ stack: keep it shallow

// Make room for n more elements, growing geometrically: a long chain of
// improper-tail continuations must not reallocate on every link.
void grow(TermVector& v, std::size_t n) {
  if (v.capacity() - v.size() >= n) return;
  v.reserve(std::max(v.size() + n, 2 * v.capacity()));
}

// ---------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------
class Decoder {
 public:
  Decoder(const std::uint8_t* buf, std::size_t end, std::size_t pos) : buf_(buf), end_(end), pos_(pos) {}

  std::size_t pos() const { return pos_; }

  // Decode one term (no version byte). `depth` is the nesting already used
  // by enclosing decoders (fun environments); `fun_depth` the fun nesting.
  Result<Term> term(std::size_t depth = 0, std::size_t fun_depth = 0);
  static constexpr std::size_t frame_bytes() noexcept;

 private:
  struct Frame {
    enum Kind : std::uint8_t { Tuple, List, Map } kind;
    bool tail_pending = false;  // list: the next delivered term is the tail
    std::size_t remaining = 0;  // elements still to come (maps: keys + values)
    TermVector items;           // tuple and list elements
    TermPairs pairs;            // map entries
    Term key;                   // map: the key waiting for its value
  };

  // ei takes its position as an `int`: it gets a pointer at our position and
  // an index relative to it, so terms past 2 GiB into a buffer decode too.
  const char* here() const { return reinterpret_cast<const char*>(buf_ + pos_); }
  std::size_t left() const { return end_ - pos_; }
  bool need(std::size_t n) const { return left() >= n; }

  Result<Term> scalar(std::uint8_t tag);
  Result<Atom> atom();
  Result<Term> integer_term();
  Result<Term> big(std::uint8_t tag);
  Result<Term> pid(std::uint8_t tag);
  Result<Term> port(std::uint8_t tag);
  Result<Term> reference(std::uint8_t tag);
  Result<Term> new_fun(std::size_t depth, std::size_t fun_depth);
  Result<Term> export_fun();
  Result<Term> binary();
  Result<Term> bit_binary();
  Result<Term> flt(std::uint8_t tag);

  const std::uint8_t* buf_;
  std::size_t end_;  // one past the last byte we may read
  std::size_t pos_;
};

TermError classify_tag(std::uint8_t tag) {
  switch (tag) {
    case TAG_COMPRESSED:
    case TAG_ATOM_CACHE_REF:
    case TAG_FUN_EXT:
    case TAG_LOCAL_EXT: return TermError::unsupported_tag;
    default: return TermError::unknown_tag;
  }
}

Result<Atom> Decoder::atom() {
  if (!need(1)) return TermError::truncated;
  const std::uint8_t tag = buf_[pos_];
  std::size_t header;
  std::size_t len;
  bool utf8;
  switch (tag) {
    case TAG_ATOM_EXT:
    case TAG_ATOM_UTF8_EXT:
      if (!need(3)) return TermError::truncated;
      header = 3;
      len = be16(buf_ + pos_ + 1);
      utf8 = tag == TAG_ATOM_UTF8_EXT;
      break;
    case TAG_SMALL_ATOM_EXT:
    case TAG_SMALL_ATOM_UTF8_EXT:
      if (!need(2)) return TermError::truncated;
      header = 2;
      len = buf_[pos_ + 1];
      utf8 = tag == TAG_SMALL_ATOM_UTF8_EXT;
      break;
    default: return TermError::expected_atom;
  }
  if (!need(header + len)) return TermError::truncated;
  const std::uint8_t* text = buf_ + pos_ + header;
  std::size_t out_len = len;
  if (utf8) {
    if (len > kMaxAtomBytes) return TermError::atom_too_long;
    std::size_t chars = 0;
    if (!utf8_count(text, len, chars)) return TermError::invalid_utf8_atom;
    if (chars > kMaxAtomChars) return TermError::atom_too_long;
  } else {
    if (len > kMaxAtomChars) return TermError::atom_too_long;
    for (std::size_t i = 0; i < len; ++i) out_len += text[i] >= 0x80;  // Latin-1 -> 2-byte UTF-8
  }
  // ei converts Latin-1 to UTF-8 for us; the text may contain NUL bytes, so
  // the length comes from the count above, not from strlen.
  char out[MAXATOMLEN_UTF8];
  int index = 0;
  erlang_char_encoding was{};
  erlang_char_encoding result{};
  if (ei_decode_atom_as(here(), &index, out, sizeof out, ERLANG_UTF8, &was, &result) < 0) return TermError::ei_failure;
  if (static_cast<std::size_t>(index) != header + len) return TermError::ei_failure;
  auto a = Atom::bounded(std::string_view(out, out_len));
  if (!a) return TermError::atom_table_full;
  pos_ += static_cast<std::size_t>(index);
  return *a;
}

Result<Term> Decoder::integer_term() {
  if (!need(1)) return TermError::truncated;
  std::uint8_t tag = buf_[pos_];
  if (tag == TAG_SMALL_INTEGER_EXT || tag == TAG_INTEGER_EXT) return scalar(tag);
  if (tag == TAG_SMALL_BIG_EXT || tag == TAG_LARGE_BIG_EXT) return big(tag);
  return TermError::expected_integer;
}

Result<Term> Decoder::big(std::uint8_t tag) {
  std::size_t header = tag == TAG_SMALL_BIG_EXT ? 3 : 6;
  if (!need(header)) return TermError::truncated;
  std::size_t n = tag == TAG_SMALL_BIG_EXT ? buf_[pos_ + 1] : be32(buf_ + pos_ + 1);
  std::uint8_t sign = buf_[pos_ + header - 1];
  if (!need(header + n)) return TermError::truncated;
  if (sign > 1) return TermError::bad_bigint;
  // Digits are already little-endian base 256, the BigInt layout; small
  // values are normalised to Integer by the Term constructor.
  const std::uint8_t* d = buf_ + pos_ + header;
  if (n <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < n; ++i) u |= static_cast<std::uint64_t>(d[i]) << (8 * i);
    if (!sign && u <= static_cast<std::uint64_t>(INT64_MAX)) {
      pos_ += header + n;
      return Term(static_cast<std::int64_t>(u));
    }
  }
  BigInt b;
  b.negative = sign == 1;
  b.magnitude.assign(d, d + n);
  pos_ += header + n;
  return Term(std::move(b));
}

Result<Term> Decoder::flt(std::uint8_t tag) {
  double d = 0;
  if (tag == TAG_NEW_FLOAT_EXT) {
    if (!need(9)) return TermError::truncated;
    int index = 0;
    if (ei_decode_double(here(), &index, &d) < 0 || index != 9)
      return TermError::ei_failure;
  } else {
    // FLOAT_EXT: 31 bytes of "%.20e" text, NUL padded. ei runs sscanf on
    // them in place, which reads past the 31 bytes when no NUL is among
    // them: decode a NUL-terminated copy instead.
    if (!need(32)) return TermError::truncated;
    char copy[33];
    std::memcpy(copy, buf_ + pos_, 32);
    copy[32] = '\0';
    int index = 0;
    if (ei_decode_double(copy, &index, &d) < 0) return TermError::bad_float;
  }
  if (!std::isfinite(d)) return TermError::bad_float;
  pos_ += tag == TAG_NEW_FLOAT_EXT ? 9 : 32;
  return Term(d);
}

Result<Term> Decoder::binary() {
  if (!need(5)) return TermError::truncated;
  std::size_t len = be32(buf_ + pos_ + 1);
  if (!need(5 + len)) return TermError::truncated;
  Bitstring b;
  b.bytes.resize(len);
  b.bit_size = len * 8;
  long got = 0;
  int index = 0;
  if (ei_decode_binary(here(), &index, b.bytes.data(), &got) < 0 || static_cast<std::size_t>(got) != len)
    return TermError::ei_failure;
  pos_ += static_cast<std::size_t>(index);
  return Term(std::move(b));
}

Result<Term> Decoder::bit_binary() {
  if (!need(6)) return TermError::truncated;
  std::size_t len = be32(buf_ + pos_ + 1);
  unsigned bits = buf_[pos_ + 5];
  if (!need(6 + len)) return TermError::truncated;
  // As the BEAM: the last byte holds 1..8 bits; an empty bitstring has 0.
  if ((len == 0) != (bits == 0) || bits > 8) return TermError::bad_length;
  const char* data = nullptr;
  unsigned int bitoffs = 0;
  std::size_t nbits = 0;
  int index = 0;
  if (ei_decode_bitstring(here(), &index, &data, &bitoffs, &nbits) < 0) return TermError::ei_failure;
  std::size_t expect_bits = len == 0 ? 0 : (len - 1) * 8 + bits;
  if (nbits != expect_bits || bitoffs != 0) return TermError::ei_failure;
  pos_ += static_cast<std::size_t>(index);
  return Term::bitstring(std::span(reinterpret_cast<const std::uint8_t*>(data), len), nbits);
}

// NEW_PID_EXT: node atom, ID (4), Serial (4), Creation (4); PID_EXT: Creation (1).
Result<Term> Decoder::pid(std::uint8_t tag) {
  std::size_t start = pos_;
  ++pos_;
  auto node = atom();
  if (!node) {
    pos_ = start;
    return node.error();
  }
  std::size_t tail = tag == TAG_NEW_PID_EXT ? 12 : 9;
  if (!need(tail)) {
    pos_ = start;
    return TermError::truncated;
  }
  Pid p;
  p.node = *node;
  p.id = be32(buf_ + pos_);
  p.serial = be32(buf_ + pos_ + 4);
  p.creation = tag == TAG_NEW_PID_EXT ? be32(buf_ + pos_ + 8) : buf_[pos_ + 8];
  pos_ += tail;
  return Term(p);
}

// V4_PORT_EXT: node, ID (8), Creation (4); NEW_PORT_EXT: ID (4), Creation (4);
// PORT_EXT: ID (4), Creation (1).
Result<Term> Decoder::port(std::uint8_t tag) {
  std::size_t start = pos_;
  ++pos_;
  auto node = atom();
  if (!node) {
    pos_ = start;
    return node.error();
  }
  std::size_t tail = tag == TAG_V4_PORT_EXT ? 12 : (tag == TAG_NEW_PORT_EXT ? 8 : 5);
  if (!need(tail)) {
    pos_ = start;
    return TermError::truncated;
  }
  Port p;
  p.node = *node;
  const std::uint8_t* d = buf_ + pos_;
  if (tag == TAG_V4_PORT_EXT) {
    p.id = be64(d);
    p.creation = be32(d + 8);
  } else {
    p.id = be32(d);
    p.creation = tag == TAG_NEW_PORT_EXT ? be32(d + 4) : d[4];
  }
  pos_ += tail;
  return Term(p);
}

// NEWER_REFERENCE_EXT: Len (2), node, Creation (4), ID (4 * Len);
// NEW_REFERENCE_EXT: Creation (1); REFERENCE_EXT: node, ID (4), Creation (1).
Result<Term> Decoder::reference(std::uint8_t tag) {
  std::size_t start = pos_;
  std::size_t words = 1;
  if (tag != TAG_REFERENCE_EXT) {
    if (!need(3)) return TermError::truncated;
    words = be16(buf_ + pos_ + 1);
    if (words == 0 || words > kMaxRefWords) return TermError::bad_length;
    pos_ += 3;
  } else {
    ++pos_;
  }
  auto node = atom();
  if (!node) {
    pos_ = start;
    return node.error();
  }
  std::size_t creation_len = tag == TAG_NEWER_REFERENCE_EXT ? 4 : 1;
  if (!need(creation_len + 4 * words)) {
    pos_ = start;
    return TermError::truncated;
  }
  Reference r;
  r.node = *node;
  const std::uint8_t* d = buf_ + pos_;
  if (tag == TAG_REFERENCE_EXT) {
    r.ids.push_back(be32(d));
    r.creation = d[4];
  } else {
    r.creation = creation_len == 4 ? be32(d) : d[0];
    d += creation_len;
    r.ids.reserve(words);
    for (std::size_t i = 0; i < words; ++i) r.ids.push_back(be32(d + 4 * i));
  }
  pos_ += creation_len + 4 * words;
  return Term(std::move(r));
}

// NEW_FUN_EXT: Size (4, counts itself, not the tag), Arity (1), Uniq (16),
// Index (4), NumFree (4), Module, OldIndex, OldUniq, Pid, Free vars.
// We validate every field with our own bounds checks (ei_skip_term would walk
// a malformed fun out of bounds), then confirm the extent with ei_skip_term
// and keep the exact bytes.
Result<Term> Decoder::new_fun(std::size_t depth, std::size_t fun_depth) {
  const std::size_t start = pos_;
  if (fun_depth >= kMaxFunNesting) return TermError::nesting_too_deep;
  if (!need(5)) return TermError::truncated;
  std::size_t size = be32(buf_ + pos_ + 1);
  if (size < 4 + 1 + 16 + 4 + 4) return TermError::bad_length;
  if (!need(1 + size)) return TermError::truncated;
  const std::size_t fun_end = start + 1 + size;
  Decoder inner(buf_, fun_end, start + 5);
  auto fail = [&](std::error_code ec) -> Result<Term> {
    // Running out of the fun's own Size means Size was wrong, not the input short.
    if (ec == TermError::truncated) return TermError::bad_length;
    return ec;
  };
  Fun f;
  f.is_export = false;
  const std::uint8_t* fixed = buf_ + inner.pos_;  // Arity, Uniq, Index, NumFree
  f.arity = fixed[0];
  std::size_t num_free = be32(fixed + 1 + 16 + 4);
  inner.pos_ += 1 + 16 + 4 + 4;
  auto module = inner.atom();
  if (!module) return fail(module.error());
  f.module = *module;
  TermVector parts;  // OldIndex, OldUniq, Pid, free variables
  for (int i = 0; i < 2; ++i) {
    auto v = inner.integer_term();
    if (!v) return fail(v.error());
    parts.push_back(std::move(*v));
  }
  if (!inner.need(1)) return TermError::bad_length;
  std::uint8_t ptag = buf_[inner.pos_];
  if (ptag != TAG_NEW_PID_EXT && ptag != TAG_PID_EXT) return TermError::expected_pid;
  auto creator = inner.pid(ptag);
  if (!creator) return fail(creator.error());
  parts.push_back(std::move(*creator));
  if (num_free > inner.left()) return TermError::absurd_length;
  for (std::size_t i = 0; i < num_free; ++i) {
    auto v = inner.term(depth + 1, fun_depth + 1);
    if (!v) return fail(v.error());
    parts.push_back(std::move(*v));
  }
  if (inner.pos_ != fun_end) return TermError::bad_length;
  {
    // Cross-check the extent with ei_skip_term, on a zero-padded copy: ei
    // parses FLOAT_EXT with sscanf in place, which could run past the input.
    std::vector<char> padded(buf_ + start, buf_ + fun_end);
    padded.resize(padded.size() + 64, '\0');
    int index = 0;
    if (ei_skip_term(padded.data(), &index) < 0 || static_cast<std::size_t>(index) != fun_end - start)
      return TermError::ei_failure;
  }
  // Keep the fun in its canonical encoding (UTF-8 atoms, NEW_PID_EXT, ... as
  // the BEAM writes with minor_version 2), so that equal funs compare equal
  // whichever encoder sent them and re-encoding matches term_to_binary.
  f.encoded.reserve(size + 1);
  f.encoded.push_back(TAG_NEW_FUN_EXT);
  f.encoded.insert(f.encoded.end(), 4, 0);  // Size, patched below
  f.encoded.insert(f.encoded.end(), fixed, fixed + 1 + 16 + 4 + 4);
  encode_to(f.encoded, Term(f.module));
  for (const auto& p : parts) encode_to(f.encoded, p);
  const auto new_size = static_cast<std::uint32_t>(f.encoded.size() - 1);
  for (std::size_t i = 0; i < 4; ++i) f.encoded[1 + i] = static_cast<std::uint8_t>(new_size >> (24 - 8 * i));
  pos_ = fun_end;
  return Term(std::move(f));
}

// EXPORT_EXT: Module (atom), Function (atom), Arity (SMALL_INTEGER_EXT).
Result<Term> Decoder::export_fun() {
  const std::size_t start = pos_;
  ++pos_;
  Fun f;
  f.is_export = true;
  auto module = atom();
  auto function = module ? atom() : Result<Atom>(module.error());
  if (!module || !function) {
    pos_ = start;
    return module ? function.error() : module.error();
  }
  if (!need(1)) {
    pos_ = start;
    return TermError::truncated;
  }
  if (buf_[pos_] != TAG_SMALL_INTEGER_EXT) {
    pos_ = start;
    return TermError::expected_integer;
  }
  if (!need(2)) {
    pos_ = start;
    return TermError::truncated;
  }
  f.module = *module;
  f.function = *function;
  f.arity = buf_[pos_ + 1];
  pos_ += 2;
  int index = 0;
  if (ei_skip_term(reinterpret_cast<const char*>(buf_ + start), &index) < 0 ||
      static_cast<std::size_t>(index) != pos_ - start)
    return TermError::ei_failure;
  // Canonical encoding (UTF-8 atoms), see new_fun.
  f.encoded.push_back(TAG_EXPORT_EXT);
  encode_to(f.encoded, Term(f.module));
  encode_to(f.encoded, Term(f.function));
  f.encoded.push_back(TAG_SMALL_INTEGER_EXT);
  f.encoded.push_back(static_cast<std::uint8_t>(f.arity));
  return Term(std::move(f));
}

// Non-compound terms (and empty compounds, which the caller never frames).
Result<Term> Decoder::scalar(std::uint8_t tag) {
  switch (tag) {
    case TAG_SMALL_INTEGER_EXT:
    case TAG_INTEGER_EXT: {
      if (!need(tag == TAG_SMALL_INTEGER_EXT ? 2 : 5)) return TermError::truncated;
      long long v = 0;
      int index = 0;
      if (ei_decode_longlong(here(), &index, &v) < 0) return TermError::ei_failure;
      pos_ += static_cast<std::size_t>(index);
      return Term(static_cast<std::int64_t>(v));
    }
    case TAG_SMALL_BIG_EXT:
    case TAG_LARGE_BIG_EXT: return big(tag);
    case TAG_NEW_FLOAT_EXT:
    case TAG_FLOAT_EXT: return flt(tag);
    case TAG_ATOM_EXT:
    case TAG_SMALL_ATOM_EXT:
    case TAG_ATOM_UTF8_EXT:
    case TAG_SMALL_ATOM_UTF8_EXT: {
      auto a = atom();
      if (!a) return a.error();
      return Term(*a);
    }
    case TAG_BINARY_EXT: return binary();
    case TAG_BIT_BINARY_EXT: return bit_binary();
    case TAG_NEW_PID_EXT:
    case TAG_PID_EXT: return pid(tag);
    case TAG_NEW_PORT_EXT:
    case TAG_V4_PORT_EXT:
    case TAG_PORT_EXT: return port(tag);
    case TAG_NEWER_REFERENCE_EXT:
    case TAG_NEW_REFERENCE_EXT:
    case TAG_REFERENCE_EXT: return reference(tag);
    case TAG_EXPORT_EXT: return export_fun();
    case TAG_NIL_EXT: ++pos_; return Term();
    default: return classify_tag(tag);
  }
}

constexpr std::size_t Decoder::frame_bytes() noexcept { return sizeof(Frame); }

Result<Term> Decoder::term(std::size_t depth, std::size_t fun_depth) {
  const std::size_t start = pos_;
  // The outermost decode on a thread reuses one frame stack (its capacity),
  // nested ones (fun environments) get their own.
  thread_local std::vector<Frame> pool;
  thread_local bool pool_busy = false;
  std::vector<Frame> local;
  const bool use_pool = !pool_busy;
  std::vector<Frame>& stack = use_pool ? pool : local;
  if (use_pool) pool_busy = true;
  struct Release {
    std::vector<Frame>& stack;
    bool pooled;
    ~Release() {
      stack.clear();
      if (pooled) pool_busy = false;
    }
  } release{stack, use_pool};
  // Lower bound of the bytes still owed to open frames: one per element (or
  // list tail) not yet started. A new count must fit in what is left after
  // those, so nested "4 billion elements" claims fail before any allocation
  // and the memory reserved stays proportional to the input.
  std::size_t owed = 0;
  auto fail = [&](std::error_code ec) -> Result<Term> {
    pos_ = start;
    return ec;
  };
  auto open = [&](Frame::Kind kind, std::size_t elements, std::size_t tail) -> std::error_code {
    // Memory, not depth: the BEAM accepts any nesting its heap holds.
    if ((depth + stack.size() + 1) * sizeof(Frame) > max_decode_stack_bytes) return TermError::nesting_too_deep;
    const std::size_t mine = elements + tail;
    if (mine > left() || owed > left() - mine) return TermError::absurd_length;
    owed += mine;
    stack.push_back(Frame{kind, false, elements, {}, {}, {}});
    if (kind == Frame::Map) {
      stack.back().pairs.reserve(elements / 2);
    } else {
      stack.back().items.reserve(elements);
    }
    return {};
  };

  Term value;
  for (;;) {
    // ---- list tail position: continue the same list where we can ----------
    if (!stack.empty() && stack.back().kind == Frame::List && stack.back().remaining == 0 &&
        !stack.back().tail_pending) {
      Frame& f = stack.back();
      if (!need(1)) return fail(TermError::truncated);
      std::uint8_t tag = buf_[pos_];
      if (tag == TAG_LIST_EXT) {
        // [a, b | [c | T]] is [a, b, c | T]: extend this frame instead of nesting.
        if (!need(5)) return fail(TermError::truncated);
        std::size_t n = be32(buf_ + pos_ + 1);
        pos_ += 5;
        // The tail's owed byte becomes n elements plus a new tail.
        if (n > left() || owed > left() - n) return fail(TermError::absurd_length);
        owed += n;
        f.remaining = n;
        grow(f.items, n);
        if (n == 0) continue;  // LIST_EXT of length 0: what follows is the tail itself
      } else if (tag == TAG_STRING_EXT) {
        if (!need(3)) return fail(TermError::truncated);
        std::size_t n = be16(buf_ + pos_ + 1);
        if (!need(3 + n)) return fail(TermError::truncated);
        const std::uint8_t* s = buf_ + pos_ + 3;
        grow(f.items, n);
        for (std::size_t i = 0; i < n; ++i) f.items.emplace_back(static_cast<std::int64_t>(s[i]));
        pos_ += 3 + n;
        value = Term::list(std::move(f.items));
        --owed;
        stack.pop_back();
        goto deliver;
      } else if (tag == TAG_NIL_EXT) {
        ++pos_;
        value = Term::list(std::move(f.items));
        --owed;
        stack.pop_back();
        goto deliver;
      } else {
        f.tail_pending = true;
      }
      if (f.remaining == 0 && !f.tail_pending) continue;
    }

    // ---- one term at pos_ --------------------------------------------------
    {
      if (!need(1)) return fail(TermError::truncated);
      const std::uint8_t tag = buf_[pos_];
      if (!stack.empty()) --owed;  // this element (or tail) starts now
      switch (tag) {
        case TAG_SMALL_TUPLE_EXT:
        case TAG_LARGE_TUPLE_EXT: {
          std::size_t header = tag == TAG_SMALL_TUPLE_EXT ? 2 : 5;
          if (!need(header)) return fail(TermError::truncated);
          std::size_t n = tag == TAG_SMALL_TUPLE_EXT ? buf_[pos_ + 1] : be32(buf_ + pos_ + 1);
          if (n > left() - header) return fail(TermError::absurd_length);
          int arity = 0;
          int index = 0;
          if (ei_decode_tuple_header(here(), &index, &arity) < 0 || static_cast<std::size_t>(arity) != n)
            return fail(TermError::ei_failure);
          pos_ += static_cast<std::size_t>(index);
          if (n == 0) {
            value = Term::tuple({});
            break;
          }
          if (auto ec = open(Frame::Tuple, n, 0)) return fail(ec);
          continue;
        }
        case TAG_MAP_EXT: {
          if (!need(5)) return fail(TermError::truncated);
          std::size_t n = be32(buf_ + pos_ + 1);
          if (n > (left() - 5) / 2) return fail(TermError::absurd_length);
          int arity = 0;
          int index = 0;
          if (ei_decode_map_header(here(), &index, &arity) < 0 || static_cast<std::size_t>(arity) != n)
            return fail(TermError::ei_failure);
          pos_ += static_cast<std::size_t>(index);
          if (n == 0) {
            value = Term::map({});
            break;
          }
          if (auto ec = open(Frame::Map, 2 * n, 0)) return fail(ec);
          continue;
        }
        case TAG_LIST_EXT: {
          if (!need(5)) return fail(TermError::truncated);
          std::size_t n = be32(buf_ + pos_ + 1);
          if (n != 0 && n >= left() - 5) return fail(TermError::absurd_length);  // n elements + a tail
          int arity = 0;
          int index = 0;
          if (ei_decode_list_header(here(), &index, &arity) < 0 || static_cast<std::size_t>(arity) != n)
            return fail(TermError::ei_failure);
          pos_ += static_cast<std::size_t>(index);
          if (n == 0) {  // a zero-length LIST_EXT is just its tail: still owed
            if (!stack.empty()) ++owed;
            continue;
          }
          if (auto ec = open(Frame::List, n, 1)) return fail(ec);
          continue;
        }
        case TAG_STRING_EXT: {
          if (!need(3)) return fail(TermError::truncated);
          std::size_t n = be16(buf_ + pos_ + 1);
          if (!need(3 + n)) return fail(TermError::truncated);
          // ei_decode_string would copy into a C string; the bytes are the
          // list elements, so read them in place (bounds checked above).
          TermVector elems;
          elems.reserve(n);
          const std::uint8_t* s = buf_ + pos_ + 3;
          for (std::size_t i = 0; i < n; ++i) elems.emplace_back(static_cast<std::int64_t>(s[i]));
          pos_ += 3 + n;
          value = Term::list(std::move(elems));
          break;
        }
        case TAG_NEW_FUN_EXT: {
          auto r = new_fun(depth + stack.size(), fun_depth);
          if (!r) return fail(r.error());
          value = std::move(*r);
          break;
        }
        default: {
          auto r = scalar(tag);
          if (!r) return fail(r.error());
          value = std::move(*r);
          break;
        }
      }
    }

  deliver:
    // ---- hand the finished value to the enclosing frames ----------------
    for (;;) {
      if (stack.empty()) return value;
      Frame& f = stack.back();
      if (f.tail_pending) {
        value = Term::list(std::move(f.items), std::move(value));
        stack.pop_back();
        continue;
      }
      if (f.kind != Frame::Map) {
        f.items.push_back(std::move(value));
      } else if (f.remaining % 2 == 0) {  // a key: wait for its value
        f.key = std::move(value);
      } else {
        f.pairs.emplace_back(std::move(f.key), std::move(value));
      }
      if (--f.remaining != 0) break;
      if (f.kind == Frame::Tuple) {
        value = Term::tuple(std::move(f.items));
      } else if (f.kind == Frame::Map) {
        const std::size_t n = f.pairs.size();
        value = Term::map(std::move(f.pairs));
        if (value.map_size() != n) return fail(TermError::duplicate_map_key);
      } else {
        break;  // list: its tail comes next (handled at the top of the loop)
      }
      stack.pop_back();
    }
  }
}

}  // namespace

std::size_t max_nesting_levels() noexcept { return Decoder::frame_bytes() == 0 ? 0 : max_decode_stack_bytes / Decoder::frame_bytes(); }

Result<Term> decode_body_at(std::span<const std::uint8_t> bytes, std::size_t& index) {
  if (index >= bytes.size()) return TermError::truncated;
  Decoder d(bytes.data(), bytes.size(), index);
  auto r = d.term();
  if (r) index = d.pos();
  return r;
}

Result<Term> decode_at(std::span<const std::uint8_t> bytes, std::size_t& index) {
  if (index >= bytes.size()) return TermError::truncated;
  if (bytes[index] != kVersionMagic) return TermError::bad_version;
  std::size_t i = index + 1;
  auto r = decode_body_at(bytes, i);
  if (r) index = i;
  return r;
}

Result<Term> decode(std::span<const std::uint8_t> bytes) {
  std::size_t index = 0;
  auto r = decode_at(bytes, index);
  if (r && index != bytes.size()) return TermError::trailing_bytes;
  return r;
}

}  // namespace hc
