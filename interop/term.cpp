// The term model: atom interning, construction/normalisation, accessors,
// exact equality, the two term orders and the structural hash.
//
// Orders (checked against OTP 25, see test/interop/term_test.cpp):
// - Type order: number < atom < reference < fun < port < pid < tuple < map
//   < nil < list < bitstring.
// - `erlang_compare` is `<`/`==`: numbers by exact mathematical value
//   (int64, bignum and double compared without rounding; 1 == 1.0).
// - `operator<=>` is the BEAM's *exact* compare (erts_cmp with exact=1, the
//   order of map keys): numbers of the same kind by value, but every integer
//   sorts before every float ("in map key order integers are less than
//   floats"), so `#{1.0 => a, 2 => b}` has its keys in the order [2, 1.0].
// - Pids (utils.c, erts_cmp_compound `pid_common`): serial, id, then node
//   name, then creation. Ports (`port_common`): node name, creation, id.
//   References (`ref_common`): node name, creation, then the ID words from the
//   last (most significant) to the first; missing high words count as 0, so
//   refs that differ only by trailing zero words are equal (=:= true on OTP 25).
// - Maps: size, then keys in map key order (always compared exactly), then
//   values in key order. (The BEAM walks maps of > 32 keys in hash order but
//   the result is the same as this sorted walk.)
// - Lists compare cell by cell: head, then tail; an improper tail is compared
//   with whatever the other list has at that position.
// - Funs: local funs sort before exports (FUN_DEF vs EXPORT_DEF); exports by
//   module, function, arity; local funs by module, then by their encoding (the
//   BEAM uses old_index/old_uniq/env, which we do not model).
#include "interop/term.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

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

// Look an atom up without creating it (used by map_get(string_view)).
static std::optional<Atom> existing_atom(std::string_view text) {
  if (!atom_table().find(text)) return std::nullopt;
  return Atom(text);
}

// ---------------------------------------------------------------------------
// Access to the representation
// ---------------------------------------------------------------------------
struct TermAccess {
  static const Term::Value& v(const Term& t) noexcept { return t.value_; }
  template <std::size_t I, typename... A>
  static Term make(A&&... a) {
    return Term(Term::Value(std::in_place_index<I>, std::forward<A>(a)...));
  }
};

namespace {
constexpr std::size_t kInt = 0, kBig = 1, kFloat = 2, kAtom = 3, kRef = 4, kFun = 5, kPort = 6,
                      kPid = 7, kTuple = 8, kMap = 9, kNil = 10, kList = 11, kBits = 12;

const Term& nil_term() {
  static const Term n;
  return n;
}

void normalise_bits(Bitstring& b) {
  std::size_t nbytes = (b.bit_size + 7) / 8;
  b.bytes.resize(nbytes, 0);
  if (unsigned rem = b.bit_size % 8; rem != 0) b.bytes.back() &= static_cast<std::uint8_t>(0xFF << (8 - rem));
}

}  // namespace

// ---------------------------------------------------------------------------
// Compound nodes: allocation and non-recursive destruction
// ---------------------------------------------------------------------------
// Destroying a deeply nested term must not recurse once per level (the codec
// accepts 10 000 levels, which overflows sanitizer-sized stacks). Compound
// nodes are allocated with NodeAlloc, whose destroy() moves compound children
// into the Graveyard of the outermost destruction on this thread, which
// destroys them one by one: the native stack depth stays constant.
namespace {

inline bool is_compound(const Term& t) noexcept {
  auto ty = t.type();
  return ty == Term::Type::Tuple || ty == Term::Type::List || ty == Term::Type::Map;
}

// Compound children waiting to be destroyed. It lives on the stack of the
// outermost compound destruction (found through a trivially destructible
// thread_local pointer, so nothing here depends on thread/static destruction
// order) and keeps a few terms inline to avoid allocating in the common case.
class Graveyard {
 public:
  Graveyard() noexcept = default;
  Graveyard(const Graveyard&) = delete;
  Graveyard& operator=(const Graveyard&) = delete;
  ~Graveyard() { drain(); }

