// PidSet: the sharded set of pids links are kept in.
#include "cnode/pid_set.hpp"

#include <boost/test/unit_test.hpp>

#include <set>
#include <vector>

using namespace hc;
using hc::cnode::PidSet;

BOOST_AUTO_TEST_SUITE(pid_set_test)

BOOST_AUTO_TEST_CASE(behaves_as_a_set_and_iterates_every_element_once) {
  PidSet s;
  BOOST_TEST(s.empty());
  BOOST_TEST((s.begin() == s.end()));
  std::set<std::tuple<std::uint32_t, std::uint32_t>> want;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const Pid p{Atom(i % 2 ? "a@h" : "b@h"), i, i % 7, 1};
    BOOST_TEST(s.insert(p));
    BOOST_TEST(!s.insert(p));  // already there
    want.insert({i, i % 7});
  }
  BOOST_TEST(s.size() == 5000u);
  std::set<std::tuple<std::uint32_t, std::uint32_t>> seen;
  std::size_t n = 0;
  for (const Pid& p : s) {
    seen.insert({p.id, p.serial});
    ++n;
  }
  BOOST_TEST(n == 5000u);
  BOOST_TEST((seen == want));
  const Pid p7{Atom("a@h"), 7, 0, 1};
  BOOST_TEST(s.contains(p7));
  BOOST_TEST(s.count(p7) == 1u);
  BOOST_TEST(s.erase(p7) == 1u);
  BOOST_TEST(s.erase(p7) == 0u);
  BOOST_TEST(!s.contains(p7));
  BOOST_TEST(s.size() == 4999u);
  BOOST_TEST(!s.contains(Pid{Atom("c@h"), 1, 0, 1}));
  // Post-increment walks the same elements.
  std::size_t iterated = 0;
  for (auto it = s.begin(); it != s.end(); it++) ++iterated;
  BOOST_TEST(iterated == 4999u);
  s.clear();
  BOOST_TEST(s.empty());
  BOOST_TEST((s.begin() == s.end()));
}

BOOST_AUTO_TEST_SUITE_END()
