// erlang:phash2 (OTP 25 `make_hash2`), reimplemented over hc::Term.
//
// The BEAM walks a term with an explicit stack and keeps one running 32-bit
// hash; every scalar is mixed into it with Bob Jenkins' lookup2 `mix`
// together with a per-type constant (multiples of the golden ratio). The
// order in which scalars reach the running hash is therefore part of the
// result, and this file reproduces that order exactly:
// - tuple: arity, then elements first to last;
// - list: consecutive byte-valued elements (integers 0..255) are packed four
//   at a time into one word; any other element is hashed in place and the
//   packing restarts after it; finally the tail ([] or the improper tail);
// - map: size, then each (key, value) pair is hashed from a zero running
//   hash and the pair hashes are XORed, so flatmaps and HAMT maps (and any
//   iteration order) agree; the XOR is then mixed into the saved hash;
// - an atom or [] met while the running hash is exactly 0 (top level, first
//   key of a pair) sets the hash instead of being mixed in.
#include "interop/phash2.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "interop/codec.hpp"

namespace hc {
namespace {

// (0x9e3779b9 * n) mod 2^32, the constants of the BEAM's hash2 ("HCONST_n").
constexpr std::uint32_t kGolden = 0x9e3779b9u;
constexpr std::uint32_t hconst(std::uint32_t n) { return kGolden * n; }

constexpr std::uint32_t kIntegerConst = hconst(1);
constexpr std::uint32_t kNilConst = hconst(2);
constexpr std::uint32_t kAtomConst = hconst(3);
constexpr std::uint32_t kByteRunConst = hconst(4);
constexpr std::uint32_t kPidConst = hconst(5);
constexpr std::uint32_t kPortConst = hconst(6);
constexpr std::uint32_t kRefConst = hconst(7);
constexpr std::uint32_t kTupleConst = hconst(9);
constexpr std::uint32_t kNegBigConst = hconst(10);
constexpr std::uint32_t kPosBigConst = hconst(11);
constexpr std::uint32_t kFloatConst = hconst(12);
constexpr std::uint32_t kBinaryConst = hconst(13);
constexpr std::uint32_t kExportFunctionConst = hconst(14);
constexpr std::uint32_t kTailBitsConst = hconst(15);
constexpr std::uint32_t kMapSizeConst = hconst(16);
constexpr std::uint32_t kMapPairsConst = hconst(19);
// phash2([]) at the top level: the BEAM returns this literal.
constexpr std::uint32_t kTopLevelNil = 3468870702u;
// The BEAM's NIL_DEF tag value, mixed in for a [] that is not first.
constexpr std::uint32_t kNilTag = 2;

[[gnu::always_inline]] inline void mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) noexcept {
  a -= b; a -= c; a ^= (c >> 13);
  b -= c; b -= a; b ^= (a << 8);
  c -= a; c -= b; c ^= (b >> 13);
  a -= b; a -= c; a ^= (c >> 12);
  b -= c; b -= a; b ^= (a << 16);
  c -= a; c -= b; c ^= (b >> 5);
  a -= b; a -= c; a ^= (c >> 3);
  b -= c; b -= a; b ^= (a << 10);
  c -= a; c -= b; c ^= (b >> 15);
}

// Mixes two words into the running hash and returns it (the BEAM's
// UINT32_HASH_2). The helpers take and return the hash by value so that it
// stays in a register across the whole walk.
[[gnu::always_inline]] inline std::uint32_t mix2(std::uint32_t hash, std::uint32_t x, std::uint32_t y,
                                                 std::uint32_t k) noexcept {
  std::uint32_t a = k + x;
  std::uint32_t b = k + y;
  mix(a, b, hash);
  return hash;
}
[[gnu::always_inline]] inline std::uint32_t mix1(std::uint32_t hash, std::uint32_t x, std::uint32_t k) noexcept {
  return mix2(hash, x, 0, k);
}

inline std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// lookup2 over a byte block, seeded with the running hash (the BEAM's
// block_hash: 12 bytes per round, the length folded into the last round).
std::uint32_t block_hash(const std::uint8_t* k, std::size_t length, std::uint32_t initval) noexcept {
  std::uint32_t a = kGolden;
  std::uint32_t b = kGolden;
  std::uint32_t c = initval;
  std::size_t len = length;
  while (len >= 12) {
    a += load_le32(k);
    b += load_le32(k + 4);
    c += load_le32(k + 8);
    mix(a, b, c);
    k += 12;
    len -= 12;
  }
  // Binaries beyond 4 GiB: the BEAM truncates the length to 32 bits here.
  c += static_cast<std::uint32_t>(length);
  switch (len) {  // every case falls through; c's lowest byte holds the length
    case 11: c += static_cast<std::uint32_t>(k[10]) << 24; [[fallthrough]];
    case 10: c += static_cast<std::uint32_t>(k[9]) << 16; [[fallthrough]];
    case 9: c += static_cast<std::uint32_t>(k[8]) << 8; [[fallthrough]];
    case 8: b += static_cast<std::uint32_t>(k[7]) << 24; [[fallthrough]];
    case 7: b += static_cast<std::uint32_t>(k[6]) << 16; [[fallthrough]];
    case 6: b += static_cast<std::uint32_t>(k[5]) << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += static_cast<std::uint32_t>(k[3]) << 24; [[fallthrough]];
    case 3: a += static_cast<std::uint32_t>(k[2]) << 16; [[fallthrough]];
    case 2: a += static_cast<std::uint32_t>(k[1]) << 8; [[fallthrough]];
    case 1: a += k[0]; [[fallthrough]];
    default: break;
  }
  mix(a, b, c);
  return c;
}

// Atom hashes are looked up often (struct names, record tags, node names) and
// atoms are interned, so a small per-thread cache keyed by the atom's identity
// saves rehashing the text. Direct-mapped; a miss just recomputes.
[[gnu::always_inline]] inline std::uint32_t cached_atom_hash(const Atom& atom) noexcept {
  struct Slot {
    const void* id;
    std::uint32_t hash;
  };
  constexpr std::size_t kSlots = 1024;
  thread_local std::array<Slot, kSlots> cache{};
  const void* id = atom.id();
  const auto key = reinterpret_cast<std::uintptr_t>(id);
  Slot& slot = cache[((key >> 4) ^ (key >> 14)) & (kSlots - 1)];
  if (slot.id != id) [[unlikely]] {
    slot.hash = atom_text_hash(atom.text());
    slot.id = id;
  }
  return slot.hash;
}

[[gnu::always_inline]] inline std::uint32_t hash_small(std::uint32_t hash, std::int64_t value) noexcept {
  // Values that fit in 28 signed bits are hashed as a signed 32-bit word
  // (negative ones twice: first |x|, then x); larger ones exactly as a
  // one-digit bignum, because on a 64-bit BEAM they may be either.
  if (value >= -(std::int64_t{1} << 27) && value < (std::int64_t{1} << 27)) [[likely]] {
    const auto y = static_cast<std::int32_t>(value);
    if (y < 0) hash = mix1(hash, static_cast<std::uint32_t>(-y), kIntegerConst);
    return mix1(hash, static_cast<std::uint32_t>(y), kIntegerConst);
  }
  const bool negative = value < 0;
  const std::uint64_t magnitude =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  return mix2(hash, static_cast<std::uint32_t>(magnitude), static_cast<std::uint32_t>(magnitude >> 32),
              negative ? kNegBigConst : kPosBigConst);
}

std::uint32_t hash_bignum(std::uint32_t hash, const BigInt& big) noexcept {
  // The BEAM's 64-bit digits, least significant first, each as (low, high).
  const std::uint32_t k = big.negative ? kNegBigConst : kPosBigConst;
  const std::vector<std::uint8_t>& mag = big.magnitude;
  std::size_t i = 0;
  do {
    std::uint64_t digit = 0;
    for (std::size_t j = 0; j < 8 && i + j < mag.size(); ++j) {
      digit |= static_cast<std::uint64_t>(mag[i + j]) << (8 * j);
    }
    hash = mix2(hash, static_cast<std::uint32_t>(digit), static_cast<std::uint32_t>(digit >> 32), k);
    i += 8;
  } while (i < mag.size());
  return hash;
}

[[gnu::always_inline]] inline std::uint32_t hash_float(std::uint32_t hash, double value) noexcept {
  if (value == 0.0) value = 0.0;  // OTP 25: -0.0 hashes as 0.0
  const auto bits = std::bit_cast<std::uint64_t>(value);
  return mix2(hash, static_cast<std::uint32_t>(bits >> 32), static_cast<std::uint32_t>(bits), kFloatConst);
}

std::uint32_t hash_bitstring(std::uint32_t hash, const Bitstring& bits) noexcept {
  const std::uint32_t seed = kBinaryConst + hash;
  const std::size_t nbytes = bits.bit_size / 8;
  const auto tail_bits = static_cast<std::uint32_t>(bits.bit_size % 8);
  if (nbytes == 0 && tail_bits == 0) return seed;
  hash = block_hash(bits.bytes.data(), nbytes, seed);
  if (tail_bits != 0) {
    hash = mix2(hash, tail_bits, static_cast<std::uint32_t>(bits.bytes[nbytes] >> (8 - tail_bits)), kTailBitsConst);
  }
  return hash;
}

// An atom or [] met while the running hash is exactly 0 sets the hash.
[[gnu::always_inline]] inline std::uint32_t hash_atom(std::uint32_t hash, const Atom& atom) noexcept {
  const std::uint32_t h = cached_atom_hash(atom);
  return hash == 0 ? h : mix1(hash, h, kAtomConst);
}

[[gnu::always_inline]] inline std::uint32_t hash_nil(std::uint32_t hash) noexcept {
  return hash == 0 ? kTopLevelNil : mix1(hash, kNilTag, kNilConst);
}

// Byte-valued list element (the BEAM's is_byte: a small integer 0..255).
inline bool byte_value(const Term& t, std::uint32_t& out) noexcept {
  if (t.type() != Term::Type::Integer) return false;
  const std::int64_t v = *t.as_int();
  if (static_cast<std::uint64_t>(v) > 255) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

// What a local fun contributes: the fields of its NEW_FUN_EXT encoding that
// the BEAM's fun entry holds (Index, OldUniq) and the decoded free variables.
struct LocalFunHashInput {
  std::uint32_t index = 0;
  std::uint32_t old_uniq = 0;
  TermVector free_vars;
};

// NEW_FUN_EXT: 112, Size:32, Arity:8, Uniq:16 bytes, Index:32, NumFree:32,
// Module (atom), OldIndex (integer), OldUniq (integer), Pid, free variables.
// https://www.erlang.org/doc/apps/erts/erl_ext_dist.html#new_fun_ext
class FunReader {
 public:
  explicit FunReader(const std::vector<std::uint8_t>& bytes) : p_(bytes.data()), end_(p_ + bytes.size()) {}
  bool skip(std::size_t n) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }
  std::optional<std::uint32_t> u8() noexcept {
    if (end_ == p_) return std::nullopt;
    return *p_++;
  }
  std::optional<std::uint32_t> u16() noexcept {
    if (end_ - p_ < 2) return std::nullopt;
    const std::uint32_t v = (std::uint32_t{p_[0]} << 8) | p_[1];
    p_ += 2;
    return v;
  }
  std::optional<std::uint32_t> u32() noexcept {
    if (end_ - p_ < 4) return std::nullopt;
    const std::uint32_t v = (std::uint32_t{p_[0]} << 24) | (std::uint32_t{p_[1]} << 16) |
                            (std::uint32_t{p_[2]} << 8) | p_[3];
    p_ += 4;
    return v;
  }
  bool skip_atom() noexcept {
    const auto tag = u8();
    if (!tag) return false;
    std::optional<std::uint32_t> len;
    if (*tag == 100 || *tag == 118) len = u16();      // ATOM_EXT, ATOM_UTF8_EXT
    else if (*tag == 115 || *tag == 119) len = u8();  // SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT
    return len && skip(*len);
  }
  std::optional<std::uint32_t> small_integer() noexcept {
    const auto tag = u8();
    if (!tag) return std::nullopt;
    if (*tag == 97) return u8();   // SMALL_INTEGER_EXT
    if (*tag == 98) return u32();  // INTEGER_EXT (two's complement, kept as bits)
    return std::nullopt;
  }
  std::span<const std::uint8_t> rest() const noexcept { return {p_, static_cast<std::size_t>(end_ - p_)}; }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// The creator pid followed by `count` free variables. A Fun only exists after
// the codec validated its encoding, so a failure here cannot happen; the
// variables decoded so far are kept if it ever did.
TermVector decode_fun_env(std::span<const std::uint8_t> bytes, std::uint32_t count) {
  TermVector env;
  std::size_t index = 0;
  if (!decode_body_at(bytes, index)) return env;  // the creator pid (not hashed)
  env.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Result<Term> var = decode_body_at(bytes, index);
    if (!var) break;
    env.push_back(std::move(*var));
  }
  return env;
}

LocalFunHashInput local_fun_hash_input(const Fun& fun) {
  LocalFunHashInput input;
  FunReader r(fun.encoded);
  std::optional<std::uint32_t> index;
  std::optional<std::uint32_t> num_free;
  if (r.u8() != std::optional<std::uint32_t>{112} || !r.skip(4 + 1 + 16) || !(index = r.u32()) ||
      !(num_free = r.u32()) || !r.skip_atom() || !r.small_integer()) {
    return input;  // not a NEW_FUN_EXT: the codec never produces this
  }
  const auto old_uniq = r.small_integer();
  input.index = *index;
  input.old_uniq = old_uniq.value_or(0);
  input.free_vars = decode_fun_env(r.rest(), *num_free);
  return input;
}

// Scalars that tuples and maps are mostly made of, hashed in place by the
// compound's own loop instead of going through the work stack. Returns false
// (hash untouched) for anything else.
[[gnu::always_inline]] inline bool hash_leaf(const Term& t, std::uint32_t& hash) noexcept {
  switch (t.type()) {
    case Term::Type::Integer:
      hash = hash_small(hash, *t.as_int());
      return true;
    case Term::Type::Atom:
      hash = hash_atom(hash, *t.as_atom());
      return true;
    case Term::Type::Nil:
      hash = hash_nil(hash);
      return true;
    case Term::Type::Pid:
      hash = mix1(hash, t.as_pid()->id, kPidConst);
      return true;
    default:
      return false;
  }
}

// Compound terms are trees of separately allocated nodes, so a walk over a
// term that is not in cache waits for one miss after another. Touching the
// nodes of all compound children as soon as their parent is reached lets
// those misses overlap (the loads are independent of each other).
inline void prefetch_term(const Term& t) noexcept {
  switch (t.type()) {
    case Term::Type::Tuple:
      __builtin_prefetch(t.tuple_elements().data());
      break;
    case Term::Type::Map:
      __builtin_prefetch(t.map_entries().data());
      break;
    case Term::Type::List:
      __builtin_prefetch(t.list_elements().data());
      break;
    default:
      break;
  }
}
constexpr std::size_t kPrefetchChildren = 8;
inline void prefetch_children(std::span<const Term> children) noexcept {
  const std::size_t n = std::min(children.size(), kPrefetchChildren);
  for (std::size_t i = 0; i < n; ++i) prefetch_term(children[i]);
}
inline void prefetch_children(std::span<const TermPair> pairs) noexcept {
  const std::size_t n = std::min(pairs.size(), kPrefetchChildren / 2);
  for (std::size_t i = 0; i < n; ++i) {
    prefetch_term(pairs[i].first);
    prefetch_term(pairs[i].second);
  }
}

// Work items of the explicit stack (32 bytes each).
enum class Op : std::uint8_t {
  Term,      // hash the term at `first`
  Elements,  // hash the terms [first, last) in order (tuple elements, fun env)
  ListRest,  // continue a list at [first, last), then the tail at `extra`
  MapPairs,  // the pairs [first, last) of a map, hashed from a zero hash, XORed
  MapDone,   // mix the XOR into the hash saved when the map started
};

// MapPairs phases.
constexpr std::uint8_t kValueNext = 0;  // the key of *first was hashed
constexpr std::uint8_t kPairDone = 1;   // its value too: fold into the XOR

struct Frame {
  Op op;
  std::uint8_t phase;        // MapPairs
  std::uint32_t saved_hash;  // MapDone
  const void* first;         // const Term* or const TermPair*
  const void* last;
  std::uintptr_t extra;      // ListRest: const Term* tail; MapDone: saved XOR
};

// A stack that lives on the C stack for the common (shallow) case and moves
// to the heap only when a term is nested deeper than the inline capacity.
class FrameStack {
 public:
  FrameStack() noexcept {}  // inline_ is deliberately left uninitialised
  bool empty() const noexcept { return size_ == 0; }
  Frame& top() noexcept { return data_[size_ - 1]; }
  void pop() noexcept { --size_; }
  void push(const Frame& f) {
    if (size_ == capacity_) [[unlikely]] grow();
    data_[size_++] = f;
  }

