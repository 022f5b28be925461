#include "crdt/merkle_map.hpp"

#include <algorithm>

#include "interop/phash2.hpp"

namespace hc::crdt {
namespace {

int bit_of(std::uint32_t h, int depth) { return static_cast<int>((h >> (31 - depth)) & 1u); }

const Atom& partial_atom() {
  static const Atom a("partial");
  return a;
}

bool is_partial(const Term& t) { return t.is_record("partial", 2); }

// Bit `index` (MSB first) of a bitstring, nullopt when too short.
std::optional<int> bitstring_bit(const Term& t, std::size_t index) {
  const Bitstring* b = t.as_bitstring();
  if (!b || index >= b->bit_size) return std::nullopt;
  return (b->bytes[index / 8] >> (7 - index % 8)) & 1;
}

const Term* struct_field(const Term& t, const char* name) { return t.map_get(std::string_view(name)); }

}  // namespace

// A literal port of MerkleTreeImpl.do_diff_keys/3 between our own tree and a
// received subtree term, walking our nodes in place (the same traversal as
// over the term `subtree(loc, depth)`, without building it). `out` receives
// the items in the order of List.flatten of the BEAM's nested result, where
// every leaf segment has already been reversed by add_tuple_wrappers; the
// caller reverses the whole list (remove_tuple_wrappers). Hashes
// come from the node cache; a leaf's contents are built only when two leaves
// with different hashes meet, and keys only for what is reported. (The
// profile of a 100 000-name absorb had building, comparing and freeing the
// local subtree terms at ~40 % of the node's CPU.)
class LocalDiffWalker {
 public:
  LocalDiffWalker(const MerkleMap& map, const MerkleContent& content) : m_(map), content_(content) {}

  // One side of a comparison: a remote term, or a local node with the
  // location and the levels left before subtree() would cut it to {partial, Loc}.
  struct Side {
    const Term* remote = nullptr;
    std::uint32_t node = MerkleMap::kNil;
    TreeLoc loc;
    int depth = 0;
  };
  enum class Kind { nil, inner, leaf, partial, bad };

  std::vector<Term> out;
  std::string error;

  static Side remote(const Term& t) { return Side{&t, MerkleMap::kNil, {}, 0}; }
  Side local_subtree(TreeLoc loc, int depth) const {
    std::uint32_t cur = m_.root_;
    for (int k = 0; k < loc.len && cur != MerkleMap::kNil && !(m_.nodes_[cur].flags & MerkleMap::kLeaf); ++k)
      cur = bit_of(loc.bits, k) == 0 ? m_.nodes_[cur].a : m_.nodes_[cur].b;
    return Side{nullptr, cur, loc, depth};
  }

  bool diff(const Side& s1, const Side& s2, std::size_t levels) {
    if (levels > 64) return fail("tree deeper than 64 levels");
    const Kind k1 = kind(s1), k2 = kind(s2);
    if (k1 == Kind::nil) return raw_keys(s2);
    if (k2 == Kind::nil) return raw_keys(s1);
    if (k1 == Kind::inner && k2 == Kind::inner) {
      if (same_hash(s1, s2)) return true;
      return diff(child(s1, 0), child(s2, 0), levels + 1) && diff(child(s1, 1), child(s2, 1), levels + 1);
    }
    if (k2 == Kind::partial) {
      out.push_back(partial_term(s2));
      return true;
    }
    if (k1 == Kind::partial) {
      out.push_back(partial_term(s1));
      return true;
    }
    if (k1 == Kind::leaf && k2 == Kind::leaf) {
      if (same_hash(s1, s2)) return true;
      Term l1 = contents(s1), l2 = contents(s2);
      if (!l1.is_map() || !l2.is_map()) return fail(error.empty() ? "leaf contents is not a map" : error.c_str());
      static const Term nil_atom(Atom("nil"));
      std::vector<Term> seg;
      for (const auto& [k, v1] : l1.map_entries()) {
        const Term* v2 = l2.map_get(k);
        if (erlang_compare(v1, v2 ? *v2 : nil_atom) != 0) seg.push_back(k);
      }
      out.insert(out.end(), seg.rbegin(), seg.rend());
      seg.clear();
      for (const auto& [k, v2] : l2.map_entries()) {
        (void)v2;
        if (!l1.map_get(k)) seg.push_back(k);
      }
      out.insert(out.end(), seg.rbegin(), seg.rend());
      return true;
    }
    if (k1 == Kind::inner && k2 == Kind::leaf) return leaf_vs_inner(s2, s1, levels);
    if (k1 == Kind::leaf && k2 == Kind::inner) return leaf_vs_inner(s1, s2, levels);
    return fail("unexpected tree node shape");
  }

 private:
  bool fail(const char* why) {
    if (error.empty()) error = why;
    return false;
  }

