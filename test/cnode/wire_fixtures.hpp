// Loads the recorded wire fixtures (test/fixtures/*_wire.frames.etf):
// a list of maps, one per epmd exchange, handshake message or dist frame.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "interop/codec.hpp"
#include "interop/term.hpp"

namespace hc::test {

inline std::vector<Term> load_wire_fixture(const std::string& file) {
  std::ifstream in(std::string(HC_FIXTURES_DIR) + "/" + file, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto t = hc::decode(bytes);
  if (!t || !t->is_proper_list()) return {};
  auto e = t->list_elements();
  return std::vector<Term>(e.begin(), e.end());
}

inline std::vector<std::uint8_t> raw_of(const Term& event) {
  const Term* raw = event.map_get("raw");
  if (!raw || !raw->as_binary()) return {};
  auto s = *raw->as_binary();
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

inline bool kind_is(const Term& event, std::string_view kind) {
  const Term* k = event.map_get("kind");
  return k && k->is_atom(kind);
}

}  // namespace hc::test
