#include "interop/term.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <thread>
#include <unordered_set>

using namespace hc;

BOOST_TEST_DONT_PRINT_LOG_VALUE(hc::Term::Type)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<std::int64_t>)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<hc::Atom>)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::vector<std::uint8_t>)
BOOST_TEST_DONT_PRINT_LOG_VALUE(hc::TermVector)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::vector<const void*>)

namespace {

Term big(std::initializer_list<std::uint8_t> le_magnitude, bool negative = false) {
  return Term(BigInt{negative, std::vector<std::uint8_t>(le_magnitude)});
}
// 2^64 and friends.
Term two64() { return big({0, 0, 0, 0, 0, 0, 0, 0, 1}); }
Term two64_plus1() { return big({1, 0, 0, 0, 0, 0, 0, 0, 1}); }

Pid pid(std::string_view node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  return Pid{Atom(node), id, serial, creation};
}
Port port(std::string_view node, std::uint64_t id, std::uint32_t creation) { return Port{Atom(node), id, creation}; }
Reference ref(std::string_view node, std::uint32_t creation, std::vector<std::uint32_t> ids) {
  return Reference{Atom(node), creation, std::move(ids)};
}
Fun export_fun(std::string_view m, std::string_view f, std::uint32_t arity) {
  Fun x;
  x.is_export = true;
  x.module = Atom(m);
  x.function = Atom(f);
  x.arity = arity;
  x.encoded = {113, 119, 1, 'm'};  // placeholder bytes, only compared for equality
  x.encoded.push_back(static_cast<std::uint8_t>(arity));
  return x;
}

int sgn(int c) { return (c > 0) - (c < 0); }

}  // namespace

BOOST_AUTO_TEST_SUITE(term_test)

BOOST_AUTO_TEST_CASE(atoms_are_interned_and_thread_safe) {
  BOOST_TEST(Atom("ok") == atom("ok"));
  BOOST_TEST(Atom("ok").id() == Atom(std::string("ok")).id());
  BOOST_TEST(Atom().text() == "");
  BOOST_TEST(!(Atom("a") == Atom("b")));
  BOOST_TEST(((Atom("a") <=> Atom("aa")) < 0));
  BOOST_TEST(((Atom("b") <=> Atom("aa")) > 0));

  std::vector<std::thread> threads;
  std::vector<std::vector<const void*>> ids(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &ids] {
      for (int i = 0; i < 2000; ++i) ids[t].push_back(Atom("thr_" + std::to_string(i)).id());
    });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) BOOST_TEST(ids[t] == ids[0]);
}

BOOST_AUTO_TEST_CASE(integer_normalisation) {
  BOOST_TEST(Term(std::uint64_t{5}).type() == Term::Type::Integer);
  Term u = Term(std::uint64_t{0x8000000000000000ULL});
  BOOST_TEST(u.type() == Term::Type::BigInteger);
  BOOST_TEST(u.as_bigint()->magnitude == (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 0, 0x80}));
  BOOST_TEST(!u.as_bigint()->negative);
  // Bignums that fit int64 become Integer; trailing zero bytes are dropped.
  BOOST_TEST(big({1, 0, 0}) == Term(1));
  BOOST_TEST(big({1}, true) == Term(-1));
  BOOST_TEST(big({}, true) == Term(0));
  BOOST_TEST(big({0, 0, 0, 0, 0, 0, 0, 0x80}, true).as_int() == INT64_MIN);
  BOOST_TEST(big({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}).as_int() == INT64_MAX);
  BOOST_TEST(big({1, 0, 0, 0, 0, 0, 0, 0x80}, true).type() == Term::Type::BigInteger);
  BOOST_TEST(two64().type() == Term::Type::BigInteger);
  BOOST_TEST(big({0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}).as_bigint()->magnitude.size() == 9u);
}

BOOST_AUTO_TEST_CASE(list_normalisation) {
  BOOST_TEST(Term::list({}).is_nil());
  BOOST_TEST(Term::list({}, Term(atom("x"))) == Term(atom("x")));
  Term inner = Term::list({Term(2), Term(3)}, Term(atom("t")));
  Term outer = Term::list({Term(1)}, inner);
  BOOST_TEST(outer.list_elements().size() == 3u);
  BOOST_TEST(outer.list_tail() == Term(atom("t")));
  BOOST_TEST(outer == Term::list({Term(1), Term(2), Term(3)}, Term(atom("t"))));
  BOOST_TEST(!outer.is_proper_list());
  BOOST_TEST(list(1, 2).is_proper_list());
  BOOST_TEST(Term().is_proper_list());
  BOOST_TEST(Term(1).list_elements().empty());
  BOOST_TEST(Term(1).list_tail().is_nil());
}