 private:
  static constexpr std::size_t kInline = 64;
  void grow() {
    const std::size_t capacity = capacity_ * 2;
    auto heap = std::make_unique_for_overwrite<Frame[]>(capacity);
    std::memcpy(heap.get(), data_, size_ * sizeof(Frame));
    heap_ = std::move(heap);
    data_ = heap_.get();
    capacity_ = capacity;
  }
  union {
    Frame inline_[kInline];
  };
  Frame* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = kInline;
  std::unique_ptr<Frame[]> heap_;
};

}  // namespace

std::uint32_t atom_text_hash(std::string_view utf8) noexcept {
  // ELF hashpjw over the bytes. A two-byte UTF-8 sequence for U+0080..U+00FF
  // is first folded into its Latin-1 byte, so that atoms hash as they did when
  // atoms were Latin-1 (R16 compatibility in the BEAM's atom table).
  std::uint32_t h = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(utf8.data());
  const auto* end = p + utf8.size();
  while (p != end) {
    std::uint8_t v = *p++;
    if (p != end && (v & 0xFE) == 0xC2 && (*p & 0xC0) == 0x80) {
      v = static_cast<std::uint8_t>((v << 6) | (*p & 0x3F));
      ++p;
    }
    h = (h << 4) + v;
    if (const std::uint32_t g = h & 0xF0000000u; g != 0) {
      h ^= g >> 24;
      h ^= g;
    }
  }
  return h;
}

