// External term format encoder over erl_interface: term_to_binary's
// canonical bytes (see codec.hpp for the contract; the decoder is
// codec_decode.cpp). Tag names and layouts follow erl_ext_dist (OTP 25).
// The writer itself is public (etf_writer.hpp) for paths that write pieces.
#include "interop/codec.hpp"

#include <ei.h>

#include <algorithm>
#include <cstring>

#include "interop/codec_tags.hpp"
#include "interop/etf_writer.hpp"

namespace hc {
using namespace etf;

// EtfWriter's inline pieces name their tags themselves.
static_assert(TAG_NEW_PID_EXT == 88 && TAG_SMALL_INTEGER_EXT == 97 && TAG_INTEGER_EXT == 98 &&
                  TAG_SMALL_TUPLE_EXT == 104 && TAG_LARGE_TUPLE_EXT == 105 && TAG_NIL_EXT == 106 &&
                  TAG_LIST_EXT == 108 && TAG_MAP_EXT == 116,
              "EtfWriter's tags");

namespace {
// The encodings of recently written atoms, per thread (atoms are interned
// and immortal, so an atom's identity names its bytes for the life of the
// process): a slice of 100 000 registry entries writes the same few atoms
// 400 000 times, and ei validates the UTF-8 of each one it writes.
struct AtomCache {
  static constexpr std::size_t kSlots = 64, kMaxBytes = 54;
  struct Slot {
    const void* id = nullptr;
    std::uint8_t len = 0;
    std::uint8_t bytes[kMaxBytes];
  };
  Slot slots[kSlots];
  static std::size_t index(const void* id) noexcept {
    auto v = reinterpret_cast<std::uintptr_t>(id);
    return (v >> 4 ^ v >> 10) & (kSlots - 1);
  }
};
thread_local AtomCache atom_cache;
}  // namespace

void EtfWriter::atom(const Atom& a) {
  AtomCache::Slot& slot = atom_cache.slots[AtomCache::index(a.id())];
  if (slot.id == a.id()) {
    // A fixed-size copy (a few vector moves; a variable one is a rep movs
    // here): the bytes past the atom's are scratch, overwritten next.
    reserve(AtomCache::kMaxBytes);
    std::memcpy(out_.data() + len_, slot.bytes, AtomCache::kMaxBytes);
    len_ += slot.len;
    return;
  }
  const std::size_t before = len_;
  write_atom(a);
  if (len_ - before <= AtomCache::kMaxBytes) {
    slot.id = a.id();
    slot.len = static_cast<std::uint8_t>(len_ - before);
    std::memcpy(slot.bytes, out_.data() + before, slot.len);
  }
}

void EtfWriter::write_atom(const Atom& a) {
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

void EtfWriter::small_big(std::int64_t v) {
  std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  std::uint8_t digits[8];
  std::uint8_t n = 0;
  for (; mag; mag >>= 8) digits[n++] = static_cast<std::uint8_t>(mag);
  u8(TAG_SMALL_BIG_EXT);
  u8(n);
  u8(v < 0 ? 1 : 0);
  put(digits, n);
}

void EtfWriter::big(bool negative, std::span<const std::uint8_t> magnitude) {
  std::size_t n = magnitude.size();
  if (n <= 255) {
    u8(TAG_SMALL_BIG_EXT);
    u8(static_cast<std::uint8_t>(n));
  } else {
    u8(TAG_LARGE_BIG_EXT);
    u32(static_cast<std::uint32_t>(n));
  }
  u8(negative ? 1 : 0);
  put(magnitude.data(), magnitude.size());
}

void EtfWriter::floating(double d) {
  ei(9, [&](char* b, int* i) { ei_encode_double(b, i, d); });
}

void EtfWriter::port(const Port& p) {
  bool v4 = p.id > 0xFFFFFFFFULL;
  u8(v4 ? TAG_V4_PORT_EXT : TAG_NEW_PORT_EXT);
  atom(p.node);
  if (v4) u32(static_cast<std::uint32_t>(p.id >> 32));
  u32(static_cast<std::uint32_t>(p.id));
  u32(p.creation);
}

void EtfWriter::reference(const Atom& node, std::uint32_t creation, std::span<const std::uint32_t> ids) {
  // NEWER_REFERENCE_EXT written by hand: ei_encode_ref masks ID words.
  u8(TAG_NEWER_REFERENCE_EXT);
  u16(static_cast<std::uint16_t>(ids.size()));
  atom(node);
  u32(creation);
  for (auto w : ids) u32(w);
}

void EtfWriter::bits(std::span<const std::uint8_t> bytes, std::size_t bit_size) {
  if (bit_size % 8 == 0) {  // BINARY_EXT, Len, Data (ei_encode_binary's bytes)
    u8(TAG_BINARY_EXT);
    u32(static_cast<std::uint32_t>(bytes.size()));
    put(bytes.data(), bytes.size());
  } else {
    ei(bytes.size() + 6, [&](char* buf, int* i) {
      ei_encode_bitstring(buf, i, reinterpret_cast<const char*>(bytes.data()), 0, bit_size);
    });
  }
}

void EtfWriter::byte_list(std::span<const std::uint8_t> bytes) {
  ei(bytes.size() + 3, [&](char* b, int* i) {
    ei_encode_string_len(b, i, reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size()));
  });
}

bool EtfWriter::as_byte_list(std::span<const Term> elems) {
  if (elems.empty() || elems.size() >= 65536) return false;
  for (const auto& e : elems) {
    auto v = e.as_int();
    if (!v || *v < 0 || *v > 255) return false;
  }
  // STRING_EXT, as term_to_binary does for byte lists
  std::uint8_t small[256];
  std::vector<std::uint8_t> big_buf;
  std::uint8_t* chars = small;
  if (elems.size() > sizeof small) {
    big_buf.resize(elems.size());
    chars = big_buf.data();
  }
  for (std::size_t i = 0; i < elems.size(); ++i) chars[i] = static_cast<std::uint8_t>(*elems[i].as_int());
  byte_list({chars, elems.size()});
  return true;
}

void EtfWriter::list(const Term& t) {
  auto elems = t.list_elements();
  const Term& tail = t.list_tail();
  if (tail.is_nil() && as_byte_list(elems)) return;
  list_header(elems.size());
  todo_.push_back(&tail);
  for (std::size_t i = elems.size(); i-- > 0;) todo_.push_back(&elems[i]);
}

void EtfWriter::list_of(std::span<const Term> elems) {
  if (as_byte_list(elems)) return;
  list_header(elems.size());
  for (const Term& e : elems) term(e);
  if (!elems.empty()) nil();
}

void EtfWriter::term(const Term& root) {
  todo_.push_back(&root);
  while (!todo_.empty()) {
    const Term& t = *todo_.back();
    todo_.pop_back();
    switch (t.type()) {
      case Term::Type::Integer: integer(*t.as_int()); break;
      case Term::Type::BigInteger: {
        const BigInt& b = *t.as_bigint();
        big(b.negative, b.magnitude);
        break;
      }
      case Term::Type::Float: floating(*t.as_float()); break;
      case Term::Type::Atom: atom(*t.as_atom()); break;
      case Term::Type::Reference: {
        const Reference& r = *t.as_reference();
        reference(r.node, r.creation, r.ids);
        break;
      }
      case Term::Type::Fun: raw(t.as_fun()->encoded); break;
      case Term::Type::Port: port(*t.as_port()); break;
      case Term::Type::Pid: pid(*t.as_pid()); break;
      case Term::Type::Tuple: {
        auto els = t.tuple_elements();
        tuple_header(els.size());
        for (std::size_t i = els.size(); i-- > 0;) todo_.push_back(&els[i]);
        break;
      }
      case Term::Type::Map: {
        auto entries = t.map_entries();
        map_header(entries.size());
        for (std::size_t i = entries.size(); i-- > 0;) {
          todo_.push_back(&entries[i].second);
          todo_.push_back(&entries[i].first);
        }
        break;
      }
      case Term::Type::Nil: nil(); break;
      case Term::Type::List: list(t); break;
      case Term::Type::Bitstring: {
        const Bitstring& b = *t.as_bitstring();
        bits(b.bytes, b.bit_size);
        break;
      }
    }
  }
}

void encode_to(std::vector<std::uint8_t>& out, const Term& term) { EtfWriter(out).term(term); }

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
