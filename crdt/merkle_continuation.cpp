// The continuation of a partial diff (merkle_map.hpp), as a Term and as
// external format written straight from the trie and the content: a round
// with a peer that lacks most of our keys sends nearly the whole tree in one
// continuation (100 000 names: 19 MB; building it as Terms, encoding and
// freeing them took 190 + 90 + 90 ms, issue 13).
//
// The bytes are exactly the codec's encoding of continuation_term: the same
// map key order (Term::map's, taken from the struct Terms themselves), the
// same binary and list encodings. Checked by
// test/crdt/merkle_continuation_test.cpp.
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "crdt/merkle_internal.hpp"
#include "crdt/merkle_map.hpp"
#include "interop/etf_writer.hpp"

namespace hc::crdt {
namespace {

using merkle_detail::partial_atom;

void write_hash(std::uint32_t h, EtfWriter& w) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
                             static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h)};
  w.bits(b, 32);
}

void write_loc(TreeLoc loc, EtfWriter& w) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(loc.bits >> 24), static_cast<std::uint8_t>(loc.bits >> 16),
                             static_cast<std::uint8_t>(loc.bits >> 8), static_cast<std::uint8_t>(loc.bits)};
  w.bits(std::span<const std::uint8_t>(b, (loc.len + 7u) / 8u), loc.len);
}

// The struct maps with an empty field, for their key order and the constant
// entries ('__struct__').
const Term& diff_template() {
  static const Term t = merkle_diff_struct({}, {});
  return t;
}
const Term& tree_template() {
  static const Term t = merkle_tree_struct(Term());
  return t;
}

}  // namespace

void MerkleContent::write_merkle_key(EntryId id, EtfWriter& w) const { w.term(merkle_key(id)); }
void MerkleContent::write_merkle_value(EntryId id, EtfWriter& w) const { w.term(merkle_value(id)); }

void MerkleMap::write_node(std::uint32_t i, TreeLoc loc, int depth, const MerkleContent& content,
                           EtfWriter& w) const {
  if (i == kNil) return w.nil();
  const Node& n = nodes_[i];
  if (n.flags & kLeaf) {
    if (n.flags & kMulti) return w.term(leaf_term(n, content));  // colliding key hashes: rare, a map to sort
    w.tuple_header(2);
    write_hash(n.hash, w);
    w.tuple_header(2);
    write_hash(n.a, w);
    if (!content.merkle_has(n.b)) return w.map_header(0);  // removed since (ContinuationWriter)
    w.map_header(1);
    content.write_merkle_key(n.b, w);
    content.write_merkle_value(n.b, w);
    return;
  }
  if (depth <= 0) {
    w.tuple_header(2);
    w.atom(partial_atom());
    write_loc(loc, w);
    return;
  }
  w.tuple_header(3);
  write_hash(n.hash, w);
  write_node(n.a, loc.child(0), depth - 1, content, w);
  write_node(n.b, loc.child(1), depth - 1, content, w);
}

Term MerkleMap::continuation_term(const PartialDiffStep& step, const MerkleContent& content) const {
  TermVector trees;
  trees.reserve(step.trees.size());
  for (TreeLoc loc : step.trees)
    trees.push_back(Term::tuple({loc.to_term(), merkle_tree_struct(subtree(loc, step.depth, content))}));
  return merkle_diff_struct(std::move(trees), step.keys);
}

void MerkleMap::write_continuation(const PartialDiffStep& step, const MerkleContent& content, EtfWriter& w) const {
  ContinuationWriter(*this, content, step).write(w, SIZE_MAX);
}

ContinuationWriter::ContinuationWriter(const MerkleMap& map, const MerkleContent& content, PartialDiffStep step)
    : map_(map), content_(content), step_(std::move(step)) {}

