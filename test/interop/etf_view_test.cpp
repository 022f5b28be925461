// EtfView (interop/etf_view.hpp): reading external format in place agrees
// with the decoder on where every term ends, refuses what is truncated or
// structurally bad instead of reading past the input, and reads the headers
// of compound terms as the decoder would.
#include "interop/etf_view.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

#include "interop/codec.hpp"
#include "interop/error.hpp"
#include "support/random_term.hpp"

using namespace hc;
using Bytes = std::vector<std::uint8_t>;

BOOST_TEST_DONT_PRINT_LOG_VALUE(hc::TermError)

namespace {

Bytes body_of(const Term& t) {
  Bytes b;
  encode_to(b, t);
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(etf_view_test)

BOOST_AUTO_TEST_CASE(skip_ends_every_random_term_where_the_decoder_does) {
  test::Rng rng(20261201);
  for (int i = 0; i < 3000; ++i) {
    const Term t = test::random_term(rng, 4);
    Bytes b = body_of(t);
    const std::size_t size = b.size();
    b.push_back(97);  // a term after it: skip must stop at its tag
    b.push_back(1);
    const EtfView v(b);
    std::size_t end = 0;
    auto decoded = v.decode(0, end);
    BOOST_REQUIRE(decoded);
    BOOST_REQUIRE_EQUAL(end, size);
    auto skipped = v.skip(0);
    BOOST_REQUIRE_MESSAGE(skipped, "skip failed on " << t << ": " << skipped.message());
    BOOST_CHECK_EQUAL(*skipped, size);
    BOOST_CHECK_EQUAL(*v.skip(size), size + 2);
  }
}

BOOST_AUTO_TEST_CASE(skip_passes_funs_by_their_size) {
  // {fun erlang:abs/1, 7}: EXPORT_EXT is three terms; the decoder agrees.
  const Bytes b = {104, 2, 113, 119, 6, 'e', 'r', 'l', 'a', 'n', 'g', 119, 3, 'a', 'b', 's', 97, 1, 97, 7};
  const EtfView v(b);
  BOOST_CHECK_EQUAL(*v.skip(0), b.size());
  std::size_t end = 0;
  BOOST_REQUIRE(v.decode(0, end));
  BOOST_CHECK_EQUAL(end, b.size());
  // NEW_FUN_EXT: the tag, then Size counting itself and the rest of the fun.
  Bytes fun = {112, 0, 0, 0, 40};
  fun.resize(1 + 40, 0);
  fun.push_back(106);
  BOOST_CHECK_EQUAL(*EtfView(fun).skip(0), 41u);
  fun[4] = 200;  // a Size past the input
  BOOST_CHECK(EtfView(fun).skip(0).error() == TermError::truncated);
  fun[4] = 3;  // a Size that cannot hold the fixed fields
  BOOST_CHECK(EtfView(fun).skip(0).error() == TermError::bad_length);
}

BOOST_AUTO_TEST_CASE(every_truncation_fails_and_reads_nothing_past_the_cut) {
  test::Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    const Bytes b = body_of(test::random_term(rng, 3));
    for (std::size_t cut = 0; cut < b.size(); ++cut) {
      // A copy of exactly `cut` bytes: a read past it is a heap overflow
      // that the sanitizer builds report.
      const Bytes part(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut));
      auto r = EtfView(part).skip(0);
      BOOST_REQUIRE_MESSAGE(!r, "skip accepted " << cut << " of " << b.size() << " bytes");
    }
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_never_make_skip_read_past_the_end) {
  // Whatever skip() makes of random bytes, it stays inside them, and where
  // the decoder accepts a term, skip() ends it at the same place.
  test::Rng rng(11);
  const std::uint8_t tags[] = {70, 77, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107,
                               108, 109, 110, 111, 112, 113, 114, 115, 116, 118, 119, 120};
  for (int i = 0; i < 20000; ++i) {
    Bytes b(1 + rng() % 24);
    for (auto& x : b) x = rng() % 3 == 0 ? tags[rng() % std::size(tags)] : static_cast<std::uint8_t>(rng() % 8);
    const EtfView v(b);
    auto r = v.skip(0);
    if (r) BOOST_REQUIRE_LE(*r, b.size());
    std::size_t end = 0;
    if (v.decode(0, end)) {
      BOOST_REQUIRE(r);
      BOOST_CHECK_EQUAL(*r, end);
    }
  }
}

BOOST_AUTO_TEST_CASE(counts_that_cannot_fit_are_absurd) {
  const Bytes list = {108, 0xff, 0xff, 0xff, 0xff, 106};
  BOOST_CHECK(EtfView(list).skip(0).error() == TermError::absurd_length);
  const Bytes map = {116, 0x80, 0, 0, 0, 106, 106};
  BOOST_CHECK(EtfView(map).skip(0).error() == TermError::absurd_length);
  const Bytes cached = {82, 0};
  BOOST_CHECK(EtfView(cached).skip(0).error() == TermError::unsupported_tag);
  const Bytes unknown = {1, 0};
  BOOST_CHECK(EtfView(unknown).skip(0).error() == TermError::unknown_tag);
}

BOOST_AUTO_TEST_CASE(headers_and_binaries_read_as_the_decoder_reads_them) {
  const Term bits = Term::bitstring(std::vector<std::uint8_t>{0xAB, 0xC0}, 11);
  const Term t = Term::tuple({Term(Atom("partial")), bits, Term::binary("xyz"),
                              Term::list({Term(1), Term(Atom("a"))}), Term::map({{Term(1), Term(2)}}), Term()});
  const Bytes b = body_of(t);
  const EtfView v(b);
  auto tup = v.tuple(0);
  BOOST_REQUIRE(tup);
  BOOST_CHECK_EQUAL(tup->count, 6u);
  std::size_t at = tup->first;
  BOOST_CHECK(v.is_atom(at, "partial"));
  BOOST_CHECK(!v.is_atom(at, "partia"));
  at = *v.skip(at);
  auto bs = v.bitstring(at);
  BOOST_REQUIRE(bs);
  BOOST_CHECK_EQUAL(bs->bit_size, 11u);
  BOOST_CHECK_EQUAL(bs->data[0], 0xAB);
  at = bs->end;
  auto bin = v.bitstring(at);
  BOOST_REQUIRE(bin);
  BOOST_CHECK_EQUAL(bin->bit_size, 24u);
  BOOST_CHECK(!v.tuple(at) && !v.map(at) && !v.list(at));
  at = bin->end;
  auto l = v.list(at);
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->count, 2u);
  at = *v.skip(at);
  auto m = v.map(at);
  BOOST_REQUIRE(m);
  BOOST_CHECK_EQUAL(m->count, 1u);
  at = *v.skip(at);
  auto nil = v.list(at);
  BOOST_REQUIRE(nil);
  BOOST_CHECK_EQUAL(nil->count, 0u);
  BOOST_CHECK_EQUAL(nil->first, b.size());
  // A short string is STRING_EXT, whose elements are bytes: not a list here.
  const Bytes s = body_of(Term::list({Term(104), Term(105)}));
  BOOST_CHECK(!EtfView(s).list(0));
  BOOST_CHECK_EQUAL(*EtfView(s).skip(0), s.size());
}

BOOST_AUTO_TEST_SUITE_END()
