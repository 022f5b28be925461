// MerkleMap's partial diffs: comparing our trie with a received subtree
// (MerkleTreeImpl.diff_keys) and continue_partial_diff / truncate_diff of
// MerkleMap.MerkleTree (see merkle_map.hpp for the continuation format).
#include <algorithm>

#include "crdt/merkle_internal.hpp"
#include "crdt/merkle_map.hpp"

namespace hc::crdt {
namespace {

using merkle_detail::bit_of;
using merkle_detail::partial_atom;

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
  std::size_t visited = 0;  // nodes compared or listed (PartialDiffWalk's budget)

  static Side remote(const Term& t) { return Side{&t, MerkleMap::kNil, {}, 0}; }
  Side local_subtree(TreeLoc loc, int depth) const { return Side{nullptr, m_.node_at(loc), loc, depth}; }

  bool diff(const Side& s1, const Side& s2, std::size_t levels) {
    ++visited;
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
      visited += 16;  // two contents maps built and compared
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
    for (EntryId id : ids)
      if (content_.merkle_has(id)) pairs.emplace_back(content_.merkle_key(id), content_.merkle_value(id));
    return Term::map(std::move(pairs));
  }

  bool raw_keys(const Side& s) {
    ++visited;
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
          if (content_.merkle_has(n.b)) out.push_back(content_.merkle_key(n.b));
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

PartialDiffWalk::PartialDiffWalk(const MerkleMap& map, const MerkleContent& content, Term continuation, int depth)
    : walker_(std::make_unique<LocalDiffWalker>(map, content)) {
  result_.depth = depth;
  static const Atom diff_mod = elixir_module("MerkleMap.MerkleTree.Diff");
  if (!is_struct(continuation, diff_mod)) {
    fail("continuation is not a %MerkleMap.MerkleTree.Diff{}");
    return;
  }
  const Term* trees = struct_field(continuation, "trees");
  const Term* keys = struct_field(continuation, "keys");
  if (!trees || !keys || !trees->is_proper_list() || !keys->is_proper_list()) {
    fail("continuation trees/keys are not lists");
    return;
  }
  trees_.assign(trees->list_elements().begin(), trees->list_elements().end());
  result_.keys.assign(keys->list_elements().begin(), keys->list_elements().end());
}

PartialDiffWalk::~PartialDiffWalk() = default;
PartialDiffWalk::PartialDiffWalk(PartialDiffWalk&&) noexcept = default;

bool PartialDiffWalk::fail(std::string why) {
  error_ = std::move(why);
  done_ = true;
  trees_ = {};
  return true;
}

bool PartialDiffWalk::step(std::size_t budget) {
  if (done_) return true;
  static const Atom tree_mod = elixir_module("MerkleMap.MerkleTree");
  LocalDiffWalker& walker = *walker_;
  const int depth = result_.depth;
  walker.visited = 0;
  while (next_ < trees_.size() && collected_ == 0) {
    const Term item = std::move(trees_[next_++]);  // freed (if ours alone) after this tree
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
    found_.insert(found_.end(), walker.out.rbegin(), walker.out.rend());
    if (walker.visited >= budget && next_ < trees_.size()) return false;
  }
  trees_ = {};
  // What was found, sorted into keys and trees: 8 items per node of budget.
  result_.keys.reserve(result_.keys.size() + found_.size() - collected_);
  const std::size_t most = std::max<std::size_t>(1, budget / 8);
  const std::size_t end = found_.size() - collected_ <= most ? found_.size() : collected_ + most;
  for (; collected_ < end; ++collected_) {
    Term& t = found_[collected_];
    if (is_partial(t)) {
      auto loc = TreeLoc::from_term(t.tuple_elements()[1]);
      if (!loc) return fail("partial location is not a bitstring of at most 32 bits");
      result_.trees.push_back(*loc);
    } else {
      result_.keys.push_back(std::move(t));
    }
  }
  if (collected_ < found_.size()) return false;
  found_ = {};
  result_.done = result_.trees.empty();
  done_ = true;
  return true;
}

std::optional<PartialDiffStep> MerkleMap::continue_partial_diff(const Term& cont, int depth,
                                                               const MerkleContent& content,
                                                               std::string* error) const {
  PartialDiffWalk walk(*this, content, cont, depth);
  walk.step(SIZE_MAX);
  if (walk.failed()) {
    if (error) *error = walk.error();
    return std::nullopt;
  }
  return walk.take();
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
