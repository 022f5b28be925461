// Internal to the AWLWWMap implementation (aw_lww_map.cpp, aw_lww_join.cpp,
// slice_encode.cpp):
// the byte layout of a key's record and the term helpers these files use.
// Not a public header; nothing outside crdt/ includes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "crdt/aw_lww_map.hpp"
#include "crdt/packed_term.hpp"

namespace hc::crdt {

// ---- record layout ----------------------------------------------------------
// [varint key_len][key bytes][varint n]
// n x ([varint vlen][value bytes][varint tlen][ts bytes][varint ndots]
//      ndots x ([zigzag node][zigzag counter]))
// Elements are sorted by (value bytes, ts bytes) and dots ascending, so two
// records are equal bytes iff the keys and element maps are equal terms.
// A record is one block of the replica's BlockArena: an 8-byte header (the
// key's Merkle hash and the size, with a bit saying whether the hash was
// computed) followed by the bytes.
struct AWLWWMap::Record {
  std::uint32_t key_hash;   // phash2(Key, 2^32), valid when has_hash()
  std::uint32_t size_bits;  // size << 1 | has_hash
  std::uint32_t size() const noexcept { return size_bits >> 1; }
  bool has_hash() const noexcept { return (size_bits & 1u) != 0; }
  void set_hash(std::uint32_t h) noexcept {
    key_hash = h;
    size_bits |= 1u;
  }
  // Takes the hash of `other` (the same key's previous record) if it has one.
  void inherit_hash(const Record& other) noexcept {
    if (other.has_hash()) set_hash(other.key_hash);
  }
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view bytes() const noexcept { return {data(), size()}; }
  std::size_t block_bytes() const noexcept { return sizeof(Record) + size(); }

  static Record* make(BlockArena& arena, std::string_view bytes) {
    static_assert(sizeof(Record) == 8, "the record header is 8 bytes");
    auto* r = static_cast<Record*>(arena.allocate(sizeof(Record) + bytes.size()));
    r->key_hash = 0;
    r->size_bits = static_cast<std::uint32_t>(bytes.size()) << 1;
    std::memcpy(r->data(), bytes.data(), bytes.size());
    return r;
  }
  static void destroy(BlockArena& arena, Record* r) noexcept {
    if (r) arena.deallocate(r, r->block_bytes());
  }
  std::string_view key() const noexcept {
    std::string_view in = bytes();
    auto n = get_varint(in);
    return in.substr(0, n);
  }
};


struct AWLWWMap::Parsed {
  struct El {
    std::string_view value;
    std::string_view ts;
    std::vector<Dot> dots;
  };
  std::string_view key;
  std::vector<El> elems;

  static Parsed of(const Record* r) {
    Parsed p;
    if (!r) return p;
    std::string_view in = r->bytes();
    auto kl = get_varint(in);
    p.key = in.substr(0, kl);
    in.remove_prefix(kl);
    auto n = get_varint(in);
    p.elems.resize(n);
    for (auto& e : p.elems) {
      auto vl = get_varint(in);
      e.value = in.substr(0, vl);
      in.remove_prefix(vl);
      auto tl = get_varint(in);
      e.ts = in.substr(0, tl);
      in.remove_prefix(tl);
      auto nd = get_varint(in);
      e.dots.resize(nd);
      for (auto& d : e.dots) {
        d.node = unzigzag(get_varint(in));
        d.counter = unzigzag(get_varint(in));
      }
    }
    return p;
  }

  // Canonical bytes (elements sorted); empty string when no element.
  std::string encode() {
    if (elems.empty()) return {};
    std::sort(elems.begin(), elems.end(), [](const El& a, const El& b) {
      return a.value != b.value ? a.value < b.value : a.ts < b.ts;
    });
    std::string out;
    put_varint(key.size(), out);
    out.append(key);
    put_varint(elems.size(), out);
    for (auto& e : elems) {
      std::sort(e.dots.begin(), e.dots.end());
      put_varint(e.value.size(), out);
      out.append(e.value);
      put_varint(e.ts.size(), out);
      out.append(e.ts);
      put_varint(e.dots.size(), out);
      for (const Dot& d : e.dots) {
        put_varint(zigzag(d.node), out);
        put_varint(zigzag(d.counter), out);
      }
    }
    return out;
  }
};

// An open-addressing map from packed keys (copied into one buffer) to V,
// for the transient indexes of a join over up to N keys: freeing it frees
// a few blocks, however many keys it holds (node-based maps and one string
// per key took ~30 ms to free after a 100 000-key join). `h` is the key's
// packed_hash. Not thread-safe.
//
// The slots are calloc'ed and an all-zero slot is empty: a large table
// comes as fresh zero pages (no fill), and its page faults fall where the
// steps of a join touch it, not into the turn that sizes it (a 300 000-key
// join's 32 MB memo was filled in its first turn: 106-126 ms of page
// faults in a whole node at 300 000 names).
template <class V>
class PackedKeyMap {
  static_assert(std::is_trivially_copyable_v<V>, "slots are moved with memcpy and zero means empty");