  void bury(Term& t) noexcept {
    if (!is_compound(t)) return;
    if (inline_count_ < kInline) {
      ::new (static_cast<void*>(slot(inline_count_))) Term(std::move(t));
      ++inline_count_;
      return;
    }
    try {
      overflow_.push_back(std::move(t));
    } catch (...) {
      // Out of memory: leave t where it is; it is destroyed in place (recursively).
    }
  }
  // Destroys everything buried, including what those destructions bury.
  void drain() noexcept {
    for (;;) {
      if (!overflow_.empty()) {
        Term t = std::move(overflow_.back());
        overflow_.pop_back();
        continue;  // t dies here and may bury more
      }
      if (inline_count_ == 0) return;
      --inline_count_;
      Term t = std::move(*slot(inline_count_));
      slot(inline_count_)->~Term();
    }
  }

 private:
  static constexpr std::size_t kInline = 16;
  Term* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<Term*>(storage_ + i * sizeof(Term))); }
  alignas(Term) unsigned char storage_[kInline * sizeof(Term)];
  std::size_t inline_count_ = 0;
  std::vector<Term> overflow_;
};

thread_local Graveyard* current_graveyard = nullptr;

void bury_children(Graveyard& g, TermVector& v) noexcept {
  for (auto& t : v) g.bury(t);
}
void bury_children(Graveyard& g, ListData& l) noexcept {
  bury_children(g, l.elements);
  g.bury(l.tail);
}
void bury_children(Graveyard& g, MapData& m) noexcept {
  for (auto& [k, v] : m.entries) {
    g.bury(k);
    g.bury(v);
  }
}

