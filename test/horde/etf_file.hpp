// Reads a recorded term (term_to_binary output) from a file: the golden
// tables the strategy tests compare against.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "interop/codec.hpp"

namespace hc::test {

// Fails the test (BOOST_REQUIRE) when the file is missing or does not decode.
inline Term read_etf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "missing " << path);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto t = decode(bytes);
  BOOST_REQUIRE_MESSAGE(t.ok(), path << ": " << t.message());
  return *t;
}

}  // namespace hc::test