BOOST_AUTO_TEST_CASE(map_normalisation) {
  Term m = Term::map({{Term(atom("b")), Term(1)}, {Term(atom("a")), Term(2)}, {Term(atom("b")), Term(3)}});
  BOOST_REQUIRE(m.map_size() == 2u);
  BOOST_TEST(m.map_entries()[0].first == Term(atom("a")));
  BOOST_TEST(m.map_entries()[1].second == Term(3));  // last duplicate wins
  BOOST_TEST(*m.map_get("b") == Term(3));
  BOOST_TEST(m.map_get("nope_never_interned_atom_xyz") == nullptr);
  BOOST_TEST(m.map_get(Term(1)) == nullptr);
  // Map key order: every integer before every float (maps:keys(#{1.0=>a,2=>b,1=>c}) == [1,2,1.0]).
  Term k = Term::map({{Term(1.0), Term(atom("a"))}, {Term(2), Term(atom("b"))}, {Term(1), Term(atom("c"))}});
  BOOST_REQUIRE(k.map_size() == 3u);
  BOOST_TEST(k.map_entries()[0].first == Term(1));
  BOOST_TEST(k.map_entries()[1].first == Term(2));
  BOOST_TEST(k.map_entries()[2].first == Term(1.0));
  // Big maps use binary search.
  TermPairs many;
  for (int i = 40; i > 0; --i) many.emplace_back(Term(i), Term(i * 10));
  Term mm = Term::map(many);
  BOOST_TEST(*mm.map_get(Term(17)) == Term(170));
  BOOST_TEST(mm.map_get(Term(17.0)) == nullptr);
}

BOOST_AUTO_TEST_CASE(bitstrings) {
  const std::uint8_t bytes[] = {1, 0xFF};
  Term b = Term::bitstring(bytes, 11);
  BOOST_TEST(b.as_bitstring()->bytes == (std::vector<std::uint8_t>{1, 0xE0}));  // unused bits cleared
  BOOST_TEST(!b.is_binary());
  BOOST_TEST(!b.as_binary());
  BOOST_TEST(binary("abc").is_binary());
  BOOST_TEST(*binary("abc").as_binary() == "abc");
}

BOOST_AUTO_TEST_CASE(accessors_never_throw) {
  Term t = tuple(atom("ok"), 1);
  BOOST_TEST(t.is_record("ok", 2));
  BOOST_TEST(!t.is_record("ok", 3));
  BOOST_TEST(*t.element(1) == Term(1));
  BOOST_TEST(t.element(2) == nullptr);
  BOOST_TEST(!t.as_int());
  BOOST_TEST(t.as_atom() == nullptr);
  BOOST_TEST(t.map_entries().empty());
  BOOST_TEST(Term(atom("x")).is_atom("x"));
  BOOST_TEST(!Term(1).is_atom("x"));
  BOOST_TEST(Term(1).tuple_elements().data() == nullptr);
}

BOOST_AUTO_TEST_CASE(exact_equality) {
  BOOST_TEST(Term(0.0) == Term(-0.0));  // OTP 25: 0.0 =:= -0.0
  BOOST_TEST(Term(0.0).hash() == Term(-0.0).hash());
  BOOST_TEST(!(Term(1) == Term(1.0)));
  BOOST_TEST(tuple(1, binary("x")) == tuple(1, binary("x")));
  BOOST_TEST(!(list(1, 2) == list(1, 2, 3)));
  // Refs that differ only in trailing zero ID words are =:= on OTP 25.
  BOOST_TEST(Term(ref("a@h", 1, {1, 0, 0})) == Term(ref("a@h", 1, {1, 0, 0, 0})));
  BOOST_TEST(Term(ref("a@h", 1, {1, 0, 0})).hash() == Term(ref("a@h", 1, {1, 0, 0, 0})).hash());
  BOOST_TEST(!(Term(ref("a@h", 1, {1, 0, 0})) == Term(ref("a@h", 2, {1, 0, 0}))));
  BOOST_TEST(Term(pid("a@h", 1, 0, 3)) == Term(pid("a@h", 1, 0, 3)));
  BOOST_TEST(!(Term(pid("a@h", 1, 0, 3)) == Term(pid("a@h", 1, 0, 4))));
  std::unordered_set<Term> set{Term(1), Term(1.0), binary("a"), list(1, 2)};
  BOOST_TEST(set.size() == 4u);
  BOOST_TEST(set.count(list(1, 2)) == 1u);
}

