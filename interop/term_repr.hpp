// The term layer's view of hc::Term's representation, shared by the files
// that implement Term (term.cpp: values; term_compare.cpp: order and
// equality; term_hash.cpp: hashing; atom.cpp: the atom table). Internal to
// interop/: not part of the public API. Any thread; O(1) helpers.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "interop/term.hpp"

namespace hc {

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

namespace term_detail {

// The alternatives of Term::Value, by index.
inline constexpr std::size_t kInt = 0, kBig = 1, kFloat = 2, kAtom = 3, kRef = 4, kFun = 5, kPort = 6,
                             kPid = 7, kTuple = 8, kMap = 9, kNil = 10, kList = 11, kBits = 12;

inline bool is_compound(const Term& t) noexcept {
  auto ty = t.type();
  return ty == Term::Type::Tuple || ty == Term::Type::List || ty == Term::Type::Map;
}

// Effective ID words: trailing (high) zero words do not count.
inline std::size_t ref_len(const Reference& r) {
  std::size_t n = r.ids.size();
  while (n > 1 && r.ids[n - 1] == 0) --n;
  return n;
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

// Look an atom up without creating it (used by map_get(string_view)); atom.cpp.
std::optional<Atom> existing_atom(std::string_view text);

}  // namespace term_detail
}  // namespace hc