// The map is written in Term::map's key order, which for the atoms
// '__struct__' < keys < trees is that one (checked once against the Term
// by `order_checked`); a tree entry is {Loc, %MerkleMap.MerkleTree{}} with
// '__struct__' < tree.
void ContinuationWriter::expect_rest(EtfWriter& w, std::size_t done, std::size_t total) {
  // Once the message takes several steps: room for the rest at twice the
  // rate written so far, once. Grown by doubling instead, the vector's last
  // copy (128 MB of a 212 MB continuation at 1 000 000 keys) was an 86 ms
  // step; with a margin of 1.25 one warm round still outgrew it (a 63 ms
  // step: the first trees are not the average). An over-estimate costs
  // address space, not memory (large blocks are mapped; pages are touched
  // as they are written).
  // The rate can mislead (one huge subtree first, then small ones): the
  // room is capped at 1 GiB more and a refused reservation is no error
  // (the vector then grows by doubling, as without this).
  if (reserved_ || done == 0) return;
  reserved_ = true;
  const double per_item = static_cast<double>(w.position()) / static_cast<double>(done);
  const double rest = std::min(per_item * static_cast<double>(total - done) * 2.0, double(std::size_t{1} << 30));
  w.expect_if_possible(static_cast<std::size_t>(rest) + 4096);
}

bool ContinuationWriter::write(EtfWriter& w, std::size_t budget) {
  static const Term struct_atom{Atom("__struct__")}, keys_atom{Atom("keys")}, trees_atom{Atom("trees")},
      tree_atom{Atom("tree")};
  static const bool order_checked = [] {
    auto d = diff_template().map_entries();
    auto t = tree_template().map_entries();
    return d.size() == 3 && d[0].first == struct_atom && d[1].first == keys_atom && d[2].first == trees_atom &&
           t.size() == 2 && t[0].first == struct_atom && t[1].first == tree_atom;
  }();
  if (!order_checked) throw std::logic_error("MerkleMap struct key order changed");
  const std::size_t start = w.written();
  auto spent = [&] { return w.written() - start >= budget; };
  switch (phase_) {
    case Phase::head: {
      const auto d = diff_template().map_entries();
      w.map_header(3);
      w.term(d[0].first);
      w.term(d[0].second);
      w.term(keys_atom);
      if (w.as_byte_list(step_.keys)) {  // a STRING_EXT: all in one go
        w.term(trees_atom);
        w.list_header(step_.trees.size());
        phase_ = Phase::trees;
      } else {
        w.list_header(step_.keys.size());
        phase_ = Phase::keys;
      }
      next_ = 0;
      [[fallthrough]];
    }
    case Phase::keys:
      if (phase_ == Phase::keys) {
        while (next_ < step_.keys.size()) {
          w.term(step_.keys[next_]);
          // Dropped once written: where this is the last reference (keys a
          // walk took from a received tree), the keys are freed a step at a
          // time, not 300 000 in the last one (80 ms).
          step_.keys[next_++] = Term();
          if (spent() && next_ < step_.keys.size()) {
            expect_rest(w, next_, step_.keys.size());
            return false;
          }
        }
        if (!step_.keys.empty()) w.nil();
        w.term(trees_atom);
        w.list_header(step_.trees.size());
        phase_ = Phase::trees;
        next_ = 0;
      }
      [[fallthrough]];
    case Phase::trees: {
      const auto t = tree_template().map_entries();
      while (next_ < step_.trees.size()) {
        const TreeLoc loc = step_.trees[next_++];
        w.tuple_header(2);
        write_loc(loc, w);
        w.map_header(2);
        w.term(t[0].first);
        w.term(t[0].second);
        w.term(tree_atom);
        map_.write_node(map_.node_at(loc), loc, step_.depth, content_, w);
        if (spent() && next_ < step_.trees.size()) {
          expect_rest(w, next_, step_.trees.size());
          return false;
        }
      }
      if (!step_.trees.empty()) w.nil();
      phase_ = Phase::done;
      step_ = PartialDiffStep();  // frees the keys now
      return true;
    }
    case Phase::done: return true;
  }
  return true;
}

}  // namespace hc::crdt
