// The replica's storage: records in its BlockArena survive index growth and
// removals, freed records are reused, and memory_bytes() is what malloc holds.
#include "crdt/aw_lww_map.hpp"

#include <malloc.h>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>

using namespace hc;
using namespace hc::crdt;

namespace {

constexpr std::int64_t kNode = 424242;

// A Horde.Registry entry: {key, Name} => {{Reg, Node}, Pid, nil}. Names of
// one width, so that records of different names have the same size.
Term name_key(std::size_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "name%07zu", i);
  return tuple(Atom("key"), binary(name));
}
Term entry_value(std::size_t i, std::uint32_t serial = 0) {
  return tuple(tuple(Atom("Elixir.Reg"), Atom("a@host")),
               Term(Pid{Atom("a@host"), static_cast<std::uint32_t>(i), serial, 1}), Atom("nil"));
}

std::size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(aw_lww_memory_test)

BOOST_AUTO_TEST_CASE(records_survive_index_growth_removal_and_replacement) {
  AWLWWMap m;
  m.enable_merkle();
  constexpr std::size_t n = 20000;
  std::int64_t ts = -1000000;
  for (std::size_t i = 0; i < n; ++i) m.add(name_key(i), entry_value(i), kNode, ++ts);
  for (std::size_t i = 0; i < n; i += 3) m.remove(name_key(i));
  for (std::size_t i = 1; i < n; i += 3) m.add(name_key(i), entry_value(i, 9), kNode, ++ts);
  BOOST_CHECK_EQUAL(m.size(), n - (n + 2) / 3);
  for (std::size_t i = 0; i < n; ++i) {
    auto v = m.get(name_key(i));
    if (i % 3 == 0) {
      BOOST_REQUIRE(!v);
    } else {
      BOOST_REQUIRE(v);
      BOOST_REQUIRE(*v == entry_value(i, i % 3 == 1 ? 9 : 0));
    }
  }
  // The Merkle index still sees exactly the live records (hash equality
  // with a replica built from scratch).
  AWLWWMap fresh = *AWLWWMap::from_term(m.to_term());
  BOOST_CHECK(fresh == m);
  BOOST_CHECK(fresh.merkle_root() == m.merkle_root());
}

BOOST_AUTO_TEST_CASE(freed_records_are_reused) {
  AWLWWMap m;
  constexpr std::size_t n = 20000;
  std::int64_t ts = 0;
  std::size_t next = 0;
  // Remove every name, then add as many others of the same shape (and
  // record size): they take the freed blocks. The first cycle may grow the
  // free-slot list; later cycles must not grow the replica at all (without
  // reuse each would add ~2 MB of records).
  auto cycle = [&] {
    for (std::size_t i = next; i < next + n; ++i) m.remove(name_key(i));
    next += n;
    for (std::size_t i = next; i < next + n; ++i) m.add(name_key(i), entry_value(i), kNode, ++ts);
    BOOST_REQUIRE_EQUAL(m.size(), n);
    return m.memory_bytes();
  };
  for (std::size_t i = 0; i < n; ++i) m.add(name_key(i), entry_value(i), kNode, ++ts);
  const std::size_t full = m.memory_bytes();
  const std::size_t first = cycle();
  BOOST_CHECK_LE(first, full + full / 10);
  BOOST_CHECK_EQUAL(cycle(), first);
  BOOST_CHECK_EQUAL(cycle(), first);
}

BOOST_AUTO_TEST_CASE(memory_bytes_tracks_malloc_in_use_for_100000_keys) {
  // Built from the wire's shape (as a sync absorbs it), Merkle hashes on.
  constexpr std::size_t n = 100000;
  malloc_trim(0);
  const std::size_t before = heap_in_use();
  std::size_t accounted = 0;
  {
    AWLWWMap m;
    m.enable_merkle();
    std::int64_t ts = -(std::int64_t{1} << 59);
    for (std::size_t i = 0; i < n; ++i) m.add(name_key(i), entry_value(i), kNode, ts += 1000);
    m.update_hashes();
    accounted = m.memory_bytes();
    const std::size_t grown = heap_in_use() - before;
    BOOST_TEST_MESSAGE("memory_bytes " << accounted << ", malloc in-use growth " << grown << " ("
                                       << accounted / n << " / " << grown / n << " B/key)");
    BOOST_CHECK_GE(accounted, grown * 9 / 10);
    BOOST_CHECK_LE(accounted, grown * 11 / 10);
  }
  // And all of it goes with the replica.
  BOOST_CHECK_LE(heap_in_use(), before + accounted / 100);
}

BOOST_AUTO_TEST_SUITE_END()
