#include "crdt/dot_context.hpp"

#include <algorithm>

namespace hc::crdt {

std::optional<Dot> dot_from_term(const Term& t) {
  if (!t.is_tuple(2)) return std::nullopt;
  auto n = t.tuple_elements()[0].as_int();
  auto c = t.tuple_elements()[1].as_int();
  if (!n || !c) return std::nullopt;
  return Dot{*n, *c};
}

std::int64_t DotContext::max(std::int64_t node) const noexcept {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                             [](const auto& e, std::int64_t n) { return e.first < n; });
  return (it != entries_.end() && it->first == node) ? it->second : 0;
}

void DotContext::add(const Dot& d) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), d.node,
                             [](const auto& e, std::int64_t n) { return e.first < n; });
  if (it != entries_.end() && it->first == d.node) {
    it->second = std::max(it->second, d.counter);
  } else {
    entries_.insert(it, {d.node, d.counter});
  }
}

void DotContext::merge(const DotContext& other) {
  if (other.entries_.empty()) return;
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  out.reserve(entries_.size() + other.entries_.size());
  auto a = entries_.begin();
  auto b = other.entries_.begin();
  while (a != entries_.end() || b != other.entries_.end()) {
    if (b == other.entries_.end() || (a != entries_.end() && a->first < b->first)) {
      out.push_back(*a++);
    } else if (a == entries_.end() || b->first < a->first) {
      out.push_back(*b++);
    } else {
      out.emplace_back(a->first, std::max(a->second, b->second));
      ++a;
      ++b;
    }
  }
  entries_ = std::move(out);
}

Term DotContext::to_term() const {
  TermPairs pairs;
  pairs.reserve(entries_.size());
  for (const auto& [n, c] : entries_) pairs.emplace_back(Term(n), Term(c));
  return Term::map(std::move(pairs));
}

std::optional<DotContext> DotContext::from_term(const Term& t, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<DotContext> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (!t.is_map()) return fail("dots is not a map");
  if (struct_name(t)) return fail("dots is a struct (only the compressed #{Node => Max} form is accepted)");
  DotContext ctx;
  ctx.entries_.reserve(t.map_size());
  for (const auto& [k, v] : t.map_entries()) {
    auto n = k.as_int();
    auto c = v.as_int();
    if (!n || !c) return fail("dots entry is not int64 => int64");
    ctx.entries_.emplace_back(*n, *c);  // map order of integers is numeric order
  }
  return ctx;
}

}  // namespace hc::crdt