template <class T>
struct NodeAlloc {
  using value_type = T;
  NodeAlloc() noexcept = default;
  template <class U>
  NodeAlloc(const NodeAlloc<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
  template <class U>
  void destroy(U* p) noexcept {
    if constexpr (std::is_same_v<U, TermVector> || std::is_same_v<U, ListData> || std::is_same_v<U, MapData>) {
      if (Graveyard* g = current_graveyard) {  // nested: hand the children to the outermost
        bury_children(*g, *p);
        p->~U();
        return;
      }
      Graveyard g;
      current_graveyard = &g;
      bury_children(g, *p);
      p->~U();
      g.drain();
      current_graveyard = nullptr;
    } else {
      p->~U();
    }
  }
  template <class U>
  bool operator==(const NodeAlloc<U>&) const noexcept { return true; }
};

template <class T, class... A>
std::shared_ptr<const T> make_node(A&&... a) {
  return std::allocate_shared<T>(NodeAlloc<T>(), std::forward<A>(a)...);
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------
Term::Term() noexcept : value_(std::in_place_index<kNil>) {}
Term::Term(std::int64_t value) noexcept : value_(std::in_place_index<kInt>, value) {}
Term::Term(std::uint64_t value) {
  if (value <= static_cast<std::uint64_t>(INT64_MAX)) {
    value_.emplace<kInt>(static_cast<std::int64_t>(value));
    return;
  }
  auto b = std::make_shared<BigInt>();
  for (int i = 0; i < 8; ++i) b->magnitude.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  value_.emplace<kBig>(std::move(b));
}
Term::Term(double value) noexcept : value_(std::in_place_index<kFloat>, value) {}
Term::Term(Atom value) noexcept : value_(std::in_place_index<kAtom>, value) {}
Term::Term(Pid value) noexcept : value_(std::in_place_index<kPid>, value) {}
Term::Term(Port value) noexcept : value_(std::in_place_index<kPort>, value) {}
Term::Term(Reference value)
    : value_(std::in_place_index<kRef>, std::make_shared<const Reference>(std::move(value))) {}
Term::Term(Fun value) : value_(std::in_place_index<kFun>, std::make_shared<const Fun>(std::move(value))) {}

Term::Term(BigInt value) {
  auto& m = value.magnitude;
  while (!m.empty() && m.back() == 0) m.pop_back();
  if (m.size() <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < m.size(); ++i) u |= static_cast<std::uint64_t>(m[i]) << (8 * i);
    if (!value.negative && u <= static_cast<std::uint64_t>(INT64_MAX)) {
      value_.emplace<kInt>(static_cast<std::int64_t>(u));
      return;
    }
    if (value.negative && u <= (static_cast<std::uint64_t>(1) << 63)) {
      value_.emplace<kInt>(static_cast<std::int64_t>(0 - u));  // two's complement wrap is exact here
      return;
    }
  }
  value_.emplace<kBig>(std::make_shared<const BigInt>(std::move(value)));
}

Term::Term(Bitstring value) {
  normalise_bits(value);
  value_.emplace<kBits>(std::make_shared<const Bitstring>(std::move(value)));
}

Term Term::binary(std::string_view bytes) {
  Bitstring b;
  b.bytes.assign(bytes.begin(), bytes.end());
  b.bit_size = bytes.size() * 8;
  return TermAccess::make<kBits>(std::make_shared<const Bitstring>(std::move(b)));
}
Term Term::binary(std::span<const std::uint8_t> bytes) {
  Bitstring b;
  b.bytes.assign(bytes.begin(), bytes.end());
  b.bit_size = bytes.size() * 8;
  return TermAccess::make<kBits>(std::make_shared<const Bitstring>(std::move(b)));
}
Term Term::bitstring(std::span<const std::uint8_t> bytes, std::size_t bit_size) {
  Bitstring b;
  std::size_t n = std::min(bytes.size(), (bit_size + 7) / 8);
  b.bytes.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
  b.bit_size = bit_size;
  return Term(std::move(b));
}

Term Term::tuple(TermVector elements) {
  return TermAccess::make<kTuple>(make_node<TermVector>(std::move(elements)));
}

Term Term::list(TermVector elements, Term tail) {
  if (elements.empty()) return tail;
  if (tail.type() == Type::List) {
    const auto& inner = *std::get<kList>(tail.value_);
    elements.insert(elements.end(), inner.elements.begin(), inner.elements.end());
    Term t = inner.tail;
    return TermAccess::make<kList>(make_node<ListData>(ListData{std::move(elements), std::move(t)}));
  }
  return TermAccess::make<kList>(make_node<ListData>(ListData{std::move(elements), std::move(tail)}));
}

Term Term::map(TermPairs pairs) {
  auto less = [](const TermPair& a, const TermPair& b) { return (a.first <=> b.first) < 0; };
  // Fast path: already strictly ordered (what a BEAM flatmap encodes).
  bool sorted = true;
  for (std::size_t i = 1; i < pairs.size(); ++i) {
    if (!less(pairs[i - 1], pairs[i])) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    std::stable_sort(pairs.begin(), pairs.end(), less);
    // Keep the last of each run of equal keys (maps:from_list semantics).
    TermPairs out;
    out.reserve(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (i + 1 < pairs.size() && pairs[i].first == pairs[i + 1].first) continue;
      out.push_back(std::move(pairs[i]));
    }
    pairs = std::move(out);
  }
  return TermAccess::make<kMap>(make_node<MapData>(MapData{std::move(pairs)}));
}

// ---------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------
bool Term::is_atom(std::string_view text) const noexcept {
  const Atom* a = std::get_if<kAtom>(&value_);
  return a && a->text() == text;
}
bool Term::is_proper_list() const noexcept {
  if (type() == Type::Nil) return true;
  if (type() != Type::List) return false;
  return std::get<kList>(value_)->tail.is_nil();
}
bool Term::is_tuple(std::size_t arity) const noexcept {
  const auto* t = std::get_if<kTuple>(&value_);
  return t && (*t)->size() == arity;
}
bool Term::is_record(std::string_view tag, std::size_t arity) const noexcept {
  const auto* t = std::get_if<kTuple>(&value_);
  return t && (*t)->size() == arity && arity > 0 && (**t)[0].is_atom(tag);
}
bool Term::is_binary() const noexcept {
  const auto* b = std::get_if<kBits>(&value_);
  return b && (*b)->is_binary();
}

std::optional<std::int64_t> Term::as_int() const noexcept {
  if (const auto* i = std::get_if<kInt>(&value_)) return *i;
  return std::nullopt;
}
const BigInt* Term::as_bigint() const noexcept {
  const auto* p = std::get_if<kBig>(&value_);
  return p ? p->get() : nullptr;
}
std::optional<double> Term::as_float() const noexcept {
  if (const auto* d = std::get_if<kFloat>(&value_)) return *d;
  return std::nullopt;
}
const Atom* Term::as_atom() const noexcept { return std::get_if<kAtom>(&value_); }
const Pid* Term::as_pid() const noexcept { return std::get_if<kPid>(&value_); }
const Port* Term::as_port() const noexcept { return std::get_if<kPort>(&value_); }
const Reference* Term::as_reference() const noexcept {
  const auto* p = std::get_if<kRef>(&value_);
  return p ? p->get() : nullptr;
}
const Fun* Term::as_fun() const noexcept {
  const auto* p = std::get_if<kFun>(&value_);
  return p ? p->get() : nullptr;
}
const Bitstring* Term::as_bitstring() const noexcept {
  const auto* p = std::get_if<kBits>(&value_);
  return p ? p->get() : nullptr;
}
std::optional<std::string_view> Term::as_binary() const noexcept {
  const auto* p = std::get_if<kBits>(&value_);
  if (!p || !(*p)->is_binary()) return std::nullopt;
  const auto& bytes = (*p)->bytes;
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
std::span<const Term> Term::tuple_elements() const noexcept {
  const auto* p = std::get_if<kTuple>(&value_);
  if (!p) return {};
  return std::span<const Term>((*p)->data(), (*p)->size());
}
std::span<const Term> Term::list_elements() const noexcept {
  const auto* p = std::get_if<kList>(&value_);
  if (!p) return {};
  return std::span<const Term>((*p)->elements.data(), (*p)->elements.size());
}
const Term& Term::list_tail() const noexcept {
  const auto* p = std::get_if<kList>(&value_);
  return p ? (*p)->tail : nil_term();
}
std::span<const TermPair> Term::map_entries() const noexcept {
  const auto* p = std::get_if<kMap>(&value_);
  if (!p) return {};
  return std::span<const TermPair>((*p)->entries.data(), (*p)->entries.size());
}
const Term* Term::map_get(const Term& key) const noexcept {
  auto entries = map_entries();
  if (entries.size() <= 8) {
    for (const auto& e : entries)
      if (e.first == key) return &e.second;
    return nullptr;
  }
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const TermPair& e, const Term& k) { return (e.first <=> k) < 0; });
  if (it != entries.end() && it->first == key) return &it->second;
  return nullptr;
}
const Term* Term::map_get(std::string_view atom_key) const {
  if (!is_map()) return nullptr;
  auto a = existing_atom(atom_key);
  if (!a) return nullptr;
  return map_get(Term(*a));
}
const Term* Term::element(std::size_t index) const noexcept {
  auto els = tuple_elements();
  return index < els.size() ? &els[index] : nullptr;
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------
namespace {

int sign_of(int c) { return (c > 0) - (c < 0); }
template <typename T>
int cmp3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// A LIFO work list that lives on the stack while small: the iterative
// comparisons and hashes run for every map insert and lookup, and most terms
// need only a handful of pending items.
template <class T, std::size_t N = 32>
class SmallStack {
 public:
  bool empty() const noexcept { return size_ == 0; }
  void push_back(const T& v) {
    if (size_ < N) {
      inline_[size_] = v;
    } else {
      heap_.push_back(v);
    }
    ++size_;
  }
  template <class... A>
  void emplace_back(A&&... a) {
    push_back(T{std::forward<A>(a)...});
  }
  T& back() noexcept { return size_ <= N ? inline_[size_ - 1] : heap_.back(); }
  void pop_back() noexcept {
    if (size_ > N) heap_.pop_back();
    --size_;
  }

 private:
  std::size_t size_ = 0;
  T inline_[N];
  std::vector<T> heap_;
};

// Compare magnitudes (little-endian, no trailing zero bytes).
int cmp_mag(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

int cmp_big(const BigInt& a, const BigInt& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int c = cmp_mag(a.magnitude, b.magnitude);
  return a.negative ? -c : c;
}

// Doubles: -0.0 == 0.0 (OTP 25). NaN cannot occur in Erlang; if one is built
// by hand it sorts after every other float so the order stays total.
int cmp_double(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a == b) return 0;
  bool an = std::isnan(a), bn = std::isnan(b);
  return an == bn ? 0 : (an ? 1 : -1);
}

// Exact value comparison of an int64 with a double.
int cmp_int_double(std::int64_t i, double d) {
  if (std::isnan(d)) return -1;
  constexpr double two63 = 9223372036854775808.0;
  if (d >= two63) return -1;
  if (d < -two63) return 1;
  double t = std::trunc(d);
  auto ti = static_cast<std::int64_t>(t);  // exact: |t| < 2^63 or t == -2^63
  if (i != ti) return i < ti ? -1 : 1;
  double frac = d - t;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

// A finite double of magnitude >= 2^63 is an integer; convert it exactly.
BigInt double_to_big(double d) {
  BigInt b;
  b.negative = d < 0;
  int exp = 0;
  double m = std::frexp(std::fabs(d), &exp);  // |d| = m * 2^exp, m in [0.5, 1)
  auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));
  int shift = exp - 53;  // >= 10 here
  std::size_t total_bits = 53 + static_cast<std::size_t>(shift);
  b.magnitude.assign((total_bits + 7) / 8, 0);
  for (int bit = 0; bit < 53; ++bit) {
    if (mant >> bit & 1) {
      std::size_t pos = static_cast<std::size_t>(bit + shift);
      b.magnitude[pos / 8] |= static_cast<std::uint8_t>(1u << (pos % 8));
    }
  }
  while (!b.magnitude.empty() && b.magnitude.back() == 0) b.magnitude.pop_back();
  return b;
}

int cmp_big_double(const BigInt& b, double d) {
  if (std::isnan(d)) return -1;
  if (std::isinf(d)) return d > 0 ? -1 : 1;
  // A bignum has magnitude > 2^63 - 1 (>= 2^63 for negatives), so any double
  // below 2^63 in magnitude is decided by the bignum's sign.
  constexpr double two63 = 9223372036854775808.0;
  if (std::fabs(d) < two63) return b.negative ? -1 : 1;
  return cmp_big(b, double_to_big(d));
}

int type_rank(Term::Type t) {
  switch (t) {
    case Term::Type::Integer:
    case Term::Type::BigInteger:
    case Term::Type::Float: return 0;
    default: return static_cast<int>(t) - 2;
  }
}

int cmp_bits(const Bitstring& a, const Bitstring& b) {
  std::size_t min_bits = std::min(a.bit_size, b.bit_size);
  std::size_t full = min_bits / 8;
  if (full) {
    int c = std::memcmp(a.bytes.data(), b.bytes.data(), full);
    if (c) return sign_of(c);
  }
  if (unsigned rem = min_bits % 8; rem != 0) {
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - rem));
    std::uint8_t x = a.bytes[full] & mask, y = b.bytes[full] & mask;
    if (x != y) return x < y ? -1 : 1;
  }
  return cmp3(a.bit_size, b.bit_size);
}

