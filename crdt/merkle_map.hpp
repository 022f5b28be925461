// The Merkle index of a replica, term-compatible with MerkleMap 0.2.2
// (lib/merkle_map/merkle_tree_impl.ex, merkle_tree.ex, merkle_tree_diff.ex).
//
// Shape (horde-wire.md section 4): a binary trie over the 32 bits of
// `h(Key) = <<phash2(Key, 2^32):32>>`, most significant bit first (0 = left).
// `[]` is an empty branch, `{Hash, Left, Right}` an inner node and
// `{Hash, {KeyHash, Contents}}` a leaf whose Contents is `#{Key => Value}` of
// every key with that 32-bit hash. A leaf sits at the shallowest depth where
// its hash prefix is unique; deleting collapses an inner node left with one
// leaf (or nothing). Leaf hash `h(Contents)`, inner hash `h({HL, HR})` with
// `[]` for an empty branch.
//
// This class stores only the trie: 12 bytes per node, leaves refer to
// entries of the replica by EntryId, and keys/values are fetched from a
// MerkleContent when a hash is computed or a subtree is sent. Hashes are
// cached; put/remove invalidate the path to the root only, and
// update_hashes() recomputes exactly the invalidated nodes.
//
// Partial diffs (MerkleTree.prepare_partial_diff / continue_partial_diff):
// a continuation is the term `%MerkleMap.MerkleTree.Diff{trees: [{Loc,
// %MerkleMap.MerkleTree{tree: Sub}}], keys: Keys}` where Sub keeps `depth`
// levels and deeper inner nodes become `{partial, Loc}`. The order of `keys`
// and `trees` follows MerkleMap exactly (its diff_keys reverses its
// traversal), so continuations are equal term for term to the BEAM's.
// Known deviation: the BEAM lists a map's keys in its internal order, which
// for maps of more than 32 keys (a leaf holding 33+ keys with one 32-bit
// hash) is hash order; we use term order.
//
// Not thread-safe; owned by one replica.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crdt/key_list.hpp"
#include "crdt/step_writer.hpp"
#include "interop/term.hpp"

namespace hc {
class EtfWriter;
}

namespace hc::crdt {

class LocalDiffWalker;
using EntryId = std::uint32_t;

// Where the keys and values of leaves come from.
class MerkleContent {
 public:
  virtual ~MerkleContent() = default;
  virtual Term merkle_key(EntryId id) const = 0;
  virtual Term merkle_value(EntryId id) const = 0;
  // The same two terms written as external format (MerkleMap::write_continuation).
  // The defaults encode merkle_key / merkle_value; a content that holds its
  // entries in another form writes them without building the Terms.
  virtual void write_merkle_key(EntryId id, EtfWriter& w) const;
  virtual void write_merkle_value(EntryId id, EtfWriter& w) const;
  // Whether `id` still names an entry. A ContinuationWriter that runs over
  // several turns may meet a leaf whose entry was removed since (the tree
  // itself only changes on update_hashes); it writes such a leaf empty.
  virtual bool merkle_has(EntryId) const { return true; }
};

// `phash2(Key, 2^32)`: the trie position of a key.
std::uint32_t merkle_key_hash(const Term& key);
// `<<H:32>>`
Term hash_binary(std::uint32_t h);

// A path from the root: the first `len` bits of `bits` (MSB first).
struct TreeLoc {
  std::uint32_t bits = 0;
  std::uint8_t len = 0;
  Term to_term() const;
  static std::optional<TreeLoc> from_term(const Term& t);
  TreeLoc child(int dir) const {
    return {len < 32 ? bits | (static_cast<std::uint32_t>(dir) << (31 - len)) : bits,
            static_cast<std::uint8_t>(len + 1)};
  }
};

// Result of one continue_partial_diff step: `{ok, Keys}` when done, else
// `{continue, Continuation}`, the continuation described by where its
// subtrees are in our tree (MerkleMap::continuation_term builds it,
// write_continuation writes its bytes; either only while the tree is as it
// was when the step was computed).
struct PartialDiffStep {
  bool done = false;
  std::vector<Term> keys;      // done: the keys that differ; else the continuation's `keys`
  std::vector<TreeLoc> trees;  // !done: the continuation's `trees`, each subtree(loc, depth) of ours
  int depth = 0;
};

class MerkleMap {
 public:
  static constexpr int kSyncDepth = 8;  // DeltaCrdt uses depth 8 per round

  MerkleMap();

  // Adds entry `id` under `key_hash`. `replaces` names the entry it replaces
  // (the same key with a new value) or nullopt for a new key.
  // put/remove are queued and applied, sorted by key hash (so consecutive
  // updates share their path through the trie), by the next update_hashes();
  // every other accessor assumes update_hashes() ran after the last change,
  // as MerkleMap requires before a diff.
  void put(std::uint32_t key_hash, EntryId id, std::optional<EntryId> replaces = std::nullopt);
  // Removes entry `id` (a no-op when absent).
  void remove(std::uint32_t key_hash, EntryId id);
  void clear();

