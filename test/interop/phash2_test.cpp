#include "interop/phash2.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "interop/codec.hpp"
#include "interop/term.hpp"

using namespace hc;

namespace {

constexpr std::uint64_t k2pow32 = std::uint64_t{1} << 32;

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Term big(std::vector<std::uint8_t> le_magnitude, bool negative = false) {
  return Term(BigInt{negative, std::move(le_magnitude)});
}

Term pid(std::string_view node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  return Term(Pid{Atom(node), id, serial, creation});
}

Term ref(std::string_view node, std::uint32_t creation, std::vector<std::uint32_t> ids) {
  return Term(Reference{Atom(node), creation, std::move(ids)});
}

Term int_map(int n) {
  TermPairs pairs;
  for (int i = 1; i <= n; ++i) pairs.emplace_back(i, i);
  return Term::map(std::move(pairs));
}

// Expected values below were printed by erlang:phash2(T, 4294967296) on OTP 25.2.
void check(const Term& t, std::uint32_t expected) {
  BOOST_TEST_CONTEXT("term " << to_string(t).substr(0, 120)) {
    BOOST_TEST(phash2_full(t) == expected);
    BOOST_TEST(phash2(t, k2pow32) == expected);
    BOOST_TEST(phash2(t) == (expected & ((1u << 27) - 1)));
    BOOST_TEST(phash2(t, 4294967295u) == expected % 4294967295u);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(phash2_test)

BOOST_AUTO_TEST_CASE(integers_small_and_big_agree_at_every_boundary) {
  check(0, 3175731469u);
  check(1, 539485162u);
  check(-1, 1117813597u);
  check(134217727, 4273352567u);   // 2^27 - 1: last value hashed as a 32-bit word
  check(134217728, 2562491755u);   // 2^27: hashed as a one-digit bignum
  check(-134217728, 874979335u);
  check(-134217729, 1418916782u);
  check(INT64_MAX, 2712534173u);
  check(INT64_MIN, 1736826119u);
  check(big({0, 0, 0, 0, 0, 0, 0, 0, 1}), 2519041713u);        // 2^64
  check(big({0, 0, 0, 0, 0, 0, 0, 0, 1}, true), 2563594619u);  // -2^64
  std::vector<std::uint8_t> two100(13, 0);
  two100[12] = 0x10;
  check(big(two100), 528873168u);  // 2^100
}

BOOST_AUTO_TEST_CASE(floats_and_negative_zero) {
  check(0.0, 423528920u);
  check(-0.0, 423528920u);  // OTP 25: -0.0 =:= 0.0, same hash
  check(1.5, 2023646235u);
  check(-2.25e-300, 2333401194u);
}

BOOST_AUTO_TEST_CASE(atoms_hash_their_text_latin1_folded) {
  check(atom("a"), 97u);
  check(atom(""), 0u);
  check(atom("Elixir.LabRegistry"), 171037465u);
  check(atom("h\xC3\xA9llo"), 7799599u);           // 'héllo'
  check(atom("\xE6\x97\xA5\xE6\x9C\xAC"), 251805804u);  // '日本'
  BOOST_TEST(atom_text_hash("a") == 97u);
}

BOOST_AUTO_TEST_CASE(binaries_and_bitstrings) {
  check(binary(""), 147926629u);
  check(binary("abc"), 1306188027u);
  check(binary("exactly12byt"), 2400965815u);  // one full lookup2 block, no tail
  const std::uint8_t one_bit[] = {0x80};
  check(Term::bitstring(one_bit, 1), 3994547237u);  // <<1:1>>
  const std::uint8_t abc5[] = {'a', 'b', 'c', 5 << 5};
  check(Term::bitstring(abc5, 27), 2471843837u);  // <<"abc", 5:3>>
}

BOOST_AUTO_TEST_CASE(lists_strings_and_improper_tails) {
  check(Term::nil(), 3468870702u);
  check(list(97, 98, 99), 519996486u);       // "abc": one packed word
  check(list(97, 98, 99, 100), 1752753207u); // "abcd"
  check(list(1, atom("a"), 2), 2452592867u); // byte run broken by a non-byte
  check(Term::list({Term(1)}, Term(2)), 3844221178u);                  // [1 | 2]
  check(Term::list({Term(atom("a"))}, Term(atom("b"))), 2356411656u);  // [a | b]
  check(list(Term::nil()), 499070068u);  // [[]]
  check(list(256), 1684221134u);
}

BOOST_AUTO_TEST_CASE(tuples) {
  check(Term::tuple({}), 221703996u);
  check(tuple(atom("a")), 2853905094u);
  check(tuple(1, 2, 3), 2847307263u);
}

BOOST_AUTO_TEST_CASE(maps_flat_and_hamt_sized) {
  check(Term::map({}), 844985373u);
  check(Term::map({{atom("a"), 1}}), 1401795262u);
  check(Term::map({{atom("b"), 2}, {atom("a"), 1}}), 1982682855u);
  check(int_map(40), 2202532150u);  // a HAMT map on the BEAM
}

BOOST_AUTO_TEST_CASE(pids_ports_refs_hash_ids_only) {
  // Node and creation are not hashed; neither is a pid's serial.
  check(pid("x@y.z", 40000, 7, 1), 4233486140u);
  check(pid("a@b.c", 40000, 9, 2), 4233486140u);
  check(Term(Port{atom("x@y.z"), (std::uint64_t{1} << 40) + 7, 1}), 1090537430u);
  // Only the first reference word counts.
  check(ref("x@y.z", 1, {11, 22, 33}), 778779601u);
  check(ref("a@b.c", 9, {11, 99, 98}), 778779601u);
}

BOOST_AUTO_TEST_CASE(export_funs) {
  const Result<Term> f = decode(std::vector<std::uint8_t>{131, 113, 119, 5, 'l', 'i', 's', 't', 's', 119, 3, 'm',
                                                          'a', 'p', 97, 2});
  BOOST_REQUIRE_MESSAGE(f, f.message());
  check(*f, 840287883u);  // fun lists:map/2
}

BOOST_AUTO_TEST_CASE(local_funs_hash_index_uniq_and_free_variables) {
  // term_to_binary(t4:mk(42, <<"free">>), [{minor_version, 2}]) where
  // mk(X, Y) -> fun(Z) -> {X, Y, Z} end, printed by OTP 25.2.
  const std::string hex =
      "83700000004F017443B68551BD09398C20CFA919ECAB9500000000000000027702743461006203A21DB458770D6E6F6E6F6465406E"
      "6F686F7374000000090000000000000000612A6D0000000466726565";
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  const Result<Term> f = decode(bytes);
  BOOST_REQUIRE_MESSAGE(f, f.message());
  BOOST_REQUIRE(f->is_fun());
  check(*f, 3218654202u);
}

BOOST_AUTO_TEST_CASE(ten_thousand_levels_deep) {
  Term deep_list = Term::nil();
  Term deep_tuple = Term::tuple({});
  for (int i = 1; i <= 10000; ++i) {
    deep_list = list(deep_list);
    deep_tuple = tuple(i, deep_tuple);
  }
  check(deep_list, 3773952864u);
  check(deep_tuple, 3126785811u);
}

BOOST_AUTO_TEST_CASE(range_is_checked_like_the_bif) {
  BOOST_CHECK_THROW((void)phash2(Term(1), 0), std::invalid_argument);
  BOOST_CHECK_THROW((void)phash2(Term(1), k2pow32 + 1), std::invalid_argument);
  BOOST_TEST(phash2(Term(1), 1) == 0u);
}

// phash2_golden.etf: [{T, phash2(T), phash2(T, 2^32), phash2(T, 2^32 - 1)}],
// 3112 terms of every type recorded on OTP 25.2 (fixtures README).
BOOST_AUTO_TEST_CASE(golden_table_from_otp_25) {
  const auto bytes = read_file(std::string(HC_FIXTURES_DIR) + "/phash2_golden.etf");
  const Result<Term> table = decode(bytes);
  BOOST_REQUIRE_MESSAGE(table, "decoding the golden table failed: " << table.message());
  BOOST_REQUIRE(table->is_proper_list());
  const auto rows = table->list_elements();
  BOOST_TEST(rows.size() == 3112u);

  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    BOOST_REQUIRE(rows[i].is_tuple(4));
    const auto row = rows[i].tuple_elements();
    const Term& t = row[0];
    const std::uint32_t full = phash2_full(t);
    const Term got[3] = {Term(static_cast<std::int64_t>(phash2(t))),
                         Term(static_cast<std::int64_t>(phash2(t, k2pow32))),
                         Term(static_cast<std::int64_t>(phash2(t, 4294967295u)))};
    if (got[0] != row[1] || got[1] != row[2] || got[2] != row[3] || full != phash2(t, k2pow32)) {
      if (++mismatches <= 50) BOOST_ERROR("golden mismatch at index " << i << ": " << to_string(t).substr(0, 300)
                                                     << "\n  expected " << row[1] << ' ' << row[2] << ' ' << row[3]
                                                     << "\n  got      " << got[0] << ' ' << got[1] << ' ' << got[2]);
    }
  }
  BOOST_TEST(mismatches == 0u, mismatches << " of " << rows.size() << " golden terms hash differently");
}

BOOST_AUTO_TEST_SUITE_END()
