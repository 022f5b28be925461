#include "crdt/merkle_map.hpp"

#include <algorithm>

#include "crdt/merkle_internal.hpp"
#include "interop/etf_view.hpp"
#include "interop/phash2.hpp"

namespace hc::crdt {

using merkle_detail::bit_of;
using merkle_detail::partial_atom;

std::uint32_t merkle_key_hash(const Term& key) { return phash2_full(key); }

Term hash_binary(std::uint32_t h) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
                             static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h)};
  return Term::binary(std::span<const std::uint8_t>(b, 4));
}

Term TreeLoc::to_term() const {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(bits >> 24), static_cast<std::uint8_t>(bits >> 16),
                             static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits)};
  return Term::bitstring(std::span<const std::uint8_t>(b, (len + 7u) / 8u), len);
}

std::optional<TreeLoc> TreeLoc::from_term(const Term& t) {
  const Bitstring* b = t.as_bitstring();
  if (!b || b->bit_size > 32) return std::nullopt;
  TreeLoc loc;
  loc.len = static_cast<std::uint8_t>(b->bit_size);
  for (std::size_t i = 0; i < b->bytes.size() && i < 4; ++i)
    loc.bits |= static_cast<std::uint32_t>(b->bytes[i]) << (24 - 8 * i);
  if (loc.len < 32) loc.bits &= ~(0xffffffffu >> loc.len);
  return loc;
}

bool is_round_start(const Term& cont) {
  const Term* trees = cont.map_get(std::string_view("trees"));
  const Term* keys = cont.map_get(std::string_view("keys"));
  if (!trees || !keys || !keys->is_nil()) return false;
  if (const Bitstring* b = encoded_part_bytes(*trees)) {
    const EtfView v(b->bytes);
    auto list = v.list(0);
    auto entry = list && list->count == 1 ? v.tuple(list->first) : std::nullopt;
    auto loc = entry && entry->count == 2 ? v.bitstring(entry->first) : std::nullopt;
    return loc && loc->bit_size == 0;
  }
  if (!trees->is_proper_list()) return false;
  auto t = trees->list_elements();
  if (t.size() != 1 || !t[0].is_tuple(2)) return false;
  const Bitstring* loc = t[0].tuple_elements()[0].as_bitstring();
  return loc && loc->bit_size == 0;
}

Term encoded_part(std::vector<std::uint8_t> bytes) {
  static const Atom tag("$hc_etf");
  Bitstring b;
  b.bit_size = bytes.size() * 8;
  b.bytes = std::move(bytes);
  return Term::tuple({Term(tag), Term(std::move(b))});
}

const Bitstring* encoded_part_bytes(const Term& t) {
  if (!t.is_record("$hc_etf", 2)) return nullptr;
  const Bitstring* b = t.tuple_elements()[1].as_bitstring();
  return b && b->bit_size == b->bytes.size() * 8 ? b : nullptr;
}

Term merkle_tree_struct(Term tree) {
  static const Atom mod = elixir_module("MerkleMap.MerkleTree");
  return make_struct(mod, {{Term(Atom("tree")), std::move(tree)}});
}

Term merkle_diff_struct(TermVector trees, TermVector keys) {
  static const Atom mod = elixir_module("MerkleMap.MerkleTree.Diff");
  return make_struct(mod, {{Term(Atom("trees")), Term::list(std::move(trees))},
                           {Term(Atom("keys")), Term::list(std::move(keys))}});
}

MerkleMap::MerkleMap() = default;

std::uint32_t MerkleMap::new_node(const Node& n) {
  if (!free_nodes_.empty()) {
    auto i = free_nodes_.back();
    free_nodes_.pop_back();
    nodes_[i] = n;
    return i;
  }
  nodes_.push_back(n);
  return static_cast<std::uint32_t>(nodes_.size() - 1);
}

void MerkleMap::free_node(std::uint32_t i) {
  Node& n = nodes_[i];
  if ((n.flags & kLeaf) && (n.flags & kMulti)) {
    multi_[n.b].clear();
    multi_[n.b].shrink_to_fit();
    free_multi_.push_back(n.b);
  }
  n = Node{};
  free_nodes_.push_back(i);
}

