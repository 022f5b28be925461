#include "cnode/md5.hpp"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdio>
#include <string>

using namespace hc::cnode;

namespace {
std::string hex(const Md5Digest& d) {
  std::string s;
  char b[3];
  for (auto x : d) {
    std::snprintf(b, sizeof b, "%02x", x);
    s += b;
  }
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(md5_test)

// RFC 1321, appendix A.5.
BOOST_AUTO_TEST_CASE(rfc1321_vectors) {
  BOOST_TEST(hex(md5("")) == "d41d8cd98f00b204e9800998ecf8427e");
  BOOST_TEST(hex(md5("a")) == "0cc175b9c0f1b6a831c399e269772661");
  BOOST_TEST(hex(md5("abc")) == "900150983cd24fb0d6963f7d28e17f72");
  BOOST_TEST(hex(md5("message digest")) == "f96b697d7cb7938d525a2f31aaf161d0");
  BOOST_TEST(hex(md5("abcdefghijklmnopqrstuvwxyz")) == "c3fcd3d76192e4007dfb496cca67e13b");
  BOOST_TEST(hex(md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")) ==
             "d174ab98d277d9f5a5611c2c9f419d9f");
  BOOST_TEST(hex(md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890")) ==
             "57edf4a22be3c955ac49da2e2107b67a");
}

BOOST_AUTO_TEST_CASE(incremental_equals_one_shot) {
  std::string text(1000, 'x');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = char('a' + i % 26);
  for (std::size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 999u}) {
    Md5 m;
    m.update(std::string_view(text).substr(0, split));
    m.update(std::string_view(text).substr(split));
    BOOST_TEST(hex(m.finish()) == hex(md5(text)));
  }
}

// The distribution digest, against values recorded from OTP 25.2's
// dist_util:gen_digest/2 (erlang:md5([Cookie | integer_to_list(Challenge)])):
//   erl -noshell -eval '[io:format("~s~n", [binary:encode_hex(erlang:md5([C|integer_to_list(N)]))])
//                        || {C, N} <- [{"secret", 310461033}, ...]], halt().'
BOOST_AUTO_TEST_CASE(handshake_digest_matches_otp) {
  auto upper = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  };
  BOOST_TEST(upper(hex(handshake_digest(310461033, "secret"))) == "CDF58D79BE72FC6B0CEE18373B5C27F2");
  BOOST_TEST(upper(hex(handshake_digest(0, "c"))) == "B0FCE403C178FA57404C1CC4176547A8");
  BOOST_TEST(upper(hex(handshake_digest(4294967295u, "c"))) == "B6B9428EF079FC89EA04BB26BBF1A0DA");
  BOOST_TEST(upper(hex(handshake_digest(1234, "ck"))) == "8110622F874A023C01C65CF754CD3ECF");
  BOOST_TEST(upper(hex(handshake_digest(0x0A0B0C0D, "ck"))) == "0A67DE28E9622DA7629FE0631DDF4FAC");
}

BOOST_AUTO_TEST_SUITE_END()
