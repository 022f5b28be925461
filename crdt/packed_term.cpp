#include "crdt/packed_term.hpp"

#include <cstring>
#include <type_traits>
#include <vector>

#include "interop/etf_writer.hpp"

namespace hc::crdt {
namespace {

// Atoms are stored as the bytes of the interned handle (one pointer).
static_assert(std::is_trivially_copyable_v<Atom>, "Atom must be a plain handle");

enum Tag : std::uint8_t {
  kInt = 0,
  kBig,
  kFloat,
  kAtom,
  kRef,
  kFun,
  kPort,
  kPid,
  kTuple,
  kMap,
  kNil,
  kList,
  kBits,
  kSmallTuple0,  // tuples of arity 0..7: arity in the tag, saves a byte
};

void put_raw(const void* p, std::size_t n, std::string& out) {
  out.append(static_cast<const char*>(p), n);
}
template <typename T>
T get_raw(std::string_view& in) {
  T v;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return v;
}
void put_atom(const Atom& a, std::string& out) { put_raw(&a, sizeof(Atom), out); }
Atom get_atom(std::string_view& in) { return get_raw<Atom>(in); }
void put_bytes(std::span<const std::uint8_t> b, std::string& out) {
  put_varint(b.size(), out);
  put_raw(b.data(), b.size(), out);
}
std::string_view get_bytes(std::string_view& in) {
  auto n = get_varint(in);
  auto s = in.substr(0, n);
  in.remove_prefix(n);
  return s;
}
Port get_port(std::string_view& in) {
  Port p;
  p.node = get_atom(in);
  p.id = get_raw<std::uint64_t>(in);
  p.creation = get_raw<std::uint32_t>(in);
  return p;
}
Pid get_pid(std::string_view& in) {
  Pid p;
  p.node = get_atom(in);
  p.id = get_raw<std::uint32_t>(in);
  p.serial = get_raw<std::uint32_t>(in);
  p.creation = get_raw<std::uint32_t>(in);
  return p;
}
std::span<const std::uint8_t> as_span(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

void put_varint(std::uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t get_varint(std::string_view& in) noexcept {
  std::uint64_t v = 0;
  int shift = 0;
  while (!in.empty()) {
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  return v;
}

void pack_term(const Term& t, std::string& out) {
  switch (t.type()) {
    case Term::Type::Integer:
      out.push_back(kInt);
      put_varint(zigzag(*t.as_int()), out);
      return;
    case Term::Type::BigInteger: {
      const BigInt* b = t.as_bigint();
      out.push_back(kBig);
      out.push_back(b->negative ? 1 : 0);
      put_bytes(b->magnitude, out);
      return;
    }
    case Term::Type::Float: {
      double d = *t.as_float();
      if (d == 0.0) d = 0.0;  // canonical: -0.0 =:= 0.0 on OTP 25
      out.push_back(kFloat);
      put_raw(&d, sizeof d, out);
      return;
    }
    case Term::Type::Atom:
      out.push_back(kAtom);
      put_atom(*t.as_atom(), out);
      return;
    case Term::Type::Reference: {
      const Reference* r = t.as_reference();
      out.push_back(kRef);
      put_atom(r->node, out);
      put_raw(&r->creation, 4, out);
      out.push_back(static_cast<char>(r->ids.size()));
      for (auto id : r->ids) put_raw(&id, 4, out);
      return;
    }
    case Term::Type::Fun: {
      const Fun* f = t.as_fun();
      out.push_back(kFun);
      out.push_back(f->is_export ? 1 : 0);
      put_atom(f->module, out);
      put_atom(f->function, out);
      put_raw(&f->arity, 4, out);
      put_bytes(f->encoded, out);
      return;
    }
    case Term::Type::Port: {
      const Port* p = t.as_port();
      out.push_back(kPort);
      put_atom(p->node, out);
      put_raw(&p->id, 8, out);
      put_raw(&p->creation, 4, out);
      return;
    }
    case Term::Type::Pid: {
      const Pid* p = t.as_pid();
      out.push_back(kPid);
      put_atom(p->node, out);
      put_raw(&p->id, 4, out);
      put_raw(&p->serial, 4, out);
      put_raw(&p->creation, 4, out);
      return;
    }
    case Term::Type::Tuple: {
      auto el = t.tuple_elements();
      if (el.size() < 8) {
        out.push_back(static_cast<char>(kSmallTuple0 + el.size()));
      } else {
        out.push_back(kTuple);
        put_varint(el.size(), out);
      }
      for (const Term& e : el) pack_term(e, out);
      return;
    }
    case Term::Type::Map: {
      auto entries = t.map_entries();
      out.push_back(kMap);
      put_varint(entries.size(), out);
      for (const auto& [k, v] : entries) {
        pack_term(k, out);
        pack_term(v, out);
      }
      return;
    }
    case Term::Type::Nil:
      out.push_back(kNil);
      return;
    case Term::Type::List: {
      auto el = t.list_elements();
      out.push_back(kList);
      put_varint(el.size(), out);
      for (const Term& e : el) pack_term(e, out);
      pack_term(t.list_tail(), out);
      return;
    }
    case Term::Type::Bitstring: {
      const Bitstring* b = t.as_bitstring();
      out.push_back(kBits);
      put_varint(b->bit_size, out);
      put_raw(b->bytes.data(), b->bytes.size(), out);
      return;
    }
  }
}

Term unpack_term(std::string_view& in) {
  auto tag = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  switch (tag) {
    case kInt:
      return Term(unzigzag(get_varint(in)));
    case kBig: {
      BigInt b;
      b.negative = in.front() != 0;
      in.remove_prefix(1);
      auto m = get_bytes(in);
      b.magnitude.assign(m.begin(), m.end());
      return Term(std::move(b));
    }
    case kFloat:
      return Term(get_raw<double>(in));
    case kAtom:
      return Term(get_atom(in));
    case kRef: {
      Reference r;
      r.node = get_atom(in);
      r.creation = get_raw<std::uint32_t>(in);
      auto n = static_cast<std::uint8_t>(in.front());
      in.remove_prefix(1);
      r.ids.resize(n);
      for (auto& id : r.ids) id = get_raw<std::uint32_t>(in);
      return Term(std::move(r));
    }
    case kFun: {
      Fun f;
      f.is_export = in.front() != 0;
      in.remove_prefix(1);
      f.module = get_atom(in);
      f.function = get_atom(in);
      f.arity = get_raw<std::uint32_t>(in);
      auto e = get_bytes(in);
      f.encoded.assign(e.begin(), e.end());
      return Term(std::move(f));
    }
    case kPort:
      return Term(get_port(in));
    case kPid:
      return Term(get_pid(in));
    case kTuple: {
      auto n = get_varint(in);
      TermVector el;
      el.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) el.push_back(unpack_term(in));
      return Term::tuple(std::move(el));
    }
    case kMap: {
      auto n = get_varint(in);
      TermPairs pairs;
      pairs.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) {
        Term k = unpack_term(in);
        Term v = unpack_term(in);
        pairs.emplace_back(std::move(k), std::move(v));
      }
      return Term::map(std::move(pairs));
    }
    case kNil:
      return Term();
    case kList: {
      auto n = get_varint(in);
      TermVector el;
      el.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) el.push_back(unpack_term(in));
      Term tail = unpack_term(in);
      return Term::list(std::move(el), std::move(tail));
    }
    case kBits: {
      auto bits = get_varint(in);
      std::size_t nbytes = (bits + 7) / 8;
      auto bytes = in.substr(0, nbytes);
      in.remove_prefix(nbytes);
      return Term::bitstring(as_span(bytes), bits);
    }
    default: {
      std::size_t n = tag - kSmallTuple0;
      TermVector el;
      el.reserve(n);
      for (std::size_t i = 0; i < n; ++i) el.push_back(unpack_term(in));
      return Term::tuple(std::move(el));
    }
  }
}

namespace {
// A packed proper list of 1..65535 integers in 0..255 (the codec writes it
// as STRING_EXT): its bytes into `chars` and `in` advanced past it; `in`
// starts after the list header and is left alone otherwise.
bool packed_byte_list(std::string_view& list, std::uint64_t n, std::vector<std::uint8_t>& chars) {
  std::string_view in = list;
  if (n >= 65536) return false;
  chars.clear();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (in.empty() || static_cast<std::uint8_t>(in.front()) != kInt) return false;
    in.remove_prefix(1);
    std::int64_t v = unzigzag(get_varint(in));
    if (v < 0 || v > 255) return false;
    chars.push_back(static_cast<std::uint8_t>(v));
  }
  if (in.empty() || static_cast<std::uint8_t>(in.front()) != kNil) return false;
  list = in.substr(1);
  return true;
}
}  // namespace

void write_packed_etf(std::string_view& in, EtfWriter& w) {
  auto tag = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  switch (tag) {
    case kInt:
      w.integer(unzigzag(get_varint(in)));
      return;
    case kBig: {
      bool negative = in.front() != 0;
      in.remove_prefix(1);
      w.big(negative, as_span(get_bytes(in)));
      return;
    }
    case kFloat:
      w.floating(get_raw<double>(in));
      return;
    case kAtom:
      w.atom(get_atom(in));
      return;
    case kRef: {
      Atom node = get_atom(in);
      auto creation = get_raw<std::uint32_t>(in);
      auto n = static_cast<std::uint8_t>(in.front());
      in.remove_prefix(1);
      std::uint32_t ids[256];
      for (std::size_t i = 0; i < n; ++i) ids[i] = get_raw<std::uint32_t>(in);
      w.reference(node, creation, {ids, n});
      return;
    }
    case kFun: {
      in.remove_prefix(1 + 2 * sizeof(Atom) + 4);  // is_export, module, function, arity
      w.raw(as_span(get_bytes(in)));                // the fun's canonical encoding
      return;
    }
    case kPort:
      w.port(get_port(in));
      return;
    case kPid:
      w.pid(get_pid(in));
      return;
    case kTuple: {
      auto n = get_varint(in);
      w.tuple_header(n);
      for (std::uint64_t i = 0; i < n; ++i) write_packed_etf(in, w);
      return;
    }
    case kMap: {
      auto n = get_varint(in);
      w.map_header(n);
      for (std::uint64_t i = 0; i < 2 * n; ++i) write_packed_etf(in, w);
      return;
    }
    case kNil:
      w.nil();
      return;
    case kList: {
      auto n = get_varint(in);
      thread_local std::vector<std::uint8_t> chars;
      if (packed_byte_list(in, n, chars)) {
        w.byte_list(chars);
        return;
      }
      w.list_header(n);
      for (std::uint64_t i = 0; i <= n; ++i) write_packed_etf(in, w);  // the elements, then the tail
      return;
    }
    case kBits: {
      auto bits = get_varint(in);
      std::size_t nbytes = (bits + 7) / 8;
      w.bits(as_span(in.substr(0, nbytes)), bits);
      in.remove_prefix(nbytes);
      return;
    }
    default: {
      std::size_t n = tag - kSmallTuple0;
      w.tuple_header(n);
      for (std::size_t i = 0; i < n; ++i) write_packed_etf(in, w);
      return;
    }
  }
}

bool packed_as_int(std::string_view bytes, std::int64_t& value) noexcept {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes.front()) != kInt) return false;
  bytes.remove_prefix(1);
  value = unzigzag(get_varint(bytes));
  return true;
}

std::uint64_t packed_hash(std::string_view bytes) noexcept {
  // FNV-1a 64 over 8-byte words where possible, then a final avalanche.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<std::uint8_t>(bytes[i])) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace hc::crdt