std::uint32_t MerkleMap::new_leaf(std::uint32_t key_hash, EntryId id) {
  return new_node(Node{0, key_hash, id, kLeaf});
}

void MerkleMap::clear() {
  pending_.clear();
  applied_ = 0;
  nodes_.clear();
  free_nodes_.clear();
  multi_.clear();
  free_multi_.clear();
  root_ = kNil;
}

void MerkleMap::put(std::uint32_t key_hash, EntryId id, std::optional<EntryId> replaces) {
  pending_.push_back({key_hash, id, replaces.value_or(0), static_cast<std::uint8_t>(replaces ? 1 : 0)});
}

void MerkleMap::remove(std::uint32_t key_hash, EntryId id) { pending_.push_back({key_hash, id, 0, 2}); }

bool MerkleMap::flush(std::size_t max_ops) {
  // The queue in order, a piece a call, each piece sorted by key hash (a
  // stable sort: the changes of one key keep their order, within a piece
  // and, pieces being taken in order, across them; changes of different
  // keys commute, the shape is canonical). Sorted pieces share their paths
  // through the trie; a single global sort of 1 000 000 changes was a
  // 100 ms turn.
  const std::size_t end = pending_.size() - applied_ <= max_ops ? pending_.size() : applied_ + max_ops;
  std::stable_sort(pending_.begin() + static_cast<std::ptrdiff_t>(applied_),
                   pending_.begin() + static_cast<std::ptrdiff_t>(end),
                   [](const PendingOp& a, const PendingOp& b) { return a.key_hash < b.key_hash; });
  for (; applied_ < end; ++applied_) {
    const PendingOp& op = pending_[applied_];
    if (op.kind == 2) {
      apply_remove(op.key_hash, op.id);
    } else {
      apply_put(op.key_hash, op.id, op.kind == 1 ? std::optional<EntryId>(op.replaces) : std::nullopt);
    }
  }
  if (applied_ < pending_.size()) return false;
  pending_.clear();
  applied_ = 0;
  if (pending_.capacity() > 4096) pending_.shrink_to_fit();
  return true;
}

void MerkleMap::apply_put(std::uint32_t key_hash, EntryId id, std::optional<EntryId> replaces) {
  std::uint32_t parent = kNil;
  int side = 0;
  auto link = [&](std::uint32_t child) {
    if (parent == kNil) {
      root_ = child;
    } else if (side == 0) {
      nodes_[parent].a = child;
    } else {
      nodes_[parent].b = child;
    }
  };
  std::uint32_t cur = root_;
  for (int depth = 0;; ) {
    if (cur == kNil) {
      link(new_leaf(key_hash, id));
      return;
    }
    Node& n = nodes_[cur];
    n.flags &= ~kValid;
    if (!(n.flags & kLeaf)) {
      int dir = bit_of(key_hash, depth);
      parent = cur;
      side = dir;
      cur = dir == 0 ? n.a : n.b;
      ++depth;
      continue;
    }
    if (n.a == key_hash) {  // same 32-bit hash: Map.merge into the leaf
      if (!(n.flags & kMulti)) {
        if (replaces && n.b == *replaces) {
          n.b = id;
          return;
        }
        std::uint32_t slot;
        if (!free_multi_.empty()) {
          slot = free_multi_.back();
          free_multi_.pop_back();
        } else {
          multi_.emplace_back();
          slot = static_cast<std::uint32_t>(multi_.size() - 1);
        }
        multi_[slot] = {n.b, id};
        n.b = slot;
        n.flags |= kMulti;
        return;
      }
      auto& ids = multi_[n.b];
      auto it = replaces ? std::find(ids.begin(), ids.end(), *replaces) : ids.end();
      if (it != ids.end()) {
        *it = id;
      } else {
        ids.push_back(id);
      }
      return;
    }
    // Another hash at this position: push the found leaf one level down on
    // its own side and continue into the new inner node (put_leaf/3).
    int odir = bit_of(n.a, depth);
    std::uint32_t inner = new_node(Node{0, odir == 0 ? cur : kNil, odir == 1 ? cur : kNil, 0});
    link(inner);
    cur = inner;
  }
}

