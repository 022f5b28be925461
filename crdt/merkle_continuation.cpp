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
  static const Term keys_atom{Atom("keys")}, trees_atom{Atom("trees")}, tree_atom{Atom("tree")};
  const auto entries = diff_template().map_entries();
  w.map_header(entries.size());
  for (const auto& [k, v] : entries) {
    w.term(k);
    if (k == keys_atom) {
      w.list_of(step.keys);
    } else if (k == trees_atom) {
      w.list_header(step.trees.size());
      for (TreeLoc loc : step.trees) {
        w.tuple_header(2);
        write_loc(loc, w);
        const auto fields = tree_template().map_entries();
        w.map_header(fields.size());
        for (const auto& [fk, fv] : fields) {
          w.term(fk);
          if (fk == tree_atom) {
            write_node(node_at(loc), loc, step.depth, content, w);
          } else {
            w.term(fv);
          }
        }
      }
      if (!step.trees.empty()) w.nil();
    } else {
      w.term(v);
    }
  }
}

}  // namespace hc::crdt
