// MerkleMap's partial diffs: comparing our trie with a received subtree
// (MerkleTreeImpl.diff_keys) and continue_partial_diff / truncate_diff of
// MerkleMap.MerkleTree (see merkle_map.hpp for the continuation format).
//
// The received trees are read in place, as external format (EtfView): a
// large continuation arrives with its `trees` still encoded (see
// sync_decode.hpp), and one that arrived as Terms is encoded once. Of a
// received tree, a walk reads the hashes it compares, decodes only the
// leaves it has to open and the {partial, Loc} it reports, and skips the
// rest.
#include <algorithm>

#include "crdt/merkle_internal.hpp"
#include "crdt/merkle_map.hpp"
#include "interop/codec.hpp"
#include "interop/etf_view.hpp"

namespace hc::crdt {
namespace {

using merkle_detail::bit_of;
using merkle_detail::partial_atom;

constexpr std::uint8_t kNilExt = 106;  // NIL_EXT: []

bool is_partial(const Term& t) { return t.is_record("partial", 2); }

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

// A literal port of MerkleTreeImpl.do_diff_keys/3 between our own tree and a
// received subtree, walking our nodes in place (the same traversal as over
// the term `subtree(loc, depth)`, without building it) and the received one
// in its encoded bytes. `out` receives the items in the order of
// List.flatten of the BEAM's nested result, where every leaf segment has
// already been reversed by add_tuple_wrappers; the caller reverses the
// whole list (remove_tuple_wrappers). Our hashes come from the node cache;
// a leaf's contents are built (ours) or decoded (theirs) only when two
// leaves with different hashes meet, and keys only for what is reported.
// (The profile of a 100 000-name absorb had building, comparing and freeing
// the local subtree terms at ~40 % of the node's CPU, and decoding the
// received ones at 18 %.)
//
// Every comparison has exactly one received side. The received tree is
// read front to back: after diff() or raw_keys() of a pair or side that
// includes it, `end` is where that received term ends, which is where its
// next sibling starts.
class LocalDiffWalker {
 public:
  LocalDiffWalker(const MerkleMap& map, const MerkleContent& content) : m_(map), content_(content) {}

  // One side of a comparison: a received term at `pos` of the view, or a
  // local node with the location and the levels left before subtree()
  // would cut it to {partial, Loc}.
  struct Side {
    bool remote = false;
    std::size_t pos = 0;
    std::uint32_t node = MerkleMap::kNil;
    TreeLoc loc;
    int depth = 0;
  };
  enum class Kind { nil, inner, leaf, partial, bad };

  std::vector<Term> out;
  std::string error;
  std::size_t visited = 0;  // nodes compared or listed (PartialDiffWalk's budget)
  std::size_t end = 0;

  void set_view(const EtfView* v) { v_ = v; }
  static Side remote(std::size_t pos) { return Side{true, pos, MerkleMap::kNil, {}, 0}; }
  Side local_subtree(TreeLoc loc, int depth) const { return Side{false, 0, m_.node_at(loc), loc, depth}; }