// Effective ID words: trailing (high) zero words do not count.
std::size_t ref_len(const Reference& r) {
  std::size_t n = r.ids.size();
  while (n > 1 && r.ids[n - 1] == 0) --n;
  return n;
}

int cmp_ref(const Reference& a, const Reference& b) {
  if (a.node != b.node) return (a.node <=> b.node) < 0 ? -1 : 1;
  if (a.creation != b.creation) return a.creation < b.creation ? -1 : 1;
  std::size_t la = ref_len(a), lb = ref_len(b);
  if (la != lb) return la < lb ? -1 : 1;
  for (std::size_t i = la; i-- > 0;)
    if (a.ids[i] != b.ids[i]) return a.ids[i] < b.ids[i] ? -1 : 1;
  return 0;
}

int cmp_atom(const Atom& a, const Atom& b) {
  if (a == b) return 0;
  return (a <=> b) < 0 ? -1 : 1;
}

int cmp_fun(const Fun& a, const Fun& b) {
  if (a.is_export != b.is_export) return a.is_export ? 1 : -1;
  if (int c = cmp_atom(a.module, b.module)) return c;
  if (a.is_export) {
    if (int c = cmp_atom(a.function, b.function)) return c;
    return cmp3(a.arity, b.arity);
  }
  if (a.encoded == b.encoded) return 0;
  return a.encoded < b.encoded ? -1 : 1;
}

