// External term format encoder over erl_interface: term_to_binary's
// canonical bytes (see codec.hpp for the contract; the decoder is
// codec_decode.cpp). Tag names and layouts follow erl_ext_dist (OTP 25).
#include "interop/codec.hpp"

#include <ei.h>

#include <algorithm>
#include <cstring>

#include "interop/codec_tags.hpp"

namespace hc {
namespace {
using namespace etf;

// ---------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------
class Encoder {
 public:
  // Appends to `out`, writing in place at `len_`. ei writes through a raw
  // pointer, so the vector's size is extended ahead of the write position;
  // term() trims it to the bytes written, which never reallocates. The size
  // runs ahead by at most max(64, bytes written by this call so far) beyond
  // the current write, and the capacity grows geometrically, so appending a
  // term costs amortised O(its encoded size) however large `out` already is.
  // (Sizing ahead relative to the whole vector would copy and zero-fill
  // O(out.size()) bytes per appended term: quadratic for a caller appending
  // many small terms to one buffer.)
  explicit Encoder(std::vector<std::uint8_t>& out) : out_(out), start_(out.size()), len_(start_) {}

  void term(const Term& root);

 private:
  // Inlined at every write: on its own in this file GCC stopped inlining it
  // (measured by term_bench: encode ~15% slower than with it inlined).
  [[gnu::always_inline]] void reserve(std::size_t n) {
    if (out_.size() - len_ >= n) return;
    const std::size_t want = len_ + std::max(n, std::max<std::size_t>(64, len_ - start_));
    if (want > out_.capacity()) out_.reserve(std::max(want, 2 * out_.capacity()));
    out_.resize(want);  // within capacity now: only zero-fills the new bytes
  }
  // Run an ei_encode_* call that writes at most `max` bytes at the end.
  template <typename F>
  void ei(std::size_t max, F&& f) {
    reserve(max);
    // ei takes its write position as an `int`; a position past 2 GiB (a
    // send buffer holding a few large sync messages) overflowed it and ei
    // wrote before the buffer. ei gets a pointer at the write position.
    int index = 0;
    f(reinterpret_cast<char*>(out_.data() + len_), &index);
    len_ += static_cast<std::size_t>(index);
  }
  void put(const std::uint8_t* p, std::size_t n) {
    reserve(n);
    if (n) std::memcpy(out_.data() + len_, p, n);
    len_ += n;
  }
  void u8(std::uint8_t v) {
    reserve(1);
    out_[len_++] = v;
  }
  void u16(std::uint16_t v) {
    reserve(2);
    out_[len_++] = static_cast<std::uint8_t>(v >> 8);
    out_[len_++] = static_cast<std::uint8_t>(v);
  }
  void u32(std::uint32_t v) {
    reserve(4);
    for (int s = 24; s >= 0; s -= 8) out_[len_++] = static_cast<std::uint8_t>(v >> s);
  }
  void atom(const Atom& a) {
    std::string_view t = a.text();
    // SMALL_ATOM_UTF8_EXT below 256 bytes, ATOM_UTF8_EXT above: the BEAM's choice.
    if (t.size() <= kMaxAtomBytes) {
      std::size_t before = len_;
      ei(t.size() + 3, [&](char* b, int* i) {
        ei_encode_atom_len_as(b, i, t.data(), static_cast<int>(t.size()), ERLANG_UTF8, ERLANG_UTF8);
      });
      if (len_ != before) return;
    }
    // ei refuses atoms the BEAM could not hold (> 255 characters); such an
    // atom can only be built by hand, write it as ATOM_UTF8_EXT anyway.
    u8(TAG_ATOM_UTF8_EXT);
    u16(static_cast<std::uint16_t>(std::min<std::size_t>(t.size(), 0xFFFF)));
    put(reinterpret_cast<const std::uint8_t*>(t.data()), std::min<std::size_t>(t.size(), 0xFFFF));
  }
  void integer(std::int64_t v);
  void big(const BigInt& b);
  void bits(const Bitstring& b);
  void list(const Term& t, std::vector<const Term*>& todo);