  // Applies queued changes and recomputes the invalidated hashes
  // (MerkleMap.update_hashes/1).
  void update_hashes(const MerkleContent& content);
  // The same in pieces: applies at most max(max_nodes, 4 096) of the queued
  // changes (a burst of 300 000 registrations applied at once was a
  // 100-170 ms tick), and once all are applied recomputes at most
  // `max_nodes` invalid hashes (children before parents). True when every
  // change is applied and every hash is valid; call again until it is
  // (changes in between are fine).
  bool update_hashes(const MerkleContent& content, std::size_t max_nodes);
  bool hashes_valid() const noexcept;

  bool empty() const noexcept;
  // Root hash, nullopt for the empty tree. Requires update_hashes().
  std::optional<std::uint32_t> root_hash() const noexcept;
  std::size_t node_count() const noexcept { return nodes_.size() - free_nodes_.size(); }
  std::size_t memory_bytes() const noexcept;
  int max_depth() const;

  // MerkleTreeImpl.subtree(tree, Loc, Depth) as a term (tree shape only,
  // without the %MerkleMap.MerkleTree{} wrapper). Requires valid hashes.
  Term subtree(TreeLoc loc, int depth, const MerkleContent& content) const;
  // The whole tree term (the `tree` field of %MerkleMap.MerkleTree{}).
  Term tree_term(const MerkleContent& content) const;

  // `%MerkleMap.MerkleTree.Diff{trees: [{<<>>, %MerkleTree{tree: subtree(<<>>, depth)}}], keys: []}`
  Term prepare_partial_diff(int depth, const MerkleContent& content) const;
  // MerkleTree.continue_partial_diff(tree, Continuation, Depth). Returns
  // nullopt (with `error` set) when the continuation is not a well-formed
  // Diff; the BEAM would crash the CRDT process on such input.
  std::optional<PartialDiffStep> continue_partial_diff(const Term& continuation, int depth,
                                                       const MerkleContent& content,
                                                       std::string* error = nullptr) const;
  // The continuation of a step that is not done: `%MerkleMap.MerkleTree.Diff{
  // trees: [{Loc, %MerkleMap.MerkleTree{tree: subtree(Loc, depth)}}], keys}`
  // as a Term, or written as external format, byte-identical to encoding
  // that Term (merkle_continuation.cpp), with no Term built for the
  // subtrees. Cost: O(nodes and bytes of the subtrees + the keys).
  Term continuation_term(const PartialDiffStep& step, const MerkleContent& content) const;
  void write_continuation(const PartialDiffStep& step, const MerkleContent& content, EtfWriter& w) const;
  // MerkleMap.truncate_diff/2: keep `amount` keys, then trees up to `amount`
  // entries in all. Returns the input unchanged when it is not a Diff.
  static Term truncate_diff(const Term& diff, std::size_t amount);

 private:
  // No node / no child. Node indices and entry ids are below it (2^29 - 1:
  // far more keys than a replica can hold in memory).
  static constexpr std::uint32_t kNil = (1u << 29) - 1;
  enum : std::uint32_t { kLeaf = 1, kValid = 2, kMulti = 4 };
  // 12 bytes (a trie has ~2.4 nodes per key, so every byte here is ~2.4
  // bytes per key): the flags share a word with `b`.
  struct Node {
    std::uint32_t hash = 0;
    std::uint32_t a = 0;       // inner: left child; leaf: key hash (all 32 bits)
    std::uint32_t b : 29 = 0;  // inner: right child; leaf: entry id or index into multi_
    std::uint32_t flags : 3 = 0;
  };
  static_assert(sizeof(Node) == 12);

  struct PendingOp {
    std::uint32_t key_hash;
    EntryId id;
    EntryId replaces;
    std::uint8_t kind;  // 0 put new, 1 put replacing, 2 remove
  };
  void apply_put(std::uint32_t key_hash, EntryId id, std::optional<EntryId> replaces);
  void apply_remove(std::uint32_t key_hash, EntryId id);
  // Applies the next `max_ops` queued changes, sorted by key hash; true when none is left.
  bool flush(std::size_t max_ops);
  static constexpr std::size_t kMinFlushedOps = 4096;
  std::uint32_t new_node(const Node& n);
  void free_node(std::uint32_t i);
  std::uint32_t new_leaf(std::uint32_t key_hash, EntryId id);
  void leaf_ids(const Node& leaf, std::vector<EntryId>& out) const;
  std::uint32_t compute_hash(std::uint32_t i, const MerkleContent& content);
  bool compute_hash_within(std::uint32_t i, const MerkleContent& content, std::size_t& budget);
  Term leaf_term(const Node& leaf, const MerkleContent& content) const;
  Term node_term(std::uint32_t i, TreeLoc loc, int depth, const MerkleContent& content) const;
  Term hash_term(std::uint32_t i) const;
  void write_node(std::uint32_t i, TreeLoc loc, int depth, const MerkleContent& content, EtfWriter& w) const;
  std::uint32_t node_at(TreeLoc loc) const;  // the node subtree(loc, _) starts at (kNil: none)
  friend class LocalDiffWalker;  // compares our nodes with a received subtree in place
  friend class ContinuationWriter;
  friend class PartialDiffWalk;