int compare_numbers(const Term& ta, const Term& tb, bool exact) {
  const auto& a = TermAccess::v(ta);
  const auto& b = TermAccess::v(tb);
  std::size_t ia = a.index(), ib = b.index();
  if (ia == kInt && ib == kInt) return cmp3(std::get<kInt>(a), std::get<kInt>(b));
  if (ia == kFloat && ib == kFloat) return cmp_double(std::get<kFloat>(a), std::get<kFloat>(b));
  if (ia == kBig && ib == kBig) return cmp_big(*std::get<kBig>(a), *std::get<kBig>(b));
  if (ia == kInt && ib == kBig) return std::get<kBig>(b)->negative ? 1 : -1;
  if (ia == kBig && ib == kInt) return std::get<kBig>(a)->negative ? -1 : 1;
  // Integer vs float.
  if (exact) return ia == kFloat ? 1 : -1;
  if (ia == kInt) return cmp_int_double(std::get<kInt>(a), std::get<kFloat>(b));
  if (ib == kInt) return -cmp_int_double(std::get<kInt>(b), std::get<kFloat>(a));
  if (ia == kBig) return cmp_big_double(*std::get<kBig>(a), std::get<kFloat>(b));
  return -cmp_big_double(*std::get<kBig>(b), std::get<kFloat>(a));
}

