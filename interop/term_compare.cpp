// Exact equality and the two term orders of hc::Term.
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
#include <cmath>
#include <cstring>

#include "interop/term_repr.hpp"

namespace hc {
using namespace term_detail;

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------
namespace {

int sign_of(int c) { return (c > 0) - (c < 0); }
template <typename T>
int cmp3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

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

}  // namespace

bool operator==(const Term& a, const Term& b) noexcept { return equal(a, b); }

std::strong_ordering operator<=>(const Term& a, const Term& b) noexcept {
  int c = compare(a, b, true);
  return c < 0 ? std::strong_ordering::less : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

int erlang_compare(const Term& a, const Term& b) noexcept { return compare(a, b, false); }

}  // namespace hc
