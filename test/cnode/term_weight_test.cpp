// term_weight_at_least: whether a term is large enough to encode or free on
// a worker thread, decided in at most `limit` steps.
#include "cnode/term_weight.hpp"

#include <boost/test/unit_test.hpp>

using namespace hc;
using hc::cnode::term_weight_at_least;

BOOST_AUTO_TEST_SUITE(term_weight_test)

BOOST_AUTO_TEST_CASE(counts_every_term_and_a_binary_one_per_64_bytes) {
  BOOST_TEST(term_weight_at_least(Term(1), 1));
  BOOST_TEST(!term_weight_at_least(Term(1), 2));
  // [1..9]: the list, 9 elements, the [] tail.
  TermVector nine;
  for (int i = 1; i <= 9; ++i) nine.push_back(Term(i));
  const Term list = Term::list(nine);
  BOOST_TEST(term_weight_at_least(list, 10));  // decided by the element count
  BOOST_TEST(term_weight_at_least(list, 11));
  BOOST_TEST(!term_weight_at_least(list, 12));
  // #{a => 1, b => 2, c => 3}: the map and 6 terms; {x, y}: 3.
  const Term map = Term::map({{Term(Atom("a")), Term(1)}, {Term(Atom("b")), Term(2)}, {Term(Atom("c")), Term(3)}});
  BOOST_TEST(term_weight_at_least(map, 7));
  BOOST_TEST(!term_weight_at_least(map, 8));
  BOOST_TEST(term_weight_at_least(tuple(Atom("x"), Atom("y")), 3));
  BOOST_TEST(!term_weight_at_least(tuple(Atom("x"), Atom("y")), 4));
  // 640 bytes: 1 + 10.
  const Term bin = binary(std::string(640, 'b'));
  BOOST_TEST(term_weight_at_least(bin, 11));
  BOOST_TEST(!term_weight_at_least(bin, 12));
  // Nested: [{k, <<64 bytes>>}] = list, tuple, atom, binary (1 + 1), tail.
  const Term nested = Term::list({tuple(Atom("k"), binary(std::string(64, 'v')))});
  BOOST_TEST(term_weight_at_least(nested, 6));
  BOOST_TEST(!term_weight_at_least(nested, 7));
}

BOOST_AUTO_TEST_CASE(a_million_element_list_is_decided_at_once) {
  TermVector many(1'000'000, Term(7));
  BOOST_TEST(term_weight_at_least(Term::list(std::move(many)), 20'000));
}

BOOST_AUTO_TEST_SUITE_END()