// Work items of the iterative comparisons: a pair of terms, or (lists of
// different lengths) a result already known once the common prefix is equal.
struct CmpItem {
  const Term* a;
  const Term* b;
  bool exact;
  int fixed;  // used when a == nullptr
};

// Compares the top level of a and b; pushes children pairs (in reverse, so
// they are compared first to last) when the answer depends on them.
using CmpStack = SmallStack<CmpItem>;

int compare_node(const Term& a, const Term& b, bool exact, CmpStack& todo) {
  const auto& va = TermAccess::v(a);
  const auto& vb = TermAccess::v(b);
  int ra = type_rank(a.type()), rb = type_rank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return compare_numbers(a, b, exact);
  switch (va.index()) {
    case kAtom: return cmp_atom(std::get<kAtom>(va), std::get<kAtom>(vb));
    case kRef: return cmp_ref(*std::get<kRef>(va), *std::get<kRef>(vb));
    case kFun: return cmp_fun(*std::get<kFun>(va), *std::get<kFun>(vb));
    case kPort: {
      const Port& x = std::get<kPort>(va);
      const Port& y = std::get<kPort>(vb);
      if (int c = cmp_atom(x.node, y.node)) return c;
      if (int c = cmp3(x.creation, y.creation)) return c;
      return cmp3(x.id, y.id);
    }
    case kPid: {
      const Pid& x = std::get<kPid>(va);
      const Pid& y = std::get<kPid>(vb);
      if (int c = cmp3(x.serial, y.serial)) return c;
      if (int c = cmp3(x.id, y.id)) return c;
      if (int c = cmp_atom(x.node, y.node)) return c;
      return cmp3(x.creation, y.creation);
    }
    case kTuple: {
      const auto& x = *std::get<kTuple>(va);
      const auto& y = *std::get<kTuple>(vb);
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (&x == &y) return 0;
      for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i], &y[i], exact, 0});
      return 0;
    }
    case kMap: {
      // Size, then all keys (always exactly), then the values in key order.
      const auto& x = std::get<kMap>(va)->entries;
      const auto& y = std::get<kMap>(vb)->entries;
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (&x == &y) return 0;
      for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i].second, &y[i].second, exact, 0});
      for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i].first, &y[i].first, true, 0});
      return 0;
    }
    case kNil: return 0;
    case kList: {
      const auto& x = *std::get<kList>(va);
      const auto& y = *std::get<kList>(vb);
      if (&x == &y) return 0;
      const std::size_t nx = x.elements.size(), ny = y.elements.size();
      if (nx == ny) {
        todo.push_back({&x.tail, &y.tail, exact, 0});
      } else if (nx < ny) {
        // x ran out of cells: its tail (never a list) faces a cons cell of y.
        todo.push_back({nullptr, nullptr, exact, type_rank(x.tail.type()) < type_rank(Term::Type::List) ? -1 : 1});
      } else {
        todo.push_back({nullptr, nullptr, exact, type_rank(y.tail.type()) < type_rank(Term::Type::List) ? 1 : -1});
      }
      for (std::size_t i = std::min(nx, ny); i-- > 0;) todo.push_back({&x.elements[i], &y.elements[i], exact, 0});
      return 0;
    }
    case kBits: return cmp_bits(*std::get<kBits>(va), *std::get<kBits>(vb));
    default: return 0;
  }
}