// Pairs (A, B, sign of erlang_compare) checked on OTP 25 with `A < B` / `A == B`.
BOOST_AUTO_TEST_CASE(erlang_order_table) {
  struct Row {
    Term a, b;
    int cmp;
  };
  std::vector<Row> rows = {
      // type order
      {Term(1), Term(atom("a")), -1},
      {Term(atom("zzz")), Term(ref("a@h", 1, {1, 2, 3})), -1},
      {Term(ref("a@h", 1, {1, 2, 3})), Term(export_fun("m", "f", 1)), -1},
      {Term(export_fun("m", "f", 1)), Term(port("a@h", 1, 1)), -1},
      {Term(port("a@h", 1, 1)), Term(pid("a@h", 1, 1, 1)), -1},
      {Term(pid("a@h", 1, 1, 1)), tuple(), -1},
      {tuple(1, 2, 3), Term::map({}), -1},
      {Term::map({{Term(1), Term(2)}}), Term(), -1},
      {Term(), list(0), -1},
      {list(1), binary(""), -1},
      {Term(atom("a")), Term(atom("aa")), -1},
      {list(atom("a"), atom("b"), atom("c")), binary("abc"), -1},
      // numbers by value
      {Term(1), Term(1.0), 0},
      {Term(2), Term(1.5), 1},
      {Term(-1), Term(-1.5), 1},
      {two64(), Term(1.8446744073709552e19), 0},
      {two64_plus1(), Term(1.8446744073709552e19), 1},
      {Term(std::int64_t{9007199254740993}), Term(9007199254740992.0), 1},
      {big({1, 0, 0, 0, 0, 0, 0, 0, 1}, true), Term(-1.8446744073709552e19), -1},
      {Term(INT64_MAX), Term(9.223372036854776e18), -1},
      {Term(INT64_MIN), Term(-9.223372036854776e18), 0},
      {Term(1.0e300), two64(), 1},
      {Term(0.0), Term(-0.0), 0},
      {Term(INT64_MAX), two64(), -1},
      {big({0, 0, 0, 0, 0, 0, 0, 0, 1}, true), Term(INT64_MIN), -1},
      // compound
      {tuple(1, 2), tuple(0, 0, 0), -1},
      {Term::map({{Term(atom("a")), Term(2)}}), Term::map({{Term(atom("b")), Term(1)}}), -1},
      {Term::map({{Term(atom("a")), Term(1)}}), Term::map({{Term(atom("a")), Term(2)}, {Term(atom("b")), Term(1)}}), -1},
      {Term::map({{Term(1), Term(atom("a"))}}), Term::map({{Term(1.0), Term(atom("a"))}}), -1},
      {Term::map({{Term(atom("a")), Term(1.0)}}), Term::map({{Term(atom("a")), Term(1)}}), 0},
      {Term::list({Term(1)}, Term(2)), list(1, 2), -1},
      {Term::list({Term(1)}, binary("")), list(1, 2), 1},
      {Term::list({Term(atom("a"))}, Term(atom("b"))), Term::list({Term(atom("a"))}, Term(atom("c"))), -1},
      {Term::list({Term(atom("a"))}, Term(atom("b"))), list(atom("a")), -1},
      {Term(), list(0), -1},
      // bitstrings: bit-lexicographic, then size
      {Term::bitstring(std::vector<std::uint8_t>{0x80}, 1), binary("\x01"), 1},
      {Term::bitstring(std::vector<std::uint8_t>{1, 0x40}, 11), binary(std::string("\x01\x02", 2)), 1},
      {Term::bitstring(std::vector<std::uint8_t>{1, 0x80}, 15), binary(std::string("\x01\x80", 2)), -1},
      // pids: serial, id, node, creation
      {Term(pid("a", 1, 0, 1)), Term(pid("a", 0, 1, 1)), -1},
      {Term(pid("b", 0, 0, 1)), Term(pid("a", 1, 0, 1)), -1},
      {Term(pid("a", 0, 0, 2)), Term(pid("b", 0, 0, 1)), -1},
      {Term(pid("a", 0, 0, 1)), Term(pid("a", 0, 0, 2)), -1},
      // ports: node, creation, id
      {Term(port("b", 0, 1)), Term(port("a", 1, 1)), 1},
      {Term(port("a", 0, 2)), Term(port("a", 1, 1)), 1},
      // refs: node, creation, words from the last
      {Term(ref("b", 1, {0, 0, 0})), Term(ref("a", 1, {1, 1, 1})), 1},
      {Term(ref("a", 1, {1, 0, 0})), Term(ref("a", 1, {0, 0, 1})), -1},
      {Term(ref("a", 1, {5, 5, 5})), Term(ref("a", 1, {1, 0, 0, 1})), -1},
      {Term(ref("a", 1, {1, 0, 0})), Term(ref("a", 1, {1, 0, 0, 0})), 0},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    BOOST_TEST_CONTEXT("row " << i << ": " << r.a << " vs " << r.b) {
      BOOST_TEST(sgn(erlang_compare(r.a, r.b)) == r.cmp);
      BOOST_TEST(sgn(erlang_compare(r.b, r.a)) == -r.cmp);
    }
  }
}

