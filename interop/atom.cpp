// The atom table: atoms are interned once, process-wide, and never freed (as
// on the BEAM), with a configurable limit (atom_limit()).
#include "interop/term.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "interop/term_repr.hpp"

namespace hc {

// ---------------------------------------------------------------------------
// Atom table
// ---------------------------------------------------------------------------
namespace {

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// Interned strings live forever (atoms are never garbage collected, as on the
// BEAM); node-based set so pointers stay valid on rehash.
class AtomTable {
 public:
  const std::string* intern(std::string_view text) {
    {
      std::shared_lock lock(mutex_);
      auto it = set_.find(text);
      if (it != set_.end()) return &*it;
    }
    std::unique_lock lock(mutex_);
    return &*set_.emplace(text).first;
  }
  // nullptr when `text` is new and the table holds `limit` atoms already.
  const std::string* intern_bounded(std::string_view text, std::size_t limit) {
    {
      std::shared_lock lock(mutex_);
      auto it = set_.find(text);
      if (it != set_.end()) return &*it;
    }
    std::unique_lock lock(mutex_);
    auto it = set_.find(text);
    if (it != set_.end()) return &*it;
    if (set_.size() >= limit) return nullptr;
    return &*set_.emplace(text).first;
  }
  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return set_.size();
  }
  const std::string* find(std::string_view text) const {
    std::shared_lock lock(mutex_);
    auto it = set_.find(text);
    return it == set_.end() ? nullptr : &*it;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_set<std::string, SvHash, SvEq> set_;
};

AtomTable& atom_table() {
  static AtomTable* table = new AtomTable();  // never destroyed: atoms may outlive statics
  return *table;
}

// Per-thread direct-mapped cache in front of the shared table: decoding looks
// up the same few atoms over and over, and this keeps them off the lock and
// off a general-purpose hash table.
const std::string* intern_atom(std::string_view text, std::size_t limit = 0) {
  thread_local const std::string* cache[1024] = {};
  // Cheap hash, 8 bytes at a time (atoms are short; collisions only cost a miss).
  std::uint64_t h = text.size() * 0x9e3779b97f4a7c15ULL;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
  }
  if (i < text.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + i, text.size() - i);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
  }
  const std::string*& slot = cache[(h >> 40) & 1023];
  if (slot && *slot == text) return slot;
  const std::string* p = limit ? atom_table().intern_bounded(text, limit) : atom_table().intern(text);
  if (p != nullptr) slot = p;
  return p;
}

const std::string* empty_atom() {
  static const std::string* e = atom_table().intern("");
  return e;
}

}  // namespace

Atom::Atom() : text_(empty_atom()) {}
Atom::Atom(std::string_view text) : text_(intern_atom(text)) {}

namespace {
// Process-wide on purpose (the table is); atomic, so nodes on several
// threads read it safely.
std::atomic<std::size_t> g_atom_limit{kDefaultAtomLimit};
}  // namespace

std::optional<Atom> Atom::bounded(std::string_view text) {
  const std::string* p = intern_atom(text, std::max<std::size_t>(1, g_atom_limit.load(std::memory_order_relaxed)));
  if (p == nullptr) return std::nullopt;
  Atom a;
  a.text_ = p;
  return a;
}

std::size_t atom_count() noexcept { return atom_table().size(); }
std::size_t atom_limit() noexcept { return g_atom_limit.load(std::memory_order_relaxed); }
void set_atom_limit(std::size_t limit) noexcept { g_atom_limit.store(limit, std::memory_order_relaxed); }

std::strong_ordering Atom::operator<=>(const Atom& other) const noexcept {
  if (text_ == other.text_) return std::strong_ordering::equal;
  int c = text_->compare(*other.text_);  // std::string::compare is unsigned-char lexicographic
  return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
}

namespace term_detail {
std::optional<Atom> existing_atom(std::string_view text) {
  if (!atom_table().find(text)) return std::nullopt;
  return Atom(text);
}
}  // namespace term_detail

}  // namespace hc