 public:
  PackedKeyMap() = default;
  PackedKeyMap(const PackedKeyMap&) = delete;
  PackedKeyMap& operator=(const PackedKeyMap&) = delete;
  PackedKeyMap(PackedKeyMap&& o) noexcept
      : slots_(std::exchange(o.slots_, nullptr)), cap_(std::exchange(o.cap_, 0)), bytes_(std::move(o.bytes_)),
        count_(std::exchange(o.count_, 0)) {}
  PackedKeyMap& operator=(PackedKeyMap&& o) noexcept {
    if (this != &o) {
      std::free(slots_);
      slots_ = std::exchange(o.slots_, nullptr);
      cap_ = std::exchange(o.cap_, 0);
      bytes_ = std::move(o.bytes_);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  ~PackedKeyMap() { std::free(slots_); }

  void reserve(std::size_t n) {
    std::size_t want = 16;
    while (want < 2 * n) want *= 2;
    if (want > cap_) rehash(want);
  }
  std::size_t size() const noexcept { return count_; }
  V* find(std::uint64_t h, std::string_view key) {
    if (cap_ == 0) return nullptr;
    for (std::size_t i = h & (cap_ - 1);; i = (i + 1) & (cap_ - 1)) {
      Slot& s = slots_[i];
      if (s.size1 == 0) return nullptr;
      if (s.h == h && std::string_view(bytes_).substr(s.offset, s.size1 - 1) == key) return &s.value;
    }
  }
  // `key` must be absent. Invalidates the pointers find returned.
  void insert(std::uint64_t h, std::string_view key, V value) {
    if (2 * (count_ + 1) > cap_) rehash(std::max<std::size_t>(16, 2 * cap_));
    place(Slot{h, static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(key.size() + 1), value});
    bytes_.append(key);
    ++count_;
  }

 private:
  struct Slot {
    std::uint64_t h;
    std::uint32_t offset, size1;  // size1: the key's size + 1; 0: an empty slot
    V value;
  };
  void place(const Slot& s) {
    std::size_t i = s.h & (cap_ - 1);
    while (slots_[i].size1 != 0) i = (i + 1) & (cap_ - 1);
    std::memcpy(static_cast<void*>(&slots_[i]), &s, sizeof(Slot));
  }
  void rehash(std::size_t n) {
    void* fresh = std::calloc(n, sizeof(Slot));
    if (!fresh) throw std::bad_alloc();
    Slot* old = std::exchange(slots_, static_cast<Slot*>(fresh));
    const std::size_t old_cap = std::exchange(cap_, n);
    for (std::size_t i = 0; i < old_cap; ++i)
      if (old[i].size1 != 0) place(old[i]);
    std::free(old);
  }
  Slot* slots_ = nullptr;
  std::size_t cap_ = 0;
  std::string bytes_;
  std::size_t count_ = 0;
};

// The keys a join has handled (AWLWWMap::join_with): a key given again is
// not joined again but reported as where it first came (DeltaCrdt reports
// every repetition), also when it comes in a later step of a SliceJoin.
struct AWLWWMap::JoinMemo {
  enum class Report : std::uint8_t { none, silent, add, remove };  // silent: elements changed, not the read value
  struct Entry {
    Report report = Report::none;
    std::uint32_t call = 0;     // the join_with call that joined it
    std::uint32_t pending = 0;  // index into that call's pending keys
  };
  PackedKeyMap<Entry> keys;
  std::uint32_t calls = 0;
};

namespace awlww_detail {
// %DeltaCrdt.AWLWWMap{} module atom.
const Atom& awlww_module();
// Erlang order of two packed timestamps (<0, 0, >0).
int compare_ts(std::string_view a, std::string_view b);
// Elixir 1.14+ MapSet of the dots (the element's dot set on the wire).
Term mapset_of(const std::vector<Dot>& dots);
// The dots of a MapSet of that exact shape; false otherwise.
bool parse_mapset_dots(const Term& set, std::vector<Dot>& out);
}  // namespace awlww_detail

}  // namespace hc::crdt