BOOST_AUTO_TEST_CASE(exact_order) {
  // Integers before floats, whatever the value; otherwise as erlang_compare.
  BOOST_TEST(((Term(1) <=> Term(1.0)) < 0));
  BOOST_TEST(((Term(2) <=> Term(1.0)) < 0));
  BOOST_TEST(((two64() <=> Term(1.0)) < 0));
  BOOST_TEST(((Term(1.0) <=> Term(2.0)) < 0));
  BOOST_TEST(((Term(0.0) <=> Term(-0.0)) == 0));
  BOOST_TEST(((Term::map({{Term(atom("a")), Term(1.0)}}) <=> Term::map({{Term(atom("a")), Term(1)}})) > 0));
  BOOST_TEST(((Term(1) <=> Term(atom("a"))) < 0));
  // Usable as a std::map key.
  std::map<Term, int> m{{Term(1.0), 1}, {Term(1), 2}, {binary("x"), 3}};
  BOOST_TEST(m.size() == 3u);
  BOOST_TEST(m.begin()->first == Term(1));
}

BOOST_AUTO_TEST_CASE(printing) {
  struct Row {
    Term t;
    std::string text;
  };
  std::vector<Row> rows = {
      {Term(42), "42"},
      {Term(-7), "-7"},
      {two64(), "18446744073709551616"},
      {big({1, 0, 0, 0, 0, 0, 0, 0, 1}, true), "-18446744073709551617"},
      {Term(std::uint64_t{9223372036854775808ULL}), "9223372036854775808"},
      {Term(atom("hello")), "hello"},
      {Term(atom("Hello")), "'Hello'"},
      {Term(atom("a b")), "'a b'"},
      {Term(atom("")), "''"},
      {Term(atom("a@b")), "a@b"},
      {Term(atom("a.b")), "'a.b'"},
      {Term(atom("else")), "else"},
      {Term(atom("and")), "'and'"},
      {Term(atom("when")), "'when'"},
      {Term(atom("ok'")), "'ok\\''"},
      {Term(atom("_x")), "'_x'"},
      {Term(atom("\xC3\xA9")), "\xC3\xA9"},                       // 'é' needs no quotes
      {Term(atom("\xE6\x97\xA5\xE6\x9C\xAC")), "'\\x{65E5}\\x{672C}'"},  // '日本'
      {Term(atom("Elixir.MapSet")), "'Elixir.MapSet'"},
      {list(97, 98, 99), "[97,98,99]"},
      {Term::list({Term(1)}, Term(2)), "[1|2]"},
      {tuple(), "{}"},
      {tuple(atom("ok"), 1), "{ok,1}"},
      {Term::map({}), "#{}"},
      {Term::map({{Term(atom("a")), Term(1)}}), "#{a => 1}"},
      {binary("abc"), "<<\"abc\">>"},
      {binary(""), "<<>>"},
      {binary(std::string("\x01\x02", 2)), "<<1,2>>"},
      {binary(std::string("ab\0", 3)), "<<97,98,0>>"},
      {binary("a\"b\n"), "<<\"a\\\"b\\n\">>"},
      {Term::bitstring(std::vector<std::uint8_t>{1, 0x40}, 11), "<<1,2:3>>"},
      {Term(pid("a@h", 1, 2, 3)), "#Pid<a@h.1.2.3>"},
      {Term(port("a@h", 5, 3)), "#Port<a@h.5.3>"},
      {Term(ref("a@h", 3, {1, 2, 3})), "#Ref<a@h.3.3.2.1>"},
      {Term(export_fun("lists", "map", 2)), "fun lists:map/2"},
  };
  for (const auto& r : rows) BOOST_TEST(to_string(r.t) == r.text);
}