  std::vector<Node> nodes_;
  std::vector<std::uint32_t> free_nodes_;
  std::vector<std::vector<EntryId>> multi_;  // entries of leaves with colliding key hashes
  std::vector<std::uint32_t> free_multi_;
  std::uint32_t root_ = kNil;
  std::vector<PendingOp> pending_;
  std::size_t applied_ = 0;  // pending_[0, applied_) are applied
};

// MerkleMap::continue_partial_diff in pieces: the trees of a received
// continuation compared with ours a few at a time, so that a continuation
// of tens of megabytes is walked over several turns of the host (issue 13:
// one of 46 MB took 0.5 s). Between two step() calls the tree must not
// change (no update_hashes); the entries may: an entry removed since counts
// as absent from its leaf.
//
// The continuation's `keys` (an encoded part too when large) are read
// first, a piece a step. The received trees are read as external format, in place: a continuation
// whose `trees` arrived encoded (an encoded part, see encoded_part below)
// shares those bytes; one whose trees are Terms has them encoded once, here
// (a cost linear in their size: what a small message or a test has). The
// bytes are released when the last tree has been compared. The map and the
// content must outlive the walk.
class PartialDiffWalk {
 public:
  PartialDiffWalk(const MerkleMap& map, const MerkleContent& content, Term continuation, int depth);
  ~PartialDiffWalk();
  PartialDiffWalk(PartialDiffWalk&&) noexcept;
  // Compares trees until about `budget` nodes were visited (at least one
  // tree) or all were, or the continuation proves malformed; true when done.
  bool step(std::size_t budget);
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  // The outcome, once step() returned true without failing.
  PartialDiffStep take() { return std::move(result_); }

 private:
  bool fail(std::string why);
  void release();
  std::unique_ptr<LocalDiffWalker> walker_;
  std::optional<KeyListReader> keys_;    // the continuation's keys, read in the first steps
  Term held_;                            // the encoded part the trees arrived in, or []
  std::vector<std::uint8_t> encoded_;    // or their encoding, made here
  std::span<const std::uint8_t> bytes_;  // the `trees` list, encoded (in one of the two)
  std::size_t pos_ = 0;                  // the next tree entry in bytes_
  std::size_t left_ = 0;                 // entries not compared yet
  std::vector<Term> found_;
  std::size_t collected_ = 0;  // found_[0, collected_) are in result_
  PartialDiffStep result_;
  std::string error_;
  bool done_ = false;
};

// MerkleMap::write_continuation in pieces, so that a continuation of many
// megabytes is written over several turns of the host (issue 13: at
// 1 000 000 names one took seconds). Between two write() calls the tree
// must not change (no update_hashes); the entries may (an entry removed
// since is written as an empty leaf, a changed one with its new value:
// the peer then reports that key as different, and the round's slice
// carries its current value, as for any change made during a round).
// The map and the content must outlive the writer.
class ContinuationWriter final : public StepWriter {
 public:
  ContinuationWriter(const MerkleMap& map, const MerkleContent& content, PartialDiffStep step);
  // Writes on until `budget` more bytes are written (at least one key or
  // tree) or the continuation is complete; true when it is.
  bool write(EtfWriter& w, std::size_t budget) override;

 private:
  enum class Phase { head, keys, trees, done };
  const MerkleMap& map_;
  const MerkleContent& content_;
  PartialDiffStep step_;
  Phase phase_ = Phase::head;
  std::size_t next_ = 0;
  bool reserved_ = false;
  // Reserves room for the rest of the keys or trees phase (`done` of
  // `total` items written): see the definition.
  void expect_rest(EtfWriter& w, std::size_t done, std::size_t total);
};

// Whether a continuation is the first of a round: `trees: [{<<>>, _}]`,
// `keys: []`, as prepare_partial_diff makes it.
bool is_round_start(const Term& continuation);

// A part of a received message kept as its external format (no version
// byte) instead of decoded: `{'$hc_etf', Bytes}`. decode_sync_message
// (sync_decode.hpp) leaves a large continuation's `trees` so, for
// PartialDiffWalk to read in place. The tag says "our decoder's form" to a
// reader of logs; a peer could send the same shape, which is then read
// the same way and checked as strictly (DeltaCrdt would crash on it).
Term encoded_part(std::vector<std::uint8_t> bytes);
// The bytes of an encoded part, nullptr when `t` is not one.
const Bitstring* encoded_part_bytes(const Term& t);

// Term helpers for the continuation structs.
Term merkle_tree_struct(Term tree);                      // %MerkleMap.MerkleTree{tree: T}
Term merkle_diff_struct(TermVector trees, TermVector keys);  // %MerkleMap.MerkleTree.Diff{}

}  // namespace hc::crdt