std::uint32_t phash2_full(const Term& root) { return phash2_continue(0, root); }

std::uint32_t phash2_map_of_pairs(std::size_t size, std::uint32_t pairs_xor) noexcept {
  const std::uint32_t hash = mix1(0, static_cast<std::uint32_t>(size), kMapSizeConst);
  return size == 0 ? hash : mix1(hash, pairs_xor, kMapPairsConst);
}

std::uint32_t phash2_continue(std::uint32_t seed, const Term& root) {
  std::uint32_t hash = seed;
  std::uint32_t xor_pairs = 0;
  FrameStack stack;
  // Decoded fun environments stay alive while their elements are on the stack.
  std::vector<std::unique_ptr<TermVector>> fun_envs;
  const Term* t = &root;

  for (;;) {
    // Hash `t`; compound terms either continue with their first part (set `t`
    // and `continue`) or fall through to pick the next work item.
    switch (t->type()) {
      case Term::Type::Integer:
        hash = hash_small(hash, *t->as_int());
        break;
      case Term::Type::Atom:
        hash = hash_atom(hash, *t->as_atom());
        break;
      case Term::Type::Tuple: {
        const auto elements = t->tuple_elements();
        hash = mix1(hash, static_cast<std::uint32_t>(elements.size()), kTupleConst);
        if (elements.empty()) break;
        prefetch_children(elements);
        const Term* p = elements.data();
        const Term* const end = p + elements.size();
        while (p != end && hash_leaf(*p, hash)) ++p;
        if (p == end) break;
        if (p + 1 != end) stack.push(Frame{Op::Elements, 0, 0, p + 1, end, 0});
        t = p;
        continue;
      }
      case Term::Type::Map: {
        const auto entries = t->map_entries();
        hash = mix1(hash, static_cast<std::uint32_t>(entries.size()), kMapSizeConst);
        if (entries.empty()) break;
        prefetch_children(entries);
        const std::uint32_t saved_hash = hash;
        std::uint32_t pairs_xor = 0;
        const TermPair* p = entries.data();
        const TermPair* const end = p + entries.size();
        for (; p != end; ++p) {  // pairs of scalars: no stack traffic
          std::uint32_t pair_hash = 0;
          if (!hash_leaf(p->first, pair_hash) || !hash_leaf(p->second, pair_hash)) break;
          pairs_xor ^= pair_hash;
        }
        if (p == end) {
          hash = mix1(saved_hash, pairs_xor, kMapPairsConst);
          break;
        }
        stack.push(Frame{Op::MapDone, 0, saved_hash, nullptr, nullptr, xor_pairs});
        stack.push(Frame{Op::MapPairs, kValueNext, 0, p, end, 0});
        hash = 0;
        xor_pairs = pairs_xor;
        t = &p->first;
        continue;
      }
      case Term::Type::Nil:
        hash = hash_nil(hash);
        break;
      case Term::Type::List: {
        // Handled by ListRest below, which has the byte-packing logic.
        const auto elements = t->list_elements();
        stack.push(Frame{Op::ListRest, 0, 0, elements.data(), elements.data() + elements.size(),
                         reinterpret_cast<std::uintptr_t>(&t->list_tail())});
        break;
      }
      case Term::Type::BigInteger:
        hash = hash_bignum(hash, *t->as_bigint());
        break;
      case Term::Type::Float:
        hash = hash_float(hash, *t->as_float());
        break;
      case Term::Type::Bitstring:
        hash = hash_bitstring(hash, *t->as_bitstring());
        break;
      case Term::Type::Pid:
        hash = mix1(hash, t->as_pid()->id, kPidConst);
        break;
      case Term::Type::Port: {
        const std::uint64_t id = t->as_port()->id;
        hash = mix2(hash, static_cast<std::uint32_t>(id), static_cast<std::uint32_t>(id >> 32), kPortConst);
        break;
      }
      case Term::Type::Reference: {
        // Only the first ID word: two refs differing elsewhere collide.
        const auto& ids = t->as_reference()->ids;
        hash = mix1(hash, ids.empty() ? 0u : ids.front(), kRefConst);
        break;
      }
      case Term::Type::Fun: {
        const Fun& fun = *t->as_fun();
        if (fun.is_export) {
          hash = mix2(hash, fun.arity, cached_atom_hash(fun.module), kGolden);
          hash = mix1(hash, cached_atom_hash(fun.function), kExportFunctionConst);
          break;
        }
        LocalFunHashInput input = local_fun_hash_input(fun);
        const auto num_free = static_cast<std::uint32_t>(input.free_vars.size());
        hash = mix2(hash, num_free, cached_atom_hash(fun.module), kGolden);
        hash = mix2(hash, input.index, input.old_uniq, kGolden);
        if (num_free == 0) break;
        fun_envs.push_back(std::make_unique<TermVector>(std::move(input.free_vars)));
        const TermVector& env = *fun_envs.back();
        if (env.size() > 1) stack.push(Frame{Op::Elements, 0, 0, env.data() + 1, env.data() + env.size(), 0});
        t = env.data();
        continue;
      }
    }

    // Next work item (the BEAM's "hash2_common").
    for (;;) {
      if (stack.empty()) return hash;
      Frame& top = stack.top();
      switch (top.op) {
        case Op::Elements: {
          const Term* next = static_cast<const Term*>(top.first);
          const Term* const end = static_cast<const Term*>(top.last);
          while (hash_leaf(*next, hash)) {
            if (++next == end) break;
          }
          if (next == end) {
            stack.pop();
            continue;
          }
          if (next + 1 == end) {
            stack.pop();
          } else {
            top.first = next + 1;
          }
          t = next;
          goto next_term;
        }
        case Op::MapPairs: {
          const auto* pair = static_cast<const TermPair*>(top.first);
          if (top.phase == kValueNext) {
            top.phase = kPairDone;
            t = &pair->second;
            goto next_term;
          }
          xor_pairs ^= hash;
          hash = 0;
          const auto* const end = static_cast<const TermPair*>(top.last);
          const TermPair* p = pair + 1;
          for (; p != end; ++p) {  // pairs of scalars: no stack traffic
            std::uint32_t pair_hash = 0;
            if (!hash_leaf(p->first, pair_hash) || !hash_leaf(p->second, pair_hash)) break;
            xor_pairs ^= pair_hash;
          }
          if (p == end) {
            stack.pop();
            continue;
          }
          top.first = p;
          top.phase = kValueNext;
          t = &p->first;  // hashed from a zero running hash
          goto next_term;
        }
        case Op::MapDone:
          hash = mix1(top.saved_hash, xor_pairs, kMapPairsConst);
          xor_pairs = static_cast<std::uint32_t>(top.extra);
          stack.pop();
          continue;
        case Op::Term:
          t = static_cast<const Term*>(top.first);
          stack.pop();
          goto next_term;
        case Op::ListRest: {
          // Pack consecutive byte elements four per word, then either hash
          // the first non-byte element (resuming after it) or the tail.
          const auto* p = static_cast<const Term*>(top.first);
          const auto* last = static_cast<const Term*>(top.last);
          const auto* tail = reinterpret_cast<const Term*>(top.extra);
          std::uint32_t packed = 0;
          std::uint32_t count = 0;
          std::uint32_t byte = 0;
          while (p != last && byte_value(*p, byte)) {
            packed = (packed << 8) + byte;
            if (++count == 4) {
              hash = mix1(hash, packed, kByteRunConst);
              packed = 0;
              count = 0;
            }
            ++p;
          }
          if (count > 0) hash = mix1(hash, packed, kByteRunConst);
          if (p == last) {
            t = tail;
            stack.pop();
          } else {
            t = p;
            if (p + 1 == last) {
              top = Frame{Op::Term, 0, 0, tail, nullptr, 0};
            } else {
              top.first = p + 1;
            }
          }
          goto next_term;
        }
      }
    }
  next_term:;
  }
}

std::uint32_t phash2(const Term& term, std::uint64_t range) {
  constexpr std::uint64_t kMaxRange = std::uint64_t{1} << 32;
  if (range == 0 || range > kMaxRange) {
    throw std::invalid_argument("phash2: range must be in 1..2^32");
  }
  const std::uint32_t hash = phash2_full(term);
  return range == kMaxRange ? hash : static_cast<std::uint32_t>(hash % range);
}

}  // namespace hc
