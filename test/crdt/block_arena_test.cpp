#include "crdt/block_arena.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

using namespace hc::crdt;

namespace {

struct Block {
  char* p;
  std::size_t n;
  char fill;
};

void fill(Block& b) { std::memset(b.p, b.fill, b.n); }
bool intact(const Block& b) {
  for (std::size_t i = 0; i < b.n; ++i)
    if (b.p[i] != b.fill) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(block_arena_test)

BOOST_AUTO_TEST_CASE(blocks_are_distinct_aligned_and_keep_their_bytes) {
  BlockArena a;
  std::vector<Block> blocks;
  // Sizes across the small classes, chunk boundaries and the large path.
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::size_t n = 1 + (i * 37) % 1500;
    Block b{static_cast<char*>(a.allocate(n)), n, static_cast<char>('a' + i % 26)};
    BOOST_REQUIRE(reinterpret_cast<std::uintptr_t>(b.p) % 8 == 0);
    fill(b);
    blocks.push_back(b);
  }
  for (const Block& b : blocks) BOOST_REQUIRE(intact(b));
  // Free every other block; the rest must be untouched by the free lists.
  for (std::size_t i = 0; i < blocks.size(); i += 2) a.deallocate(blocks[i].p, blocks[i].n);
  for (std::size_t i = 1; i < blocks.size(); i += 2) BOOST_REQUIRE(intact(blocks[i]));
}

BOOST_AUTO_TEST_CASE(a_freed_block_is_reused_by_the_next_block_of_its_size) {
  BlockArena a;
  void* p = a.allocate(100);
  void* q = a.allocate(100);
  const std::size_t reserved = a.bytes_reserved();
  a.deallocate(p, 100);
  BOOST_CHECK_EQUAL(a.bytes_free(), BlockArena::block_size(100));
  // 97..104 round to the same class, so the freed block serves them.
  BOOST_CHECK_EQUAL(a.allocate(97), p);
  BOOST_CHECK_EQUAL(a.bytes_free(), 0u);
  a.deallocate(q, 100);
  // Another class does not take it.
  void* r = a.allocate(200);
  BOOST_CHECK(r != q);
  BOOST_CHECK_EQUAL(a.bytes_reserved(), reserved);
}

BOOST_AUTO_TEST_CASE(churn_of_equal_sizes_does_not_grow_the_arena) {
  // What a replica does: records replaced by records of the same size.
  BlockArena a;
  std::vector<void*> live;
  for (int i = 0; i < 10000; ++i) live.push_back(a.allocate(104));
  const std::size_t reserved = a.bytes_reserved();
  for (int round = 0; round < 5; ++round)
    for (auto& p : live) {
      void* n = a.allocate(104);
      a.deallocate(p, 104);
      p = n;
    }
  BOOST_CHECK_EQUAL(a.bytes_reserved(), reserved);
  BOOST_CHECK_EQUAL(a.bytes_in_use(), 10000u * 104u);
}

BOOST_AUTO_TEST_CASE(accounting_counts_chunks_and_large_blocks) {
  BlockArena a;
  BOOST_CHECK_EQUAL(a.bytes_reserved(), 0u);
  a.allocate(16);
  BOOST_CHECK_GE(a.bytes_reserved(), BlockArena::kFirstChunk);
  const std::size_t small = a.bytes_reserved();
  void* big = a.allocate(5000);
  BOOST_CHECK_GE(a.bytes_reserved(), small + 5000);
  BOOST_CHECK_EQUAL(a.bytes_in_use(), 16u + 5000u);
  a.deallocate(big, 5000);
  BOOST_CHECK_EQUAL(a.bytes_reserved(), small);
  // A large block left allocated is freed by clear() (ASan would report it).
  a.allocate(3000);
  a.clear();
  BOOST_CHECK_EQUAL(a.bytes_reserved(), 0u);
  BOOST_CHECK_EQUAL(a.bytes_in_use(), 0u);
}

BOOST_AUTO_TEST_CASE(a_moved_arena_owns_the_blocks) {
  BlockArena a;
  Block b{static_cast<char*>(a.allocate(64)), 64, 'x'};
  fill(b);
  Block big{static_cast<char*>(a.allocate(2000)), 2000, 'y'};
  fill(big);
  const std::size_t reserved = a.bytes_reserved();
  BlockArena c(std::move(a));
  BOOST_CHECK_EQUAL(c.bytes_reserved(), reserved);
  BOOST_CHECK(intact(b));
  BOOST_CHECK(intact(big));
  BlockArena d;
  d.allocate(8);
  d = std::move(c);
  BOOST_CHECK_EQUAL(d.bytes_reserved(), reserved);
  d.deallocate(big.p, big.n);
  BOOST_CHECK(intact(b));
  // The moved-from arena is empty and usable.
  void* p = a.allocate(32);
  BOOST_CHECK(p != nullptr);
  a.deallocate(p, 32);
}

BOOST_AUTO_TEST_SUITE_END()