  Kind kind(const Side& s) const {
    if (s.remote) {
      const Term& t = *s.remote;
      if (t.is_nil()) return Kind::nil;
      if (t.is_tuple(3)) return Kind::inner;
      if (is_partial(t)) return Kind::partial;
      if (t.is_tuple(2)) return Kind::leaf;
      return Kind::bad;
    }
    if (s.node == MerkleMap::kNil) return Kind::nil;
    if (m_.nodes_[s.node].flags & MerkleMap::kLeaf) return Kind::leaf;
    return s.depth <= 0 ? Kind::partial : Kind::inner;
  }

  Side child(const Side& s, int dir) const {
    if (s.remote) return remote(s.remote->tuple_elements()[1 + dir]);
    const auto& n = m_.nodes_[s.node];
    return Side{nullptr, dir == 0 ? n.a : n.b, s.loc.child(dir), s.depth - 1};
  }

  // Term equality of the two hash fields, with ours as <<H:32>>.
  bool same_hash(const Side& a, const Side& b) const {
    if (a.remote && b.remote) return a.remote->tuple_elements()[0] == b.remote->tuple_elements()[0];
    if (!a.remote && !b.remote) return m_.nodes_[a.node].hash == m_.nodes_[b.node].hash;
    const Side& r = a.remote ? a : b;
    const Side& l = a.remote ? b : a;
    const Bitstring* h = r.remote->tuple_elements()[0].as_bitstring();
    if (!h || h->bit_size != 32) return false;
    const std::uint32_t v = static_cast<std::uint32_t>(h->bytes[0]) << 24 | static_cast<std::uint32_t>(h->bytes[1]) << 16 |
                            static_cast<std::uint32_t>(h->bytes[2]) << 8 | h->bytes[3];
    return v == m_.nodes_[l.node].hash;
  }

  Term partial_term(const Side& s) const {
    if (s.remote) return *s.remote;
    return Term::tuple({Term(partial_atom()), s.loc.to_term()});
  }

  // A leaf's Contents map (remote: as received; local: built from the records).
  Term contents(const Side& s) {
    if (s.remote) {
      const Term& body = s.remote->tuple_elements()[1];
      if (!body.is_tuple(2)) {
        fail("leaf is not {KeyHash, Contents}");
        return Term();
      }
      return body.tuple_elements()[1];
    }
    std::vector<EntryId> ids;
    m_.leaf_ids(m_.nodes_[s.node], ids);
    TermPairs pairs;
    pairs.reserve(ids.size());
    for (EntryId id : ids) pairs.emplace_back(content_.merkle_key(id), content_.merkle_value(id));
    return Term::map(std::move(pairs));
  }

  bool raw_keys(const Side& s) {
    switch (kind(s)) {
      case Kind::nil: return true;
      case Kind::inner: return raw_keys(child(s, 0)) && raw_keys(child(s, 1));
      case Kind::partial: out.push_back(partial_term(s)); return true;
      case Kind::leaf: {
        if (s.remote) {
          const Term& body = s.remote->tuple_elements()[1];
          if (!body.is_tuple(2)) return fail("unexpected tree node shape");
          const Term& c = body.tuple_elements()[1];
          if (!c.is_map()) return fail("leaf contents is not a map");
          auto e = c.map_entries();
          for (auto it = e.rbegin(); it != e.rend(); ++it) out.push_back(it->first);
          return true;
        }
        const auto& n = m_.nodes_[s.node];
        if (!(n.flags & MerkleMap::kMulti)) {  // one key: no map to build
          out.push_back(content_.merkle_key(n.b));
          return true;
        }
        Term c = contents(s);  // map key order, as the BEAM's map
        auto e = c.map_entries();
        for (auto it = e.rbegin(); it != e.rend(); ++it) out.push_back(it->first);
        return true;
      }
      case Kind::bad: break;
    }
    return fail("unexpected tree node shape");
  }

  bool leaf_vs_inner(const Side& leaf, const Side& inner, std::size_t levels) {
    std::optional<int> dir;
    if (leaf.remote) {
      const Term& body = leaf.remote->tuple_elements()[1];
      if (!body.is_tuple(2)) return fail("leaf is not {KeyHash, Contents}");
      dir = bitstring_bit(body.tuple_elements()[0], levels);
    } else if (levels < 32) {
      dir = bit_of(m_.nodes_[leaf.node].a, static_cast<int>(levels));
    }
    if (!dir) return fail("leaf key hash shorter than its depth");
    if (*dir == 0) return diff(child(inner, 0), leaf, levels + 1) && raw_keys(child(inner, 1));
    return raw_keys(child(inner, 0)) && diff(child(inner, 1), leaf, levels + 1);
  }

