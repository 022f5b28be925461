#include "interop/term_text.hpp"

#include <boost/test/unit_test.hpp>

using namespace hc;

namespace {
Term one(std::string_view text) {
  auto r = parse_term(text);
  BOOST_REQUIRE_MESSAGE(r.ok(), std::string(text) + ": " + r.message());
  return *r;
}
Term str(std::string_view s) {
  TermVector v;
  for (unsigned char c : s) v.emplace_back(static_cast<std::int64_t>(c));
  return Term::list(std::move(v));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(term_text_test)

BOOST_AUTO_TEST_CASE(literals) {
  BOOST_TEST(one("42") == Term(42));
  BOOST_TEST(one("-7") == Term(-7));
  BOOST_TEST(one("16#ff") == Term(255));
  BOOST_TEST(one("2#1010") == Term(10));
  BOOST_TEST(one("1_000") == Term(1000));
  BOOST_TEST(one("$a") == Term(97));
  BOOST_TEST(one("$\\n") == Term(10));
  BOOST_TEST(one("1.5") == Term(1.5));
  BOOST_TEST(one("-2.0e-3") == Term(-0.002));
  BOOST_TEST(one("18446744073709551616") == Term(BigInt{false, {0, 0, 0, 0, 0, 0, 0, 0, 1}}));
  BOOST_TEST(one("ok") == Term(Atom("ok")));
  BOOST_TEST(one("node@host") == Term(Atom("node@host")));
  BOOST_TEST(one("'tlsv1.2'") == Term(Atom("tlsv1.2")));
  BOOST_TEST(one("'a\\'b'") == Term(Atom("a'b")));
  BOOST_TEST(one("\"ab\"") == str("ab"));
  BOOST_TEST(one("\"a\" \"b\"") == str("ab"));
  BOOST_TEST(one("\"\"") == Term::nil());
  BOOST_TEST(one("\"\\x{263a}\"") == Term::list({Term(0x263a)}));
  BOOST_TEST(one("\"\xc3\xa9\"") == Term::list({Term(0xe9)}));  // UTF-8 source, code points
  BOOST_TEST(one("<<>>") == Term::binary(""));
  BOOST_TEST(one("<<\"abc\">>") == Term::binary("abc"));
  BOOST_TEST(one("<<1,2,255>>") == Term::binary(std::string("\x01\x02\xff", 3)));
  BOOST_TEST(one("<<\"\xc3\xa9\"/utf8>>") == Term::binary("\xc3\xa9"));
}

BOOST_AUTO_TEST_CASE(compounds_and_comments) {
  BOOST_TEST(one("{a, [1, 2 | t], #{k => \"v\"}}") ==
             tuple(Atom("a"), Term::list({Term(1), Term(2)}, Term(Atom("t"))),
                   Term::map({{Term(Atom("k")), str("v")}})));
  BOOST_TEST(one("{}") == Term::tuple({}));
  BOOST_TEST(one("[]") == Term::nil());
  BOOST_TEST(one("#{}") == Term::map({}));
  BOOST_TEST(one("% a comment\n [ok % trailing\n ].") == list(Atom("ok")));
  auto all = consult("a. {b, 1}.\n[c].\n");
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 3u);
  BOOST_TEST((*all)[1] == tuple(Atom("b"), 1));
}

BOOST_AUTO_TEST_CASE(ssl_dist_optfile_shape) {
  auto all = consult(
      "[{server, [{certfile, \"/etc/ssl/node.pem\"}, {verify, verify_peer}, {fail_if_no_peer_cert, true},\n"
      "           {versions, ['tlsv1.2', 'tlsv1.3']}]},\n"
      " {client, [{cacertfile, \"/etc/ssl/ca.pem\"}, {depth, 3}]}].\n");
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == 1u);
  auto server = (*all)[0].list_elements()[0];
  BOOST_TEST(string_value(server.element(1)->list_elements()[0].tuple_elements()[1]).value() == "/etc/ssl/node.pem");
}

struct BadCase {
  std::string_view text;
  TermTextError error;
  int line, column;
};

BOOST_AUTO_TEST_CASE(malformed_text_is_a_named_error_with_position) {
  const BadCase cases[] = {
      {"[a, b", TermTextError::unexpected_end, 1, 6},
      {"{a b}", TermTextError::unexpected_token, 1, 4},
      {"[a].\n[b]", TermTextError::missing_dot, 2, 4},
      {"37#1.", TermTextError::bad_number, 1, 3},
      {"2#3.", TermTextError::bad_number, 1, 3},
      {"'a\\", TermTextError::unexpected_end, 1, 4},
      {"\"\\x\"", TermTextError::bad_escape, 1, 4},
      {"[Var].", TermTextError::variable_not_allowed, 1, 2},
      {"<<256>>.", TermTextError::bad_binary_element, 1, 3},
      {"\"\xff\".", TermTextError::bad_utf8, 1, 2},
      {"fun() -> ok end.", TermTextError::unexpected_token, 1, 4},
      {"a b.", TermTextError::unexpected_token, 1, 3},
  };
  for (const auto& c : cases) {
    TextPosition where;
    auto r = consult(c.text, &where);
    BOOST_TEST_CONTEXT(c.text) {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error() == make_error_code(c.error), r.message());
      BOOST_TEST(where.line == c.line);
      BOOST_TEST(where.column == c.column);
      // The position rides in the Result too.
      BOOST_TEST(r.what() == "line " + std::to_string(c.line) + ", column " + std::to_string(c.column));
    }
  }
  std::string deep(20000, '[');
  BOOST_TEST(parse_term(deep).error() == make_error_code(TermTextError::nesting_too_deep));
  BOOST_TEST(parse_term(std::string(300, 'a')).error() == make_error_code(TermTextError::atom_too_long));
}

BOOST_AUTO_TEST_SUITE_END()
