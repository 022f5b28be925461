#include "cnode/md5.hpp"

#include <boost/test/unit_test.hpp>
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

// The distribution digest is md5(Cookie ++ integer_to_list(Challenge)).
BOOST_AUTO_TEST_CASE(handshake_digest_is_cookie_then_decimal_challenge) {
  BOOST_TEST(hex(handshake_digest(310461033, "secret")) == hex(md5("secret310461033")));
  BOOST_TEST(hex(handshake_digest(0, "c")) == hex(md5("c0")));
  BOOST_TEST(hex(handshake_digest(4294967295u, "c")) == hex(md5("c4294967295")));
}

BOOST_AUTO_TEST_SUITE_END()