  const MerkleMap& m_;
  const MerkleContent& content_;
};

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
  if (!trees || !keys || !keys->is_nil() || !trees->is_proper_list()) return false;
  auto t = trees->list_elements();
  if (t.size() != 1 || !t[0].is_tuple(2)) return false;
  const Bitstring* loc = t[0].tuple_elements()[0].as_bitstring();
  return loc && loc->bit_size == 0;
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

void MerkleMap::flush() {
  if (pending_.empty()) return;
  // Changes of different keys commute (the shape is canonical); a stable
  // sort keeps the order of the changes of one key.
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const PendingOp& a, const PendingOp& b) { return a.key_hash < b.key_hash; });
  for (const PendingOp& op : pending_) {
    if (op.kind == 2) {
      apply_remove(op.key_hash, op.id);
    } else {
      apply_put(op.key_hash, op.id, op.kind == 1 ? std::optional<EntryId>(op.replaces) : std::nullopt);
    }
  }
  pending_.clear();
  if (pending_.capacity() > 4096) pending_.shrink_to_fit();
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
  flush();
  if (root_ != kNil) compute_hash(root_, content);
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

Term MerkleMap::subtree(TreeLoc loc, int depth, const MerkleContent& content) const {
  std::uint32_t cur = root_;
  for (int k = 0; k < loc.len && cur != kNil && !(nodes_[cur].flags & kLeaf); ++k)
    cur = bit_of(loc.bits, k) == 0 ? nodes_[cur].a : nodes_[cur].b;
  return node_term(cur, loc, depth, content);
}

Term MerkleMap::tree_term(const MerkleContent& content) const { return subtree(TreeLoc{}, 64, content); }

Term MerkleMap::prepare_partial_diff(int depth, const MerkleContent& content) const {
  TermVector trees;
  trees.push_back(Term::tuple({TreeLoc{}.to_term(), merkle_tree_struct(subtree(TreeLoc{}, depth, content))}));
  return merkle_diff_struct(std::move(trees), {});
}

std::optional<PartialDiffStep> MerkleMap::continue_partial_diff(const Term& cont, int depth,
                                                               const MerkleContent& content,
                                                               std::string* error) const {
  auto fail = [&](std::string why) -> std::optional<PartialDiffStep> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  static const Atom diff_mod = elixir_module("MerkleMap.MerkleTree.Diff");
  static const Atom tree_mod = elixir_module("MerkleMap.MerkleTree");
  if (!is_struct(cont, diff_mod)) return fail("continuation is not a %MerkleMap.MerkleTree.Diff{}");
  const Term* trees = struct_field(cont, "trees");
  const Term* keys = struct_field(cont, "keys");
  if (!trees || !keys || !trees->is_proper_list() || !keys->is_proper_list())
    return fail("continuation trees/keys are not lists");

  LocalDiffWalker walker(*this, content);
  std::vector<Term> found;
  for (const Term& item : trees->list_elements()) {
    if (!item.is_tuple(2)) return fail("continuation tree entry is not {Loc, Tree}");
    const Term& loc_term = item.tuple_elements()[0];
    const Term& tree = item.tuple_elements()[1];
    auto loc = TreeLoc::from_term(loc_term);
    if (!loc) return fail("continuation location is not a bitstring of at most 32 bits");
    if (!is_struct(tree, tree_mod)) return fail("continuation tree is not a %MerkleMap.MerkleTree{}");
    const Term* remote = struct_field(tree, "tree");
    if (!remote) return fail("%MerkleMap.MerkleTree{} without tree");
    // assert_hashes_calculated/1 on the remote root.
    if ((remote->is_tuple(3) || remote->is_tuple(2)) && remote->tuple_elements()[0].is_nil())
      return fail("continuation tree without hashes");
    walker.out.clear();
    if (!walker.diff(walker.local_subtree(*loc, depth), LocalDiffWalker::remote(*remote), loc->len))
      return fail("malformed continuation tree: " + walker.error);
    found.insert(found.end(), walker.out.rbegin(), walker.out.rend());
  }

  PartialDiffStep step;
  TermVector new_keys(keys->list_elements().begin(), keys->list_elements().end());
  TermVector new_trees;
  for (Term& t : found) {
    if (is_partial(t)) {
      auto loc = TreeLoc::from_term(t.tuple_elements()[1]);
      if (!loc) return fail("partial location is not a bitstring of at most 32 bits");
      new_trees.push_back(Term::tuple({t.tuple_elements()[1], merkle_tree_struct(subtree(*loc, depth, content))}));
    } else {
      new_keys.push_back(std::move(t));
    }
  }
  if (new_trees.empty()) {
    step.done = true;
    step.keys = std::move(new_keys);
  } else {
    step.continuation = merkle_diff_struct(std::move(new_trees), std::move(new_keys));
  }
  return step;
}

Term MerkleMap::truncate_diff(const Term& diff, std::size_t amount) {
  const Term* trees = diff.map_get(std::string_view("trees"));
  const Term* keys = diff.map_get(std::string_view("keys"));
  if (!trees || !keys || !trees->is_proper_list() || !keys->is_proper_list()) return diff;
  auto k = keys->list_elements();
  auto t = trees->list_elements();
  std::size_t nk = std::min(amount, k.size());
  std::size_t nt = std::min(amount - nk, t.size());
  return merkle_diff_struct(TermVector(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(nt)),
                            TermVector(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(nk)));
}

}  // namespace hc::crdt