  std::vector<std::uint8_t>& out_;
  std::size_t start_;  // out_.size() on entry
  std::size_t len_;    // bytes of out_ in use (the write position)
};

void Encoder::integer(std::int64_t v) {
  // ei writes INTEGER_EXT only for the old 28-bit fixnum range and a
  // SMALL_BIG_EXT beyond it, where the BEAM uses INTEGER_EXT up to 32 bits;
  // so ei within 28 bits, by hand outside.
  if (v >= -(std::int64_t{1} << 27) && v < (std::int64_t{1} << 27)) {
    ei(5, [&](char* b, int* i) { ei_encode_longlong(b, i, v); });
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    u8(TAG_INTEGER_EXT);
    u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
  } else {
    std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    std::uint8_t digits[8];
    std::uint8_t n = 0;
    for (; mag; mag >>= 8) digits[n++] = static_cast<std::uint8_t>(mag);
    u8(TAG_SMALL_BIG_EXT);
    u8(n);
    u8(v < 0 ? 1 : 0);
    put(digits, n);
  }
}

void Encoder::big(const BigInt& b) {
  std::size_t n = b.magnitude.size();
  if (n <= 255) {
    u8(TAG_SMALL_BIG_EXT);
    u8(static_cast<std::uint8_t>(n));
  } else {
    u8(TAG_LARGE_BIG_EXT);
    u32(static_cast<std::uint32_t>(n));
  }
  u8(b.negative ? 1 : 0);
  put(b.magnitude.data(), b.magnitude.size());
}

void Encoder::bits(const Bitstring& b) {
  if (b.is_binary()) {
    ei(b.bytes.size() + 5, [&](char* buf, int* i) {
      ei_encode_binary(buf, i, b.bytes.data(), static_cast<long>(b.bytes.size()));
    });
  } else {
    ei(b.bytes.size() + 6, [&](char* buf, int* i) {
      ei_encode_bitstring(buf, i, reinterpret_cast<const char*>(b.bytes.data()), 0, b.bit_size);
    });
  }
}

void Encoder::list(const Term& t, std::vector<const Term*>& todo) {
  auto elems = t.list_elements();
  const Term& tail = t.list_tail();
  if (tail.is_nil() && elems.size() < 65536) {
    bool bytes = true;
    for (const auto& e : elems) {
      auto v = e.as_int();
      if (!v || *v < 0 || *v > 255) {
        bytes = false;
        break;
      }
    }
    if (bytes) {  // STRING_EXT, as term_to_binary does for byte lists
      char small[256];
      std::string big_buf;
      char* chars = small;
      if (elems.size() > sizeof small) {
        big_buf.resize(elems.size());
        chars = big_buf.data();
      }
      for (std::size_t i = 0; i < elems.size(); ++i) chars[i] = static_cast<char>(*elems[i].as_int());
      ei(elems.size() + 3, [&](char* b, int* i) { ei_encode_string_len(b, i, chars, static_cast<int>(elems.size())); });
      return;
    }
  }
  ei(5, [&](char* b, int* i) { ei_encode_list_header(b, i, static_cast<int>(elems.size())); });
  todo.push_back(&tail);
  for (std::size_t i = elems.size(); i-- > 0;) todo.push_back(&elems[i]);
}

void Encoder::term(const Term& root) {
  std::vector<const Term*> todo;
  todo.reserve(16);
  todo.push_back(&root);
  while (!todo.empty()) {
    const Term& t = *todo.back();
    todo.pop_back();
    switch (t.type()) {
      case Term::Type::Integer: integer(*t.as_int()); break;
      case Term::Type::BigInteger: big(*t.as_bigint()); break;
      case Term::Type::Float: {
        double d = *t.as_float();
        ei(9, [&](char* b, int* i) { ei_encode_double(b, i, d); });
        break;
      }
      case Term::Type::Atom: atom(*t.as_atom()); break;
      case Term::Type::Reference: {
        // NEWER_REFERENCE_EXT written by hand: ei_encode_ref masks ID words.
        const Reference& r = *t.as_reference();
        u8(TAG_NEWER_REFERENCE_EXT);
        u16(static_cast<std::uint16_t>(r.ids.size()));
        atom(r.node);
        u32(r.creation);
        for (auto w : r.ids) u32(w);
        break;
      }
      case Term::Type::Fun: {
        const auto& enc = t.as_fun()->encoded;
        put(enc.data(), enc.size());
        break;
      }
      case Term::Type::Port: {
        const Port& p = *t.as_port();
        bool v4 = p.id > 0xFFFFFFFFULL;
        u8(v4 ? TAG_V4_PORT_EXT : TAG_NEW_PORT_EXT);
        atom(p.node);
        if (v4) u32(static_cast<std::uint32_t>(p.id >> 32));
        u32(static_cast<std::uint32_t>(p.id));
        u32(p.creation);
        break;
      }
      case Term::Type::Pid: {
        // NEW_PID_EXT by hand: ei_encode_pid masks ID/Serial to 15/13 bits.
        const Pid& p = *t.as_pid();
        u8(TAG_NEW_PID_EXT);
        atom(p.node);
        u32(p.id);
        u32(p.serial);
        u32(p.creation);
        break;
      }
      case Term::Type::Tuple: {
        auto els = t.tuple_elements();
        ei(5, [&](char* b, int* i) { ei_encode_tuple_header(b, i, static_cast<int>(els.size())); });
        for (std::size_t i = els.size(); i-- > 0;) todo.push_back(&els[i]);
        break;
      }
      case Term::Type::Map: {
        auto entries = t.map_entries();
        ei(5, [&](char* b, int* i) { ei_encode_map_header(b, i, static_cast<int>(entries.size())); });
        for (std::size_t i = entries.size(); i-- > 0;) {
          todo.push_back(&entries[i].second);
          todo.push_back(&entries[i].first);
        }
        break;
      }
      case Term::Type::Nil: u8(TAG_NIL_EXT); break;
      case Term::Type::List: list(t, todo); break;
      case Term::Type::Bitstring: bits(*t.as_bitstring()); break;
    }
  }
  out_.resize(len_);
}

void append_term(std::vector<std::uint8_t>& out, const Term& t) { Encoder(out).term(t); }

}  // namespace

void encode_to(std::vector<std::uint8_t>& out, const Term& term) { append_term(out, term); }

std::vector<std::uint8_t> encode(const Term& term) {
  std::vector<std::uint8_t> out;
  out.reserve(64);
  out.push_back(kVersionMagic);
  encode_to(out, term);
  return out;
}

void encode_to(ei_x_buff_TAG& out, const Term& term) {
  std::vector<std::uint8_t> bytes;
  encode_to(bytes, term);
  ei_x_append_buf(&out, reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size()));
}

}  // namespace hc
