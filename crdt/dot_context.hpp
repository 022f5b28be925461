// Dots and the compressed causal context of DeltaCrdt.AWLWWMap (delta_crdt
// 0.6.4, lib/delta_crdt/aw_lww_map.ex, module Dots).
//
// A dot `{NodeId, Counter}` names one write. A replica's context is
// *compressed*: `#{NodeId => MaxCounter}` (a version vector), and a dot
// `{N, C}` is "in" it when `Ctx[N] >= C` (Dots.member?/2). Joining two
// contexts takes the per-node maximum (Dots.union/2). Compression forgets
// gaps, exactly as DeltaCrdt does: a replica that has seen {A, 7} but not
// {A, 6} treats both as seen.
//
// Node ids are random integers in 1..1 000 000 000 on the BEAM; any int64 is
// accepted from the wire, anything else (bignums, floats) is rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "interop/term.hpp"

namespace hc::crdt {

struct Dot {
  std::int64_t node = 0;
  std::int64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
  // `{Node, Counter}`
  Term to_term() const { return tuple(node, counter); }
};

// Decodes `{Node, Counter}` with two int64s.
std::optional<Dot> dot_from_term(const Term& t);

class DotContext {
 public:
  DotContext() = default;

  // Ctx[node], 0 when absent (Map.get(dots, i, 0)).
  std::int64_t max(std::int64_t node) const noexcept;
  bool contains(const Dot& d) const noexcept { return max(d.node) >= d.counter; }
  // The next dot for `node`: {node, Ctx[node] + 1} (Dots.next_dot/2).
  Dot next_dot(std::int64_t node) const noexcept { return {node, max(node) + 1}; }
  // Ctx[node] = max(Ctx[node], counter).
  void add(const Dot& d);
  // Per-node maximum with `other`.
  void merge(const DotContext& other);

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  const std::vector<std::pair<std::int64_t, std::int64_t>>& entries() const noexcept { return entries_; }

  // `#{NodeId => MaxCounter}`.
  Term to_term() const;
  // Accepts the compressed map form only; error text on any other shape.
  static std::optional<DotContext> from_term(const Term& t, std::string* error = nullptr);

  bool operator==(const DotContext&) const = default;

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> entries_;  // sorted by node
};

}  // namespace hc::crdt