void MerkleMap::apply_remove(std::uint32_t key_hash, EntryId id) {
  // Path of (node, side taken) from the root.
  std::uint32_t path[34];
  int sides[34];
  int depth = 0;
  std::uint32_t cur = root_;
  while (cur != kNil && !(nodes_[cur].flags & kLeaf)) {
    path[depth] = cur;
    sides[depth] = bit_of(key_hash, depth);
    cur = sides[depth] == 0 ? nodes_[cur].a : nodes_[cur].b;
    ++depth;
  }
  if (cur == kNil || nodes_[cur].a != key_hash) return;
  Node& leaf = nodes_[cur];
  std::uint32_t replacement = cur;
  if (leaf.flags & kMulti) {
    auto& ids = multi_[leaf.b];
    auto it = std::find(ids.begin(), ids.end(), id);
    if (it == ids.end()) return;
    ids.erase(it);
    if (ids.size() == 1) {
      EntryId only = ids.front();
      ids.clear();
      free_multi_.push_back(leaf.b);
      leaf.b = only;
      leaf.flags &= ~kMulti;
    }
    leaf.flags &= ~kValid;
  } else {
    if (leaf.b != id) return;
    free_node(cur);
    replacement = kNil;
  }
  // Walk back up: relink, invalidate and collapse inner nodes left with an
  // empty branch and a leaf, or two empty branches.
  for (int d = depth - 1; d >= 0; --d) {
    Node& p = nodes_[path[d]];
    if (sides[d] == 0) {
      p.a = replacement;
    } else {
      p.b = replacement;
    }
    p.flags &= ~kValid;
    const bool l_nil = p.a == kNil, r_nil = p.b == kNil;
    const bool l_leaf = !l_nil && (nodes_[p.a].flags & kLeaf);
    const bool r_leaf = !r_nil && (nodes_[p.b].flags & kLeaf);
    if (l_nil && r_nil) {
      free_node(path[d]);
      replacement = kNil;
    } else if (l_nil && r_leaf) {
      replacement = p.b;
      free_node(path[d]);
    } else if (r_nil && l_leaf) {
      replacement = p.a;
      free_node(path[d]);
    } else {
      replacement = path[d];
    }
  }
  root_ = replacement;
}

void MerkleMap::leaf_ids(const Node& leaf, std::vector<EntryId>& out) const {
  out.clear();
  if (leaf.flags & kMulti) {
    out = multi_[leaf.b];
  } else {
    out.push_back(leaf.b);
  }
}

Term MerkleMap::hash_term(std::uint32_t i) const {
  return i == kNil ? Term() : hash_binary(nodes_[i].hash);
}

std::uint32_t MerkleMap::compute_hash(std::uint32_t i, const MerkleContent& content) {
  Node& n = nodes_[i];
  if (n.flags & kValid) return n.hash;
  std::uint32_t h;
  if (n.flags & kLeaf) {
    // h(#{Key => Value, ...}) from the pairs: every key of a leaf has the
    // leaf's 32-bit hash n.a = phash2_full(Key), so a pair hashes as the
    // value continued from n.a, and neither the keys nor the map are built.
    std::uint32_t pairs_xor = 0;
    std::size_t count = 1;
    if (n.flags & kMulti) {
      const auto& ids = multi_[n.b];
      count = ids.size();
      for (EntryId id : ids) pairs_xor ^= phash2_continue(n.a, content.merkle_value(id));
    } else {
      pairs_xor = phash2_continue(n.a, content.merkle_value(n.b));
    }
    h = phash2_map_of_pairs(count, pairs_xor);
  } else {
    std::uint32_t l = n.a, r = n.b;
    if (l != kNil) compute_hash(l, content);
    if (r != kNil) compute_hash(r, content);
    h = phash2_full(Term::tuple({hash_term(l), hash_term(r)}));
  }
  Node& m = nodes_[i];
  m.hash = h;
  m.flags |= kValid;
  return h;
}

void MerkleMap::update_hashes(const MerkleContent& content) {
  flush(SIZE_MAX);
  if (root_ != kNil) compute_hash(root_, content);
}

