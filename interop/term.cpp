// The term model's values: construction and normalisation, compound nodes
// (allocated and destroyed without recursion), accessors. The orders and
// equality are term_compare.cpp, the hash term_hash.cpp, the atom table
// atom.cpp.
#include "interop/term.hpp"

#include <algorithm>
#include <new>

#include "interop/term_repr.hpp"

namespace hc {
using namespace term_detail;

namespace {
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

}  // namespace hc