int compare(const Term& a, const Term& b, bool exact) noexcept {
  CmpStack todo;
  int c = compare_node(a, b, exact, todo);
  while (c == 0 && !todo.empty()) {
    CmpItem it = todo.back();
    todo.pop_back();
    c = it.a ? compare_node(*it.a, *it.b, it.exact, todo) : it.fixed;
  }
  return c;
}

// Equality of the top level; pushes children pairs that must also be equal.
struct EqItem {
  const Term* a;
  const Term* b;
};
using EqStack = SmallStack<EqItem>;

bool equal_node(const Term& a, const Term& b, EqStack& todo) {
  const auto& va = TermAccess::v(a);
  const auto& vb = TermAccess::v(b);
  if (va.index() != vb.index()) return false;
  switch (va.index()) {
    case kInt: return std::get<kInt>(va) == std::get<kInt>(vb);
    case kBig: return *std::get<kBig>(va) == *std::get<kBig>(vb);
    case kFloat: return cmp_double(std::get<kFloat>(va), std::get<kFloat>(vb)) == 0;
    case kAtom: return std::get<kAtom>(va) == std::get<kAtom>(vb);
    case kRef: return cmp_ref(*std::get<kRef>(va), *std::get<kRef>(vb)) == 0;
    case kFun: return *std::get<kFun>(va) == *std::get<kFun>(vb);
    case kPort: return std::get<kPort>(va) == std::get<kPort>(vb);
    case kPid: return std::get<kPid>(va) == std::get<kPid>(vb);
    case kTuple: {
      const auto& x = std::get<kTuple>(va);
      const auto& y = std::get<kTuple>(vb);
      if (x == y) return true;
      if (x->size() != y->size()) return false;
      for (std::size_t i = 0; i < x->size(); ++i) todo.emplace_back(&(*x)[i], &(*y)[i]);
      return true;
    }
    case kMap: {
      const auto& x = std::get<kMap>(va);
      const auto& y = std::get<kMap>(vb);
      if (x == y) return true;
      if (x->entries.size() != y->entries.size()) return false;
      for (std::size_t i = 0; i < x->entries.size(); ++i) {
        todo.emplace_back(&x->entries[i].first, &y->entries[i].first);
        todo.emplace_back(&x->entries[i].second, &y->entries[i].second);
      }
      return true;
    }
    case kNil: return true;
    case kList: {
      const auto& x = std::get<kList>(va);
      const auto& y = std::get<kList>(vb);
      if (x == y) return true;
      if (x->elements.size() != y->elements.size()) return false;
      for (std::size_t i = 0; i < x->elements.size(); ++i) todo.emplace_back(&x->elements[i], &y->elements[i]);
      todo.emplace_back(&x->tail, &y->tail);
      return true;
    }
    case kBits: {
      const auto& x = std::get<kBits>(va);
      const auto& y = std::get<kBits>(vb);
      return x == y || *x == *y;
    }
    default: return false;
  }
}

bool equal(const Term& a, const Term& b) noexcept {
  EqStack todo;
  if (!equal_node(a, b, todo)) return false;
  while (!todo.empty()) {
    EqItem it = todo.back();
    todo.pop_back();
    if (!equal_node(*it.a, *it.b, todo)) return false;
  }
  return true;
}