bool MerkleMap::compute_hash_within(std::uint32_t i, const MerkleContent& content, std::size_t& budget) {
  const Node& n = nodes_[i];
  if (n.flags & kValid) return true;
  if (!(n.flags & kLeaf)) {
    const std::uint32_t l = n.a, r = n.b;
    if (l != kNil && !compute_hash_within(l, content, budget)) return false;
    if (r != kNil && !compute_hash_within(r, content, budget)) return false;
  }
  if (budget == 0) return false;
  --budget;
  compute_hash(i, content);  // its children are valid: this node only
  return true;
}

bool MerkleMap::update_hashes(const MerkleContent& content, std::size_t max_nodes) {
  if (!flush(std::max(max_nodes, kMinFlushedOps))) return false;
  return root_ == kNil || compute_hash_within(root_, content, max_nodes);
}

bool MerkleMap::hashes_valid() const noexcept {
  return pending_.empty() && (root_ == kNil || (nodes_[root_].flags & kValid));
}

bool MerkleMap::empty() const noexcept { return root_ == kNil; }

std::optional<std::uint32_t> MerkleMap::root_hash() const noexcept {
  if (root_ == kNil) return std::nullopt;
  return nodes_[root_].hash;
}

std::size_t MerkleMap::memory_bytes() const noexcept {
  std::size_t m = nodes_.capacity() * sizeof(Node) + free_nodes_.capacity() * 4 + pending_.capacity() * sizeof(PendingOp) +
                  multi_.capacity() * sizeof(std::vector<EntryId>);
  for (const auto& v : multi_) m += v.capacity() * sizeof(EntryId);
  return m;
}

int MerkleMap::max_depth() const {
  int best = 0;
  std::vector<std::pair<std::uint32_t, int>> stack;
  if (root_ != kNil) stack.emplace_back(root_, 0);
  while (!stack.empty()) {
    auto [i, d] = stack.back();
    stack.pop_back();
    best = std::max(best, d);
    const Node& n = nodes_[i];
    if (n.flags & kLeaf) continue;
    if (n.a != kNil) stack.emplace_back(n.a, d + 1);
    if (n.b != kNil) stack.emplace_back(n.b, d + 1);
  }
  return best;
}

Term MerkleMap::leaf_term(const Node& leaf, const MerkleContent& content) const {
  std::vector<EntryId> ids;
  leaf_ids(leaf, ids);
  TermPairs pairs;
  pairs.reserve(ids.size());
  for (EntryId id : ids) pairs.emplace_back(content.merkle_key(id), content.merkle_value(id));
  return Term::tuple({hash_binary(leaf.hash), Term::tuple({hash_binary(leaf.a), Term::map(std::move(pairs))})});
}

Term MerkleMap::node_term(std::uint32_t i, TreeLoc loc, int depth, const MerkleContent& content) const {
  if (i == kNil) return Term();
  const Node& n = nodes_[i];
  if (n.flags & kLeaf) return leaf_term(n, content);
  if (depth <= 0) return Term::tuple({Term(partial_atom()), loc.to_term()});
  return Term::tuple({hash_binary(n.hash), node_term(n.a, loc.child(0), depth - 1, content),
                      node_term(n.b, loc.child(1), depth - 1, content)});
}

std::uint32_t MerkleMap::node_at(TreeLoc loc) const {
  std::uint32_t cur = root_;
  for (int k = 0; k < loc.len && cur != kNil && !(nodes_[cur].flags & kLeaf); ++k)
    cur = bit_of(loc.bits, k) == 0 ? nodes_[cur].a : nodes_[cur].b;
  return cur;
}

Term MerkleMap::subtree(TreeLoc loc, int depth, const MerkleContent& content) const {
  return node_term(node_at(loc), loc, depth, content);
}

Term MerkleMap::tree_term(const MerkleContent& content) const { return subtree(TreeLoc{}, 64, content); }

Term MerkleMap::prepare_partial_diff(int depth, const MerkleContent& content) const {
  TermVector trees;
  trees.push_back(Term::tuple({TreeLoc{}.to_term(), merkle_tree_struct(subtree(TreeLoc{}, depth, content))}));
  return merkle_diff_struct(std::move(trees), {});
}

}  // namespace hc::crdt
