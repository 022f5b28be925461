// A consistent-hash ring with exactly the semantics of libring 1.7's
// `HashRing` (bitwalker/libring lib/ring.ex), which Horde.UniformDistribution
// builds on every placement decision.
//
// libring semantics reproduced here:
// - Each node gets `weight` points (default 128): point I is
//   `erlang:phash2({Node, I}, 4294967295)` for I in 1..weight.
// - Points live in a gb_tree keyed by the point; inserting a point that is
//   already taken fails with key_exists and is skipped, so on a collision the
//   node added FIRST keeps the point (also a node's own repeated points).
// - Adding a node that is already in the ring is a no-op.
// - key_to_node(Key): H = phash2(Key, 4294967295) (atoms are first turned into
//   `term_to_binary(Atom)`), the owner is the node of the first point >= H,
//   wrapping to the smallest point when H is above every point.
// Horde adds the alive members in the order of `Map.keys/1` of a map keyed by
// member name; for up to 32 members that is term order (see
// uniform_distribution.hpp for the > 32 caveat).
//
// Thread safety: a value type; const member functions are safe to call
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "interop/term.hpp"

namespace hc::horde {

class HashRing {
 public:
  // libring's @hash_range: trunc(:math.pow(2, 32) - 1).
  static constexpr std::uint64_t kHashRange = 4'294'967'295ULL;
  static constexpr unsigned kDefaultWeight = 128;

  // HashRing.add_node/3. Ignored when `node` is already present.
  void add_node(const Term& node, unsigned weight = kDefaultWeight);
  // HashRing.add_nodes/2 (all with the default weight), in the given order.
  void add_nodes(std::span<const Term> nodes);

  // HashRing.key_to_node/2; nullptr when the ring has no nodes
  // (libring returns {error, {invalid_ring, no_nodes}}).
  const Term* key_to_node(const Term& key) const;
  // The lookup for an already hashed key (H in 0..2^32-2).
  const Term* node_for_hash(std::uint32_t hash) const;

  // Nodes, most recently added first (libring's `nodes` field order).
  std::vector<Term> nodes() const;
  std::size_t node_count() const noexcept { return nodes_.size(); }
  // (point, node) in point order.
  std::vector<std::pair<std::uint32_t, Term>> points() const;

  // How a key is hashed onto the ring (phash2 with range 2^32-1; atoms are
  // hashed as their term_to_binary/1 encoding, as libring does).
  static std::uint32_t hash_key(const Term& key);

 private:
  std::vector<Term> nodes_;                    // insertion order
  std::map<std::uint32_t, std::size_t> ring_;  // point -> index into nodes_
};

}  // namespace hc::horde
