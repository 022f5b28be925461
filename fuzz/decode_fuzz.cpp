// libFuzzer target for the term decoder (interop/codec.hpp).
//
// Properties checked on every input:
// - decode never crashes, reads out of bounds or allocates beyond what the
//   input can justify (ASan/UBSan and libFuzzer's -rss_limit_mb watch that);
// - whatever decodes re-encodes, and the re-encoding decodes to an equal
//   term whose encoding is the same bytes (encode is a canonical fixpoint);
// - equality, both orders, hashing and printing agree on the decoded term;
// - decode_at walks a stream of back-to-back terms without getting stuck.
//
// Seed corpus: run with HC_FUZZ_MAKE_CORPUS=<dir> (and HC_FIXTURES_DIR) to
// write the encodings of small subterms of the recorded fixtures into <dir>
// and exit; fuzz/run-fuzz does that once per build directory.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "interop/codec.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "decode_fuzz property violated: %s\n", what);
  std::abort();
}

void make_corpus(const char* out_dir, const char* fixtures_dir) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  std::set<std::vector<std::uint8_t>> seeds;
  for (const auto& e : fs::directory_iterator(fixtures_dir)) {
    if (e.path().extension() != ".etf") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto t = hc::decode(bytes);
    if (!t) continue;
    std::vector<const hc::Term*> todo{&*t};
    while (!todo.empty() && seeds.size() < 400) {
      const hc::Term* x = todo.back();
      todo.pop_back();
      auto enc = hc::encode(*x);
      if (enc.size() >= 3 && enc.size() <= 600) seeds.insert(std::move(enc));
      for (const auto& c : x->tuple_elements()) todo.push_back(&c);
      for (const auto& c : x->list_elements()) todo.push_back(&c);
      for (const auto& [k, v] : x->map_entries()) {
        todo.push_back(&k);
        todo.push_back(&v);
      }
    }
  }
  int n = 0;
  for (const auto& s : seeds) {
    std::ofstream out(fs::path(out_dir) / ("seed_" + std::to_string(n++)), std::ios::binary);
    out.write(reinterpret_cast<const char*>(s.data()), static_cast<std::streamsize>(s.size()));
  }
  std::fprintf(stderr, "decode_fuzz: wrote %d seeds to %s\n", n, out_dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("HC_FUZZ_MAKE_CORPUS")) {
    const char* fixtures = std::getenv("HC_FIXTURES_DIR");
    if (!fixtures) {
      std::fprintf(stderr, "decode_fuzz: HC_FIXTURES_DIR not set\n");
      std::exit(2);
    }
    make_corpus(dir, fixtures);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);

  // The input as one term_to_binary blob, and its body without the version byte.
  auto t = hc::decode(bytes);
  if (t) {
    const hc::Term& term = *t;
    auto enc = hc::encode(term);
    auto back = hc::decode(enc);
    if (!back) fail("re-encoded term does not decode");
    if (!(*back == term)) fail("decode(encode(t)) != t");
    if (hc::encode(*back) != enc) fail("encode is not a fixpoint");
    if ((term <=> *back) != 0) fail("exact order disagrees with ==");
    if (hc::erlang_compare(term, *back) != 0) fail("erlang_compare(t, t) != 0");
    if (term.hash() != back->hash()) fail("equal terms hash differently");
    (void)hc::to_string(term);
  }
  if (size > 0) {
    std::size_t i = 0;
    auto body = hc::decode_body_at(bytes, i);
    if (body && (i == 0 || i > size)) fail("decode_body_at did not advance correctly");
  }

  // The input as a stream of 131-prefixed terms, as the node layer reads them.
  std::size_t index = 0;
  while (index < size) {
    std::size_t before = index;
    auto r = hc::decode_at(bytes, index);
    if (!r) {
      if (index != before) fail("decode_at moved the index on failure");
      break;
    }
    if (index <= before) fail("decode_at did not advance");
  }
  return 0;
}