// Expected strings are io_lib:format("~w", [F]) output of OTP 25.
BOOST_AUTO_TEST_CASE(float_printing_matches_otp) {
  std::vector<std::pair<double, std::string>> rows = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {1.0e20, "1.0e20"},
      {1.0e-10, "1.0e-10"},
      {123456789012345678.0, "1.2345678901234568e17"},
      {1.5e300, "1.5e300"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {100.0, "100.0"},
      {1.0e15, "1.0e15"},
      {1.0e16, "1.0e16"},
      {5.0e-324, "5.0e-324"},
      {0.001, "0.001"},
      {0.0001, "0.0001"},
      {1.0e-5, "1.0e-5"},
      {123.456, "123.456"},
      {1.0e14, "1.0e14"},
      {12345678901234.0, "12345678901234.0"},
      {9007199254740991.0, "9007199254740991.0"},
      {9007199254740992.0, "9.007199254740992e15"},
      {0.5, "0.5"},
      {2.5e-5, "2.5e-5"},
      {1.0e21, "1.0e21"},
      {3.14159, "3.14159"},
      {-2.5, "-2.5"},
      {1.0e-300, "1.0e-300"},
      {1.7976931348623157e308, "1.7976931348623157e308"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {0.30000000000000004, "0.30000000000000004"},
      {1.0e22, "1.0e22"},
      {123456789.0, "123456789.0"},
      {0.000123, "1.23e-4"},
      {12.0e-7, "1.2e-6"},
      {255.0, "255.0"},
      {4.0e8, "4.0e8"},
  };
  for (const auto& [d, s] : rows) BOOST_TEST(to_string(Term(d)) == s);
}

BOOST_AUTO_TEST_CASE(elixir_helpers) {
  BOOST_TEST(elixir_module("MapSet").text() == "Elixir.MapSet");
  Term s = make_struct(elixir_module("Foo"), {{Term(atom("a")), Term(1)}});
  BOOST_TEST(s.map_size() == 2u);
  BOOST_TEST(struct_name(s) == elixir_module("Foo"));
  BOOST_TEST(is_struct(s, elixir_module("Foo")));
  BOOST_TEST(!is_struct(s, elixir_module("Bar")));
  BOOST_TEST(!struct_name(Term::map({})));
  BOOST_TEST(!struct_name(Term(1)));

  Term ms = make_mapset({Term(2), Term(1), Term(2)});
  // %MapSet{map: %{1 => [], 2 => []}, version: 2}
  Term expected = Term::map({{Term(atom("__struct__")), Term(atom("Elixir.MapSet"))},
                             {Term(atom("map")), Term::map({{Term(1), Term()}, {Term(2), Term()}})},
                             {Term(atom("version")), Term(2)}});
  BOOST_TEST(ms == expected);
  auto els = mapset_elements(ms);
  BOOST_REQUIRE(els);
  BOOST_TEST(*els == (TermVector{Term(1), Term(2)}));
  BOOST_TEST(!mapset_elements(s));
  BOOST_TEST(!mapset_elements(Term::map({{Term(atom("__struct__")), Term(atom("Elixir.MapSet"))}})));
  BOOST_TEST(mapset_elements(make_mapset({}))->empty());
}

// Comparison, hashing, printing and destruction are iterative: a term nested
// far deeper than any stack allows is handled like any other.
BOOST_AUTO_TEST_CASE(deep_terms_need_no_deep_stack) {
  const int depth = 200'000;
  auto build = [&](int leaf) {
    Term t(leaf);
    for (int i = 0; i < depth; ++i) {
      if (i % 3 == 0) t = tuple(t);
      else if (i % 3 == 1) t = list(t);
      else t = Term::map({{Term(i), t}});
    }
    return t;
  };
  Term a = build(1), b = build(1), c = build(2);
  BOOST_TEST((a == b));
  BOOST_TEST(!(a == c));
  BOOST_TEST(((a <=> c) < 0));
  BOOST_TEST(erlang_compare(c, a) > 0);
  BOOST_TEST(a.hash() == b.hash());
  std::string s = to_string(a);
  BOOST_TEST(s.size() > static_cast<std::size_t>(depth));
  BOOST_TEST(s.find("1") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