  bool diff(const Side& s1, const Side& s2, std::size_t levels) {
    ++visited;
    if (levels > 64) return fail("tree deeper than 64 levels");
    const Side& r = s1.remote ? s1 : s2;
    const Kind k1 = kind(s1), k2 = kind(s2);
    if (k1 == Kind::nil) return raw_keys(s2, levels) && (s2.remote || consume(s1));
    if (k2 == Kind::nil) return raw_keys(s1, levels) && (s1.remote || consume(s2));
    if (k1 == Kind::inner && k2 == Kind::inner) {
      if (same_hash(s1, s2)) return consume(r);
      if (!diff(child0(s1), child0(s2), levels + 1)) return false;
      return diff(child1(s1), child1(s2), levels + 1);  // `end` is where both second children start
    }
    if (k2 == Kind::partial) return push_partial(s2) && (s2.remote || consume(s1));
    if (k1 == Kind::partial) return push_partial(s1) && (s1.remote || consume(s2));
    if (k1 == Kind::leaf && k2 == Kind::leaf) {
      if (same_hash(s1, s2)) return consume(r);
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
      return consume(r);
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

  // `end` := past the received term at `s`.
  bool consume(const Side& s) {
    auto e = v_->skip(s.pos);
    if (!e) return fail("malformed term in a received tree");
    end = *e;
    return true;
  }

  Kind kind(const Side& s) const {
    if (s.remote) {
      auto tag = v_->tag(s.pos);
      if (!tag) return Kind::bad;
      if (*tag == kNilExt) return Kind::nil;
      if (auto l = v_->list(s.pos))  // [] written as a LIST_EXT of no elements and a [] tail is [] too
        return l->count == 0 && v_->tag(l->first) == kNilExt ? Kind::nil : Kind::bad;
      auto t = v_->tuple(s.pos);
      if (!t) return Kind::bad;
      if (t->count == 3) return Kind::inner;
      if (t->count == 2) return v_->is_atom(t->first, "partial") ? Kind::partial : Kind::leaf;
      return Kind::bad;
    }
    if (s.node == MerkleMap::kNil) return Kind::nil;
    if (m_.nodes_[s.node].flags & MerkleMap::kLeaf) return Kind::leaf;
    return s.depth <= 0 ? Kind::partial : Kind::inner;
  }

  // The first child of an inner node; for a received one, the term after
  // its hash (a bad position when the hash is malformed: kind() says bad).
  Side child0(const Side& s) const {
    if (s.remote) {
      auto t = v_->tuple(s.pos);
      auto after_hash = t ? v_->skip(t->first) : Result<std::size_t>(TermError::truncated);
      return remote(after_hash ? *after_hash : SIZE_MAX);
    }
    const auto& n = m_.nodes_[s.node];
    return Side{false, 0, n.a, s.loc.child(0), s.depth - 1};
  }
  // The second child; a received one starts where the first ended (`end`).
  Side child1(const Side& s) const {
    if (s.remote) return remote(end);
    const auto& n = m_.nodes_[s.node];
    return Side{false, 0, n.b, s.loc.child(1), s.depth - 1};
  }

  // Term equality of the two hash fields, with ours as <<H:32>>.
  bool same_hash(const Side& a, const Side& b) const {
    if (!a.remote && !b.remote) return m_.nodes_[a.node].hash == m_.nodes_[b.node].hash;
    const Side& r = a.remote ? a : b;
    const Side& l = a.remote ? b : a;
    auto t = v_->tuple(r.pos);
    auto h = t ? v_->bitstring(t->first) : std::nullopt;
    if (!h || h->bit_size != 32) return false;
    return be32(h->data.data()) == m_.nodes_[l.node].hash;
  }

  bool push_partial(const Side& s) {
    if (!s.remote) {
      out.push_back(Term::tuple({Term(partial_atom()), s.loc.to_term()}));
      return true;
    }
    auto t = v_->decode(s.pos, end);
    if (!t) return fail("malformed {partial, Loc} in a received tree");
    out.push_back(std::move(*t));
    return true;
  }

  // Where a received leaf {Hash, {KeyHash, Contents}} has its KeyHash and
  // its Contents; nullopt (with `error`) when it is not of that shape.
  struct LeafParts {
    std::size_t key_hash = 0, contents = 0;
  };
  std::optional<LeafParts> leaf_parts(const Side& s) {
    auto t = v_->tuple(s.pos);
    auto body = t ? v_->skip(t->first) : Result<std::size_t>(TermError::truncated);
    auto inner = body ? v_->tuple(*body) : std::nullopt;
    if (!inner || inner->count != 2) return fail("leaf is not {KeyHash, Contents}"), std::nullopt;
    auto c = v_->skip(inner->first);
    if (!c) return fail("malformed term in a received tree"), std::nullopt;
    return LeafParts{inner->first, *c};
  }

  // A leaf's Contents map (remote: decoded; local: built from the records).
  Term contents(const Side& s) {
    if (s.remote) {
      auto parts = leaf_parts(s);
      if (!parts) return Term();
      std::size_t e = 0;
      auto c = v_->decode(parts->contents, e);
      if (!c) {
        fail("malformed leaf contents in a received tree");
        return Term();
      }
      return std::move(*c);
    }
    std::vector<EntryId> ids;
    m_.leaf_ids(m_.nodes_[s.node], ids);
    TermPairs pairs;
    pairs.reserve(ids.size());
    for (EntryId id : ids)
      if (content_.merkle_has(id)) pairs.emplace_back(content_.merkle_key(id), content_.merkle_value(id));
    return Term::map(std::move(pairs));
  }

  // Every key under `s`, `levels` below the root. Bounded like diff(): a
  // received chain of inner nodes a million deep would otherwise recurse
  // a million times.
  bool raw_keys(const Side& s, std::size_t levels) {
    ++visited;
    if (levels > 64) return fail("tree deeper than 64 levels");
    switch (kind(s)) {
      case Kind::nil: return !s.remote || consume(s);
      case Kind::inner: return raw_keys(child0(s), levels + 1) && raw_keys(child1(s), levels + 1);
      case Kind::partial: return push_partial(s);
      case Kind::leaf: {
        if (s.remote) {
          Term c = contents(s);
          if (!c.is_map()) return fail(error.empty() ? "leaf contents is not a map" : error.c_str());
          auto e = c.map_entries();
          for (auto it = e.rbegin(); it != e.rend(); ++it) out.push_back(it->first);
          return consume(s);
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
      auto parts = leaf_parts(leaf);
      if (!parts) return false;
      auto kh = v_->bitstring(parts->key_hash);
      if (kh && levels < kh->bit_size) dir = (kh->data[levels / 8] >> (7 - levels % 8)) & 1;
    } else if (levels < 32) {
      dir = bit_of(m_.nodes_[leaf.node].a, static_cast<int>(levels));
    }
    if (!dir) return fail("leaf key hash shorter than its depth");
    // A received inner node is read in order: its first child, then (at
    // `end`) its second; a received leaf is passed once, by diff().
    if (*dir == 0) {
      if (!diff(child0(inner), leaf, levels + 1)) return false;
      return raw_keys(child1(inner), levels + 1);
    }
    if (!raw_keys(child0(inner), levels + 1)) return false;
    return diff(child1(inner), leaf, levels + 1);
  }

  const MerkleMap& m_;
  const MerkleContent& content_;
  const EtfView* v_ = nullptr;
};
PartialDiffWalk::PartialDiffWalk(const MerkleMap& map, const MerkleContent& content, Term continuation, int depth)
    : walker_(std::make_unique<LocalDiffWalker>(map, content)) {
  result_.depth = depth;
  static const Atom diff_mod = elixir_module("MerkleMap.MerkleTree.Diff");
  if (!is_struct(continuation, diff_mod)) {
    fail("continuation is not a %MerkleMap.MerkleTree.Diff{}");
    return;
  }
  const Term* trees = continuation.map_get(std::string_view("trees"));
  const Term* keys = continuation.map_get(std::string_view("keys"));
  if (!trees || !keys || !(keys_ = KeyListReader::open(*keys))) {
    fail("continuation trees/keys are not lists");
    return;
  }
  if (const Bitstring* b = encoded_part_bytes(*trees)) {
    held_ = *trees;  // shares the bytes, no copy
    bytes_ = b->bytes;
  } else if (trees->is_proper_list()) {
    encode_to(encoded_, *trees);  // one walk for both forms (small messages, tests, golden replays)
    bytes_ = encoded_;
  } else {
    fail("continuation trees/keys are not lists");
    return;
  }
  const EtfView v(bytes_);
  auto list = v.list(0);
  if (!list) {
    fail("continuation trees/keys are not lists");
    return;
  }
  left_ = list->count;
  pos_ = list->first;
  if (left_ == 0 && v.tag(0) == kNilExt) release();  // [] has no tail to check
  result_.keys.reserve(keys_->size());
}

PartialDiffWalk::~PartialDiffWalk() = default;
PartialDiffWalk::PartialDiffWalk(PartialDiffWalk&&) noexcept = default;

bool PartialDiffWalk::fail(std::string why) {
  error_ = std::move(why);
  done_ = true;
  release();
  return true;
}

void PartialDiffWalk::release() {
  held_ = Term();
  std::vector<std::uint8_t>().swap(encoded_);
  bytes_ = {};
}

bool PartialDiffWalk::step(std::size_t budget) {
  if (done_) return true;
  // The received keys first (they come first in the outcome), a piece a
  // step: one per node of budget, and a step that read many walks nothing
  // (the last 128 000 keys and a full walk step were one 73 ms turn at
  // 300 000 names, most of it page faults of the fresh keys).
  if (!keys_->done()) {
    const std::size_t before = keys_->read_so_far();
    if (!keys_->read(budget, result_.keys)) return fail("continuation keys: " + keys_->error());
    if (!keys_->done() || keys_->read_so_far() - before > budget / 4) return false;
  }
  keys_->release();
  LocalDiffWalker& walker = *walker_;
  const EtfView v(bytes_);
  walker.set_view(&v);
  const int depth = result_.depth;
  walker.visited = 0;
  while (left_ > 0 && collected_ == 0) {
    // {Loc, %MerkleMap.MerkleTree{tree: Tree}}
    auto entry = v.tuple(pos_);
    if (!entry || entry->count != 2) return fail("continuation tree entry is not {Loc, Tree}");
    std::size_t at = entry->first;
    auto loc_term = v.decode(at, at);
    if (!loc_term) return fail("continuation location is not a bitstring of at most 32 bits");
    auto loc = TreeLoc::from_term(*loc_term);
    if (!loc) return fail("continuation location is not a bitstring of at most 32 bits");
    auto tree = v.map(at);
    if (!tree) return fail("continuation tree is not a %MerkleMap.MerkleTree{}");
    // The map's pairs in order; the tree is compared where it is met (so it
    // is read once), and kept only if the struct proves to be a MerkleTree.
    bool is_tree_struct = false, has_tree = false;
    walker.out.clear();
    at = tree->first;
    for (std::size_t i = 0; i < tree->count; ++i) {
      const std::size_t key = at;
      auto value = v.skip(key);
      if (!value) return fail("malformed continuation tree");
      if (v.is_atom(key, "tree") && !has_tree) {
        has_tree = true;
        // assert_hashes_calculated/1 on the remote root.
        if (auto root = v.tuple(*value); root && (root->count == 3 || root->count == 2) && v.tag(root->first) == kNilExt)
          return fail("continuation tree without hashes");
        if (!walker.diff(walker.local_subtree(*loc, depth), LocalDiffWalker::remote(*value), loc->len))
          return fail("malformed continuation tree: " + walker.error);
        at = walker.end;
        continue;
      }
      if (v.is_atom(key, "__struct__")) is_tree_struct = v.is_atom(*value, "Elixir.MerkleMap.MerkleTree");
      auto next = v.skip(*value);
      if (!next) return fail("malformed continuation tree");
      at = *next;
    }
    if (!is_tree_struct) return fail("continuation tree is not a %MerkleMap.MerkleTree{}");
    if (!has_tree) return fail("%MerkleMap.MerkleTree{} without tree");
    found_.insert(found_.end(), walker.out.rbegin(), walker.out.rend());
    pos_ = at;
    --left_;
    if (walker.visited >= budget && left_ > 0) return false;
  }
  if (left_ == 0 && !bytes_.empty()) {
    if (v.tag(pos_) != kNilExt) return fail("continuation trees/keys are not lists");  // improper list
    release();
  }
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