// ---- hashing ----
inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
inline std::uint64_t fmix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}
std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n) {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), n));
}

std::uint64_t hash_leaf(const Term& t) noexcept {
  const auto& v = TermAccess::v(t);
  std::uint64_t h = fmix(v.index() + 1);
  switch (v.index()) {
    case kInt: return mix(h, fmix(static_cast<std::uint64_t>(std::get<kInt>(v))));
    case kBig: {
      const auto& b = *std::get<kBig>(v);
      return mix(mix(h, b.negative), hash_bytes(b.magnitude.data(), b.magnitude.size()));
    }
    case kFloat: {
      double d = std::get<kFloat>(v);
      if (d == 0.0) d = 0.0;  // -0.0 =:= 0.0
      return mix(h, fmix(std::bit_cast<std::uint64_t>(d)));
    }
    case kAtom: return mix(h, fmix(reinterpret_cast<std::uintptr_t>(std::get<kAtom>(v).id())));
    case kRef: {
      const auto& r = *std::get<kRef>(v);
      h = mix(h, reinterpret_cast<std::uintptr_t>(r.node.id()));
      h = mix(h, r.creation);
      for (std::size_t i = 0, n = ref_len(r); i < n; ++i) h = mix(h, r.ids[i]);
      return fmix(h);
    }
    case kFun: {
      const auto& f = *std::get<kFun>(v);
      return mix(h, hash_bytes(f.encoded.data(), f.encoded.size()));
    }
    case kPort: {
      const auto& p = std::get<kPort>(v);
      return fmix(mix(mix(mix(h, reinterpret_cast<std::uintptr_t>(p.node.id())), p.id), p.creation));
    }
    case kPid: {
      const auto& p = std::get<kPid>(v);
      h = mix(h, reinterpret_cast<std::uintptr_t>(p.node.id()));
      h = mix(h, (static_cast<std::uint64_t>(p.serial) << 32) | p.id);
      return fmix(mix(h, p.creation));
    }
    case kBits: {
      const auto& b = *std::get<kBits>(v);
      return mix(mix(h, b.bit_size), hash_bytes(b.bytes.data(), b.bytes.size()));
    }
    default: return h;
  }
}

// Preorder walk with an explicit stack: each compound contributes its type
// and size, each leaf its own hash, so structure and contents are covered
// without recursion.
std::uint64_t hash_term(const Term& root) noexcept {
  if (!is_compound(root)) return hash_leaf(root);
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  SmallStack<const Term*> todo;
  todo.push_back(&root);
  while (!todo.empty()) {
    const Term& t = *todo.back();
    todo.pop_back();
    const auto& v = TermAccess::v(t);
    switch (v.index()) {
      case kTuple: {
        const auto& els = *std::get<kTuple>(v);
        h = mix(h, fmix(kTuple + 1) ^ els.size());
        for (std::size_t i = els.size(); i-- > 0;) todo.push_back(&els[i]);
        break;
      }
      case kMap: {
        const auto& es = std::get<kMap>(v)->entries;
        h = mix(h, fmix(kMap + 1) ^ es.size());
        for (std::size_t i = es.size(); i-- > 0;) {
          todo.push_back(&es[i].second);
          todo.push_back(&es[i].first);
        }
        break;
      }
      case kList: {
        const auto& l = *std::get<kList>(v);
        h = mix(h, fmix(kList + 1) ^ l.elements.size());
        todo.push_back(&l.tail);
        for (std::size_t i = l.elements.size(); i-- > 0;) todo.push_back(&l.elements[i]);
        break;
      }
      default: h = mix(h, hash_leaf(t)); break;
    }
  }
  return fmix(h);
}

}  // namespace

bool operator==(const Term& a, const Term& b) noexcept { return equal(a, b); }

std::strong_ordering operator<=>(const Term& a, const Term& b) noexcept {
  int c = compare(a, b, true);
  return c < 0 ? std::strong_ordering::less : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

int erlang_compare(const Term& a, const Term& b) noexcept { return compare(a, b, false); }

std::size_t Term::hash() const noexcept { return static_cast<std::size_t>(hash_term(*this)); }

}  // namespace hc
