#include "interop/codec.hpp"
#include "interop/error_condition.hpp"
#include "interop/result.hpp"

#include <ei.h>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace hc;
using Bytes = std::vector<std::uint8_t>;

BOOST_TEST_DONT_PRINT_LOG_VALUE(Bytes)
BOOST_TEST_DONT_PRINT_LOG_VALUE(hc::TermError)

namespace {

Pid pid(std::string_view node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  return Pid{Atom(node), id, serial, creation};
}

Term big_pow2(unsigned bits, bool negative = false) {
  BigInt b;
  b.negative = negative;
  b.magnitude.assign(bits / 8 + 1, 0);
  b.magnitude.back() = static_cast<std::uint8_t>(1u << (bits % 8));
  return Term(std::move(b));
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes repeat(const Bytes& b, std::size_t n) {
  Bytes out;
  out.reserve(b.size() * n);
  for (std::size_t i = 0; i < n; ++i) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// term_to_binary(Fun) of `fun(X) -> X + 1 end` compiled in a module `g` on OTP 25.
const Bytes kLocalFun = {131, 112, 0,   0,   0,   67,  1,   112, 7,   127, 86,  91,  176, 168, 81, 74,  219,
                         122, 242, 85,  41,  181, 91,  0,   0,   0,   0,   0,   0,   0,   0,   119, 1,  103,
                         97,  0,   98,  3,   128, 59,  250, 88,  119, 13,  110, 111, 110, 111, 100, 101, 64, 110,
                         111, 104, 111, 115, 116, 0,   0,   0,   9,   0,   0,   0,   0,   0,   0,   0,   0};

}  // namespace

BOOST_AUTO_TEST_SUITE(codec_test)

// Expected bytes: term_to_binary(T, [{minor_version, 2}]) on OTP 25.
BOOST_AUTO_TEST_CASE(encode_matches_otp_byte_for_byte) {
  struct Row {
    const char* name;
    Term term;
    Bytes bytes;
  };
  const std::vector<Row> rows = {
      {"int_0", Term(0), {131, 97, 0}},
      {"int_255", Term(255), {131, 97, 255}},
      {"int_256", Term(256), {131, 98, 0, 0, 1, 0}},
      {"int_m1", Term(-1), {131, 98, 255, 255, 255, 255}},
      {"int_i32max", Term(2147483647), {131, 98, 127, 255, 255, 255}},
      {"int_i32max1", Term(std::int64_t{2147483648}), {131, 110, 4, 0, 0, 0, 0, 128}},
      {"int_i32min", Term(std::int64_t{-2147483648}), {131, 98, 128, 0, 0, 0}},
      {"int_i32min1", Term(std::int64_t{-2147483649}), {131, 110, 4, 1, 1, 0, 0, 128}},
      {"int_i64max", Term(INT64_MAX), {131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127}},
      {"int_i64min", Term(INT64_MIN), {131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128}},
      {"big_2_64", big_pow2(64), {131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"big_m2_64", big_pow2(64, true), {131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"float_1_5", Term(1.5), {131, 70, 63, 248, 0, 0, 0, 0, 0, 0}},
      {"float_m0", Term(-0.0), {131, 70, 128, 0, 0, 0, 0, 0, 0, 0}},
      {"float_0", Term(0.0), {131, 70, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"atom_ok", Term(atom("ok")), {131, 119, 2, 111, 107}},
      {"atom_empty", Term(atom("")), {131, 119, 0}},
      {"atom_e_acute", Term(atom("\xC3\xA9")), {131, 119, 2, 195, 169}},
      {"bin_empty", binary(""), {131, 109, 0, 0, 0, 0}},
      {"bin_abc", binary("abc"), {131, 109, 0, 0, 0, 3, 97, 98, 99}},
      {"bits", Term::bitstring(Bytes{1, 0x40}, 11), {131, 77, 0, 0, 0, 2, 3, 1, 64}},
      {"nil", Term(), {131, 106}},
      {"string", list(1, 2, 3), {131, 107, 0, 3, 1, 2, 3}},
      {"list_1_256", list(1, 256), {131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106}},
      {"improper", Term::list({Term(atom("a"))}, Term(atom("b"))), {131, 108, 0, 0, 0, 1, 119, 1, 97, 119, 1, 98}},
      {"improper2", Term::list({Term(1), Term(2)}, Term(3)), {131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3}},
      {"list_nil", list(Term()), {131, 108, 0, 0, 0, 1, 106, 106}},
      {"tuple0", tuple(), {131, 104, 0}},
      {"tuple_ok_1", tuple(atom("ok"), 1), {131, 104, 2, 119, 2, 111, 107, 97, 1}},
      {"map0", Term::map({}), {131, 116, 0, 0, 0, 0}},
      {"map_ab",
       Term::map({{Term(atom("b")), Term(2)}, {Term(atom("a")), Term(1)}}),
       {131, 116, 0, 0, 0, 2, 119, 1, 97, 97, 1, 119, 1, 98, 97, 2}},
      {"map_num",
       Term::map({{Term(1.0), Term(atom("a"))}, {Term(2), Term(atom("b"))}}),
       {131, 116, 0, 0, 0, 2, 97, 2, 119, 1, 98, 70, 63, 240, 0, 0, 0, 0, 0, 0, 119, 1, 97}},
      {"map_mixed",
       Term::map({{binary("k"), list(1)}, {tuple(atom("x")), Term::map({})}}),
       {131, 116, 0, 0, 0, 2, 104, 1, 119, 1, 120, 116, 0, 0, 0, 0, 109, 0, 0, 0, 1, 107, 107, 0, 1, 1}},
      {"pid", Term(pid("n@h", 1, 2, 3)), {131, 88, 119, 3, 110, 64, 104, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}},
      {"port_small", Term(Port{atom("n@h"), 5, 3}), {131, 89, 119, 3, 110, 64, 104, 0, 0, 0, 5, 0, 0, 0, 3}},
      {"port_big",
       Term(Port{atom("n@h"), 0x100000000ULL, 3}),
       {131, 120, 119, 3, 110, 64, 104, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3}},
      {"ref",
       Term(Reference{atom("n@h"), 3, {1, 2, 3}}),
       {131, 90, 0, 3, 119, 3, 110, 64, 104, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(encode(r.term) == r.bytes);
      auto d = decode(r.bytes);
      BOOST_REQUIRE_MESSAGE(d.ok(), d.message());
      BOOST_TEST(*d == r.term);
    }
  }
}

BOOST_AUTO_TEST_CASE(encode_large_forms_match_otp) {
  // Heads and sizes captured from OTP 25 for terms too big to paste.
  auto b = encode(big_pow2(2048));  // LARGE_BIG_EXT, 257 digit bytes
  BOOST_TEST(Bytes(b.begin(), b.begin() + 8) == (Bytes{131, 111, 0, 0, 1, 1, 0, 0}));
  BOOST_TEST(b.size() == 264u);

  std::string e200;
  for (int i = 0; i < 200; ++i) e200 += "\xC3\xA9";
  auto a = encode(Term(atom(e200)));  // ATOM_UTF8_EXT, 400 bytes
  BOOST_TEST(Bytes(a.begin(), a.begin() + 6) == (Bytes{131, 118, 1, 144, 195, 169}));
  BOOST_TEST(a.size() == 404u);

  TermVector els;
  for (int i = 1; i <= 300; ++i) els.emplace_back(i);
  auto t = encode(Term::tuple(els));
  BOOST_TEST(Bytes(t.begin(), t.begin() + 8) == (Bytes{131, 105, 0, 0, 1, 44, 97, 1}));
  BOOST_TEST(t.size() == 741u);

  auto l = encode(Term::list(TermVector(70000, Term(7))));  // too long for STRING_EXT
  BOOST_TEST(Bytes(l.begin(), l.begin() + 8) == (Bytes{131, 108, 0, 1, 17, 112, 97, 7}));
  BOOST_TEST(l.size() == 140007u);

  auto s = encode(Term::list(TermVector(65535, Term(7))));
  BOOST_TEST(Bytes(s.begin(), s.begin() + 8) == (Bytes{131, 107, 255, 255, 7, 7, 7, 7}));
  BOOST_TEST(s.size() == 65539u);

  for (const auto& bytes : {b, a, t, l, s}) BOOST_TEST(encode(*decode(bytes)) == bytes);
}

BOOST_AUTO_TEST_CASE(round_trips_every_type) {
  const std::vector<Term> terms = {
      Term(0),
      Term(-123456789),
      Term(INT64_MIN),
      big_pow2(64),
      big_pow2(2048, true),
      Term(3.25),
      Term(-1.0e300),
      Term(atom("hello")),
      Term(atom("\xE6\x97\xA5\xE6\x9C\xAC")),
      Term(atom(std::string(255, 'x'))),
      binary(""),
      binary(std::string(1000, '\0')),
      Term::bitstring(Bytes{0xFF}, 1),
      Term::bitstring(Bytes{1, 2, 3, 0xF0}, 28),
      Term(pid("a@127.0.0.1", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)),
      Term(Port{atom("a@h"), 0xFFFFFFFFFFFFFFFFULL, 7}),
      Term(Reference{atom("a@h"), 9, {1}}),
      Term(Reference{atom("a@h"), 9, {1, 2, 3, 4, 5}}),
      *decode(Bytes{131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2}),
      *decode(kLocalFun),
      tuple(),
      tuple(1, tuple(2, tuple(3))),
      Term(),
      list(1, 2, 3),
      list(-1, 300, atom("x")),
      Term::list({Term(1)}, binary("tail")),
      Term::map({}),
      Term::map({{Term(1), Term(2)}, {Term(1.0), Term(3)}, {binary("x"), list(Term())}}),
      make_mapset({Term(1), binary("two"), tuple(atom("three"))}),
  };
  for (const auto& t : terms) {
    BOOST_TEST_CONTEXT(t) {
      auto bytes = encode(t);
      auto back = decode(bytes);
      BOOST_REQUIRE_MESSAGE(back.ok(), back.message());
      BOOST_TEST(*back == t);
      BOOST_TEST(encode(*back) == bytes);
    }
  }
  // A fun keeps its exact bytes and exposes module/arity.
  auto f = decode(kLocalFun);
  BOOST_REQUIRE(f.ok());
  BOOST_REQUIRE(f->as_fun());
  BOOST_TEST(f->as_fun()->module.text() == "g");
  BOOST_TEST(f->as_fun()->arity == 1u);
  BOOST_TEST(!f->as_fun()->is_export);
  BOOST_TEST(encode(*f) == kLocalFun);
  auto ex = decode(Bytes{131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2});
  BOOST_REQUIRE(ex.ok());
  BOOST_TEST(to_string(*ex) == "fun lists:map/2");
}

BOOST_AUTO_TEST_CASE(decodes_older_and_alternative_encodings) {
  // ATOM_EXT / SMALL_ATOM_EXT are Latin-1: 'é' (0xE9) becomes UTF-8.
  BOOST_TEST(*decode(Bytes{131, 100, 0, 1, 0xE9}) == Term(atom("\xC3\xA9")));
  BOOST_TEST(*decode(Bytes{131, 115, 2, 'o', 'k'}) == Term(atom("ok")));
  BOOST_TEST(*decode(Bytes{131, 118, 0, 2, 'o', 'k'}) == Term(atom("ok")));
  // An atom may contain NUL.
  BOOST_TEST(decode(Bytes{131, 119, 3, 'a', 0, 'b'})->as_atom()->text() == std::string_view("a\0b", 3));
  // FLOAT_EXT: 31 bytes of "%.20e" text.
  std::string f = "1.50000000000000000000e+00";
  Bytes fb{131, 99};
  fb.insert(fb.end(), f.begin(), f.end());
  fb.resize(2 + 31, 0);
  BOOST_TEST(*decode(fb) == Term(1.5));
  // FLOAT_EXT text need not contain a NUL (ei would sscanf past it): a fun
  // whose last free variable is such a float, at the very end of the input.
  {
    Bytes fun = kLocalFun;
    fun[5] = static_cast<std::uint8_t>(fun[5] + 32);  // Size
    fun[2 + 4 + 1 + 16 + 4 + 3] = 1;                  // NumFree (after 131, tag, Size, Arity, Uniq, Index)
    fun.push_back(99);
    for (char c : std::string("1.5")) fun.push_back(static_cast<std::uint8_t>(c));
    fun.resize(fun.size() + 28, 'z');
    auto d = decode(fun);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.message());
    BOOST_TEST(d->as_fun()->encoded.size() == kLocalFun.size() - 1 + 9);  // canonical NEW_FLOAT_EXT
    BOOST_TEST(encode(*decode(encode(*d))) == encode(*d));
  }
  // Non-normalised bignums become small integers.
  BOOST_TEST(*decode(Bytes{131, 110, 2, 1, 5, 0}) == Term(-5));
  BOOST_TEST(*decode(Bytes{131, 111, 0, 0, 0, 1, 0, 7}) == Term(7));
  // PID_EXT, NEW_PORT_EXT, PORT_EXT, NEW_REFERENCE_EXT, REFERENCE_EXT.
  BOOST_TEST(*decode(Bytes{131, 103, 119, 1, 'n', 0, 0, 0, 1, 0, 0, 0, 2, 3}) == Term(pid("n", 1, 2, 3)));
  BOOST_TEST(*decode(Bytes{131, 102, 119, 1, 'n', 0, 0, 0, 5, 2}) == Term(Port{atom("n"), 5, 2}));
  BOOST_TEST(*decode(Bytes{131, 114, 0, 2, 119, 1, 'n', 1, 0, 0, 0, 7, 0, 0, 0, 8}) ==
             Term(Reference{atom("n"), 1, {7, 8}}));
  BOOST_TEST(*decode(Bytes{131, 101, 119, 1, 'n', 0, 0, 0, 7, 1}) == Term(Reference{atom("n"), 1, {7}}));
  // A list whose tail is again a LIST_EXT / STRING_EXT flattens.
  BOOST_TEST(*decode(Bytes{131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106}) == list(1, 2));
  BOOST_TEST(*decode(Bytes{131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 2, 3}) == list(1, 2, 3));
  BOOST_TEST(*decode(Bytes{131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3}) ==
             Term::list({Term(1), Term(2)}, Term(3)));
  // STRING_EXT decodes to a list of small integers.
  BOOST_TEST(*decode(Bytes{131, 107, 0, 2, 'h', 'i'}) == list('h', 'i'));
  // Unsorted MAP_EXT (as HAMT maps are sent) is accepted and sorted.
  BOOST_TEST(*decode(Bytes{131, 116, 0, 0, 0, 2, 97, 2, 97, 0, 97, 1, 97, 0}) ==
             Term::map({{Term(1), Term(0)}, {Term(2), Term(0)}}));
}

BOOST_AUTO_TEST_CASE(malformed_input_yields_the_exact_error) {
  struct Row {
    const char* name;
    Bytes bytes;
    TermError error;
  };
  Bytes latin1_256 = cat({{131, 100, 1, 0}, Bytes(256, 'a')});
  std::string utf8_256;
  for (int i = 0; i < 256; ++i) utf8_256 += "\xC3\xA9";  // 256 chars, 512 bytes
  Bytes utf8_long = cat({{131, 118, 2, 0}, Bytes(utf8_256.begin(), utf8_256.end())});
  Bytes float_garbage = cat({{131, 99}, Bytes(31, 'z')});
  const std::vector<Row> rows = {
      {"empty", {}, TermError::truncated},
      {"version only", {131}, TermError::truncated},
      {"bad version", {130, 97, 1}, TermError::bad_version},
      {"small int cut", {131, 97}, TermError::truncated},
      {"int cut", {131, 98, 0, 0}, TermError::truncated},
      {"trailing", {131, 97, 1, 0}, TermError::trailing_bytes},
      {"unknown tag", {131, 200}, TermError::unknown_tag},
      {"tag 0", {131, 0}, TermError::unknown_tag},
      {"compressed", {131, 80, 0, 0, 0, 1, 120, 156, 0}, TermError::unsupported_tag},
      {"atom cache ref", {131, 82, 0}, TermError::unsupported_tag},
      {"old fun", {131, 117, 0, 0, 0, 0}, TermError::unsupported_tag},
      {"local ext", {131, 121, 0}, TermError::unsupported_tag},
      {"list 4G", {131, 108, 255, 255, 255, 255, 106}, TermError::absurd_length},
      {"list 4G in 20 bytes", cat({{131, 108, 255, 255, 255, 255}, Bytes(14, 106)}), TermError::absurd_length},
      {"list no tail", {131, 108, 0, 0, 0, 1, 97, 1}, TermError::truncated},
      {"list count = bytes", {131, 108, 0, 0, 0, 2, 97, 1}, TermError::absurd_length},
      {"tuple too many", {131, 104, 3, 97, 1}, TermError::absurd_length},
      {"large tuple 4G", {131, 105, 255, 255, 255, 255}, TermError::absurd_length},
      {"map 2G", {131, 116, 127, 255, 255, 255, 106, 106}, TermError::absurd_length},
      {"map no value", {131, 116, 0, 0, 0, 1, 97, 1}, TermError::truncated},
      {"nested counts exceed input", {131, 104, 2, 104, 3, 97, 1, 106}, TermError::absurd_length},
      {"duplicate key", {131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3}, TermError::duplicate_map_key},
      {"duplicate key 1.0/-0.0",
       {131, 116, 0, 0, 0, 2, 70, 0, 0, 0, 0, 0, 0, 0, 0, 106, 70, 128, 0, 0, 0, 0, 0, 0, 0, 106},
       TermError::duplicate_map_key},
      {"atom cut", {131, 119, 3, 97, 98}, TermError::truncated},
      {"atom header cut", {131, 118, 0}, TermError::truncated},
      {"latin1 atom 256", latin1_256, TermError::atom_too_long},
      {"utf8 atom 256 chars", utf8_long, TermError::atom_too_long},
      {"utf8 bad continuation", {131, 119, 2, 0xC3, 0x28}, TermError::invalid_utf8_atom},
      {"utf8 overlong", {131, 118, 0, 2, 0xC0, 0x80}, TermError::invalid_utf8_atom},
      {"utf8 surrogate", {131, 119, 3, 0xED, 0xA0, 0x80}, TermError::invalid_utf8_atom},
      {"utf8 cut sequence", {131, 119, 1, 0xE6}, TermError::invalid_utf8_atom},
      {"big bad sign", {131, 110, 1, 2, 5}, TermError::bad_bigint},
      {"big cut", {131, 110, 2, 0, 5}, TermError::truncated},
      {"large big cut", {131, 111, 255, 255, 255, 255, 0, 1}, TermError::truncated},
      {"float inf", {131, 70, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0}, TermError::bad_float},
      {"float nan", {131, 70, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0}, TermError::bad_float},
      {"float cut", {131, 70, 0x3F, 0xF0}, TermError::truncated},
      {"old float garbage", float_garbage, TermError::bad_float},
      {"old float cut", {131, 99, '1', '.', '0'}, TermError::truncated},
      {"binary cut", {131, 109, 0, 0, 0, 5, 1, 2}, TermError::truncated},
      {"binary 4G", {131, 109, 255, 255, 255, 255, 1}, TermError::truncated},
      {"bits 0 of 1 byte", {131, 77, 0, 0, 0, 1, 0, 5}, TermError::bad_length},
      {"bits 9", {131, 77, 0, 0, 0, 1, 9, 5}, TermError::bad_length},
      {"bits no bytes", {131, 77, 0, 0, 0, 0, 3}, TermError::bad_length},
      {"pid node not atom", {131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, TermError::expected_atom},
      {"pid cut", {131, 88, 119, 1, 'n', 0, 0, 0, 1}, TermError::truncated},
      {"port cut", {131, 120, 119, 1, 'n', 0, 0, 0, 1}, TermError::truncated},
      {"ref 6 words", cat({{131, 90, 0, 6, 119, 1, 'n'}, Bytes(28, 0)}), TermError::bad_length},
      {"ref 0 words", {131, 90, 0, 0, 119, 1, 'n', 0, 0, 0, 0}, TermError::bad_length},
      {"ref cut", {131, 90, 0, 3, 119, 1, 'n', 0, 0, 0, 0, 0, 0, 0, 1}, TermError::truncated},
      {"fun size too small", {131, 112, 0, 0, 0, 5, 0, 0, 0, 0, 0}, TermError::bad_length},
      {"fun cut", {131, 112, 0, 0, 0, 67, 1, 2, 3}, TermError::truncated},
      {"export arity not small int",
       {131, 113, 119, 1, 'm', 119, 1, 'f', 98, 0, 0, 0, 2},
       TermError::expected_integer},
      {"export module not atom", {131, 113, 97, 1, 119, 1, 'f', 97, 2}, TermError::expected_atom},
      {"export cut", {131, 113, 119, 1, 'm', 119, 1, 'f'}, TermError::truncated},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      auto d = decode(r.bytes);
      BOOST_TEST(!d.ok());
      BOOST_TEST(d.error() == make_error_code(r.error), d.error().message() << " != " << make_error_code(r.error).message());
    }
  }
  // Every strict prefix of valid encodings fails cleanly with truncated.
  for (Bytes full : {kLocalFun, encode(make_mapset({Term(1), binary("x")})),
                     encode(tuple(pid("a@b", 1, 2, 3), Reference{atom("a@b"), 1, {1, 2, 3}}, 1.5, big_pow2(100)))}) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      auto d = decode(std::span(full.data(), n));
      BOOST_TEST_CONTEXT("prefix " << n) {
        BOOST_TEST(!d.ok());
        // A fun cut anywhere inside its Size is reported as truncated too.
        BOOST_TEST((d.error() == TermError::truncated || d.error() == TermError::absurd_length));
      }
    }
  }
  // Flip every byte of a fun: decoding either fails with a named error or
  // yields a term that survives encode/decode unchanged; some flips (inside
  // the MD5, the index, a free variable) must still decode.
  std::size_t decoded = 0;
  for (std::size_t i = 1; i < kLocalFun.size(); ++i) {
    Bytes m = kLocalFun;
    m[i] ^= 0x55;
    auto d = decode(m);
    BOOST_TEST_CONTEXT("flipped byte " << i) {
      if (!d) {
        BOOST_TEST((d.error().category() == make_error_code(TermError::truncated).category()), d.error().message());
        continue;
      }
      ++decoded;
      auto again = decode(encode(*d));
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(*again == *d);
    }
  }
  BOOST_TEST(decoded > 0u);
}

BOOST_AUTO_TEST_CASE(error_category) {
  std::error_code ec = TermError::truncated;
  BOOST_TEST(std::string(ec.category().name()) == "hc.term");
  BOOST_TEST(ec.message() == "term truncated");
  Result<Term> r = TermError::bad_version;
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.message() == make_error_code(TermError::bad_version).message());
  BOOST_CHECK_THROW((void)r.value(), std::system_error);
  Result<Term> good = Term(1);
  BOOST_TEST(good.ok());
  BOOST_TEST(!good.error());
  BOOST_TEST(good.message().empty());
  Result<void> v;
  BOOST_TEST(v.ok());
  Result<void> bad = TermError::truncated;
  BOOST_TEST(!bad.ok());
}

// The detail rides next to the code: error() still compares as the code
// (and its condition), message() appends the detail, and passing the error
// on through failure() keeps both.
BOOST_AUTO_TEST_CASE(result_keeps_a_detail_next_to_the_code) {
  Result<Term> r = Error(TermError::expected_atom, "node of a pid");
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.error() == make_error_code(TermError::expected_atom));
  BOOST_TEST((r.error() == errc::protocol_violation));
  BOOST_TEST(r.what() == "node of a pid");
  BOOST_TEST(r.message() == "expected an atom: node of a pid");
  Result<int> passed = r.failure();
  BOOST_TEST(passed.message() == r.message());
  Result<void> v = passed.failure();
  BOOST_TEST(v.what() == "node of a pid");
  BOOST_TEST((v.error() == errc::protocol_violation));
  try {
    (void)r.value();
    BOOST_FAIL("value() on an error must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code() == r.error());
    BOOST_TEST(std::string(e.what()).find("node of a pid") != std::string::npos);
  }
  Result<Term> plain = TermError::truncated;  // no detail: message() is the code's alone
  BOOST_TEST(plain.what().empty());
  BOOST_TEST(plain.message() == "term truncated");
  Result<Term> good = Term(1);
  BOOST_TEST(good.what().empty());
  BOOST_TEST(!good.failure().code);
}

// Issue 11: a peer sending endless fresh atoms gets an error, not unbounded
// memory. The limit is lowered for the test (the default is the BEAM's 1 048 576).
BOOST_AUTO_TEST_CASE(fresh_atoms_beyond_the_limit_are_an_error) {
  BOOST_TEST(atom_limit() == kDefaultAtomLimit);
  struct Restore {
    ~Restore() { set_atom_limit(kDefaultAtomLimit); }
  } restore;
  auto small_atom = [](const std::string& text) {
    Bytes b{131, 119, static_cast<std::uint8_t>(text.size())};
    b.insert(b.end(), text.begin(), text.end());
    return b;
  };
  const std::string prefix = "hc_atom_limit_test_";
  set_atom_limit(atom_count() + 3);
  for (int i = 0; i < 3; ++i) {
    auto r = decode(small_atom(prefix + std::to_string(i)));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  }
  auto full = decode(small_atom(prefix + "one_too_many"));
  BOOST_TEST(full.error() == make_error_code(TermError::atom_table_full));
  BOOST_TEST(decode(small_atom(prefix + "0")).ok());  // existing atoms still decode
  BOOST_TEST(decode(small_atom("ok")).ok());
  BOOST_TEST(Atom(prefix + "made_by_our_code").text() == prefix + "made_by_our_code");  // not counted
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_bounded_by_memory_not_depth) {
  // The BEAM's binary_to_term accepts these; so must we (the old limit was
  // 10 000 levels). [[[...[]...]]]: each level a LIST_EXT of one element in
  // head position.
  for (std::size_t deep : {std::size_t{20'000}, std::size_t{200'000}}) {
    Bytes lists = cat({{131}, repeat({108, 0, 0, 0, 1}, deep), {106}, repeat({106}, deep)});
    auto l = decode(lists);
    BOOST_REQUIRE_MESSAGE(l.ok(), l.message());
    BOOST_TEST((encode(*l) == lists));
    Bytes tuples = cat({{131}, repeat({104, 1}, deep), {97, 0}});
    auto t = decode(tuples);
    BOOST_REQUIRE_MESSAGE(t.ok(), t.message());
    BOOST_TEST((encode(*t) == tuples));
    Bytes maps = cat({{131}, repeat({116, 0, 0, 0, 1, 106}, deep), {106}});
    auto m = decode(maps);
    BOOST_REQUIRE_MESSAGE(m.ok(), m.message());
    BOOST_TEST((encode(*m) == maps));
  }
  // The bound is on the decoder's stack memory: millions of levels.
  BOOST_TEST(max_nesting_levels() >= 2'000'000u);
  const std::size_t deep = 100'000;

  // A long chain of improper-tail LIST_EXTs is a flat list, not nesting.
  Bytes chain = cat({{131}, repeat({108, 0, 0, 0, 1, 97, 1}, deep), {106}});
  auto c = decode(chain);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.message());
  BOOST_TEST(c->list_elements().size() == deep);
  BOOST_TEST(c->is_proper_list());
}

BOOST_AUTO_TEST_CASE(absurd_lengths_fail_fast) {
  // Each element needs at least one byte, so these fail before allocating.
  BOOST_TEST(decode(Bytes{131, 108, 255, 255, 255, 255, 97, 1, 97, 2, 97, 3, 97, 4, 97, 5, 97, 6, 97, 7, 106}).error() ==
             make_error_code(TermError::absurd_length));
  BOOST_TEST(decode(Bytes{131, 116, 255, 255, 255, 255, 97, 1}).error() == make_error_code(TermError::absurd_length));
  BOOST_TEST(decode(Bytes{131, 105, 255, 255, 255, 255, 97, 1}).error() == make_error_code(TermError::absurd_length));
  // Nested claims are charged together: two lists of 4 elements cannot fit in 8 bytes.
  BOOST_TEST(decode(cat({{131, 104, 2, 108, 0, 0, 0, 4, 108, 0, 0, 0, 4}, Bytes(8, 106)})).error() ==
             make_error_code(TermError::absurd_length));
  // Fun NumFree larger than the fun.
  Bytes fun = kLocalFun;
  fun[2 + 4 + 1 + 16 + 4 + 3] = 0xFF;  // NumFree (after 131, tag, Size, Arity, Uniq, Index)
  fun[2 + 4 + 1 + 16 + 4] = 0x7F;
  BOOST_TEST(decode(fun).error() == make_error_code(TermError::absurd_length));
}

BOOST_AUTO_TEST_CASE(decode_at_reads_back_to_back_terms) {
  Bytes stream = cat({encode(tuple(2, atom("a"), atom("b"))), encode(binary("payload")), {131, 97}});
  std::size_t i = 0;
  auto a = decode_at(stream, i);
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(*a == tuple(2, atom("a"), atom("b")));
  auto b = decode_at(stream, i);
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(*b == binary("payload"));
  std::size_t before = i;
  auto c = decode_at(stream, i);
  BOOST_TEST(c.error() == make_error_code(TermError::truncated));
  BOOST_TEST(i == before);  // unchanged on failure
  std::size_t end = stream.size();
  BOOST_TEST(decode_at(stream, end).error() == make_error_code(TermError::truncated));
  std::size_t zero = 0;
  Bytes body{97, 5, 106};
  BOOST_TEST(*decode_body_at(body, zero) == Term(5));
  BOOST_TEST(zero == 2u);
  std::size_t bad = 0;
  BOOST_TEST(decode_at(body, bad).error() == make_error_code(TermError::bad_version));
}

BOOST_AUTO_TEST_CASE(encode_to_appends_without_version) {
  Bytes out{1, 2};
  encode_to(out, Term(5));
  BOOST_TEST(out == (Bytes{1, 2, 97, 5}));
  ei_x_buff x;
  ei_x_new_with_version(&x);
  encode_to(x, tuple(atom("ok"), 1));
  Bytes got(x.buff, x.buff + x.index);
  BOOST_TEST(got == encode(tuple(atom("ok"), 1)));
  ei_x_free(&x);
}

// Appending many small terms to one large buffer is amortised O(appended
// bytes): the encoder must not reallocate (or refill) the whole vector per
// call. Counted as reallocations, so the check is deterministic; it stops at
// the first excess instead of running a quadratic loop to the end.
BOOST_AUTO_TEST_CASE(appending_many_terms_grows_geometrically) {
  constexpr int kTerms = 200'000;
  const std::vector<Term> samples{tuple(atom("ok"), 1), Term(7), atom("lab_a@127.0.0.1"), binary("payload"),
                                  list(1, 2, 300), Term::map({{atom("k"), 1.5}})};
  Bytes out;
  Bytes expected;
  std::size_t reallocations = 0;
  std::size_t capacity = out.capacity();
  for (int i = 0; i < kTerms; ++i) {
    const Term& t = samples[static_cast<std::size_t>(i) % samples.size()];
    encode_to(out, t);
    if (out.capacity() != capacity) {
      capacity = out.capacity();
      if (++reallocations > 40) break;  // 2x growth to a few MB needs ~20
    }
  }
  BOOST_TEST(reallocations <= 40u);
  for (int i = 0; i < kTerms; ++i) {
    Bytes one = encode(samples[static_cast<std::size_t>(i) % samples.size()]);
    expected.insert(expected.end(), one.begin() + 1, one.end());
  }
  BOOST_TEST(out.size() == expected.size());
  BOOST_TEST((out == expected));
  // The size is trimmed to the bytes written and spare capacity is reused.
  out.reserve(out.size() + 1024);
  const auto* data = out.data();
  encode_to(out, tuple(atom("ok"), binary(std::string(900, 'x'))));
  BOOST_TEST(out.data() == data);
  BOOST_TEST(out.size() == expected.size() + encode(tuple(atom("ok"), binary(std::string(900, 'x')))).size() - 1);
}

BOOST_AUTO_TEST_SUITE_END()
