// Live check of phash2 and the codec against the installed `erl`: the BEAM
// generates a few thousand random terms of every type (erlang_harness/
// random_terms.erl) with a seed that changes per run, and writes them with
// their phash2/1, phash2/2 (2^32, 2^32 - 1) and term_to_binary(T,
// [{minor_version, 2}]). We decode the terms, hash them, re-encode them and
// compare; then `horde-cnode phash2` runs on the same file.
//
// The seed is printed; set HC_SEED=<n> to replay a failing run.
#include "interop/phash2.hpp"

#include <boost/test/unit_test.hpp>

#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "interop/codec.hpp"
#include "interop/term.hpp"

extern char** environ;

using namespace hc;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k2pow32 = std::uint64_t{1} << 32;
constexpr int kRandomTerms = 3000;

std::optional<fs::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

using test::ChildProcess;
using test::TempDir;

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs a program to completion; fails the test with its stderr otherwise.
void run_ok(const std::vector<std::string>& argv, const TempDir& dir, std::chrono::seconds timeout,
            std::string* out = nullptr) {
  ChildProcess child(argv, dir);
  const std::optional<int> status = child.wait_for(timeout);
  BOOST_REQUIRE_MESSAGE(status.has_value(), argv[0] << " did not finish within " << timeout.count() << " s");
  BOOST_REQUIRE_MESSAGE(*status == 0, argv[0] << " exited with " << *status << ": " << child.err() << child.out());
  if (out) *out = child.out();
}

std::uint64_t choose_seed() {
  if (const char* forced = std::getenv("HC_SEED"); forced && *forced) return std::stoull(forced);
  return std::random_device{}() % 1'000'000'000;
}

// The BEAM run shared by the test cases of this suite: a suite fixture, so it
// runs once and its terms are released when the suite ends (not at exit).
struct BeamTerms;
BeamTerms* g_beam = nullptr;

struct BeamTerms {
  TempDir dir;
  std::uint64_t seed = choose_seed();
  fs::path terms_file;
  Term terms;
  Term expected;

  BeamTerms() {
    const auto erl = find_program("erl");
    const auto erlc = find_program("erlc");
    BOOST_REQUIRE_MESSAGE(erl && erlc, "erl/erlc not found in PATH");
    BOOST_TEST_MESSAGE("phash2_beam_test: seed " << seed << " (replay with HC_SEED=" << seed << ")");
    run_ok({erlc->string(), "-o", dir.path().string(),
            std::string(HC_SOURCE_DIR) + "/erlang_harness/random_terms.erl"},
           dir, std::chrono::seconds(120));
    std::string out;
    run_ok({erl->string(), "-noshell", "-noinput", "-pa", dir.path().string(), "-run", "random_terms", "main",
            dir.path().string(), std::to_string(seed), std::to_string(kRandomTerms)},
           dir, std::chrono::seconds(240), &out);
    BOOST_TEST_MESSAGE(out);
    terms_file = dir.path() / "terms.etf";
    Result<Term> t = decode(read_bytes(terms_file));
    BOOST_REQUIRE_MESSAGE(t, "decoding terms.etf failed: " << t.message());
    Result<Term> e = decode(read_bytes(dir.path() / "expected.etf"));
    BOOST_REQUIRE_MESSAGE(e, "decoding expected.etf failed: " << e.message());
    terms = std::move(*t);
    expected = std::move(*e);
    BOOST_REQUIRE(terms.is_proper_list() && expected.is_proper_list());
    BOOST_REQUIRE(terms.list_elements().size() == expected.list_elements().size());
    g_beam = this;
  }
  ~BeamTerms() { g_beam = nullptr; }
};

BeamTerms& beam_terms() {
  BOOST_REQUIRE_MESSAGE(g_beam != nullptr, "the BEAM run failed (see the suite set-up)");
  return *g_beam;
}

bool has_flag(const Term& flags, std::string_view name) {
  for (const Term& f : flags.list_elements()) {
    if (f.is_atom(name)) return true;
  }
  return false;
}

std::string hex(std::span<const std::uint8_t> bytes, std::size_t limit = 64) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 15];
  }
  if (bytes.size() > limit) s += "...";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(phash2_beam_test, *boost::unit_test::fixture<BeamTerms>())

BOOST_AUTO_TEST_CASE(random_terms_hash_and_encode_like_the_beam) {
  BeamTerms& beam = beam_terms();
  const auto terms = beam.terms.list_elements();
  const auto expected = beam.expected.list_elements();
  std::size_t hash_mismatches = 0;
  std::size_t encode_mismatches = 0;
  std::size_t encode_compared = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    BOOST_REQUIRE(expected[i].is_tuple(5));
    const auto e = expected[i].tuple_elements();
    const Term got[3] = {Term(static_cast<std::int64_t>(phash2(t))),
                         Term(static_cast<std::int64_t>(phash2(t, k2pow32))),
                         Term(static_cast<std::int64_t>(phash2(t, k2pow32 - 1)))};
    if (got[0] != e[0] || got[1] != e[1] || got[2] != e[2]) {
      if (++hash_mismatches <= 30) {
        BOOST_ERROR("seed " << beam.seed << " term " << i << ": " << to_string(t).substr(0, 300) << "\n  beam "
                            << e[0] << ' ' << e[1] << ' ' << e[2] << "\n  ours " << got[0] << ' ' << got[1] << ' '
                            << got[2]);
      }
    }
    // Byte-exact encoding, except where the BEAM's bytes depend on its
    // internals (HAMT key order) or the term keeps received bytes (hc::Fun
    // re-emits its minor-1 encoding, the BEAM re-encodes with UTF-8 atoms).
    if (has_flag(e[4], "hamt") || has_flag(e[4], "fun_term")) continue;
    ++encode_compared;
    const std::vector<std::uint8_t> ours = encode(t);
    const auto beam_bytes = e[3].as_binary();
    BOOST_REQUIRE(beam_bytes.has_value());
    const std::span<const std::uint8_t> theirs(reinterpret_cast<const std::uint8_t*>(beam_bytes->data()),
                                               beam_bytes->size());
    if (!std::equal(ours.begin(), ours.end(), theirs.begin(), theirs.end())) {
      if (++encode_mismatches <= 30) {
        BOOST_ERROR("seed " << beam.seed << " term " << i << " encodes differently: " << to_string(t).substr(0, 200)
                            << "\n  beam " << hex(theirs) << "\n  ours " << hex(ours));
      }
    }
  }
  BOOST_TEST_MESSAGE(terms.size() << " terms hashed, " << encode_compared << " encodings compared");
  BOOST_TEST(hash_mismatches == 0u, "seed " << beam.seed << ": " << hash_mismatches << " phash2 mismatches");
  BOOST_TEST(encode_mismatches == 0u, "seed " << beam.seed << ": " << encode_mismatches << " encode mismatches");
  BOOST_TEST(encode_compared > terms.size() / 2);
}

BOOST_AUTO_TEST_CASE(cli_prints_the_beams_hashes) {
  BeamTerms& beam = beam_terms();
  const fs::path exe = fs::path(HC_BINARY_DIR) / "app" / "horde-cnode";
  BOOST_REQUIRE_MESSAGE(fs::exists(exe), exe << " is not built (cmake --build ... --target horde-cnode)");
  std::string out;
  run_ok({exe.string(), "phash2", beam.terms_file.string()}, beam.dir, std::chrono::seconds(60), &out);
  std::istringstream lines(out);
  std::size_t mismatches = 0;
  std::size_t count = 0;
  for (const Term& e : beam.expected.list_elements()) {
    const auto v = e.tuple_elements();
    std::string line;
    if (!std::getline(lines, line)) break;
    std::ostringstream want;
    want << v[0] << ' ' << v[1] << ' ' << v[2];
    if (line != want.str() && ++mismatches <= 10) {
      BOOST_ERROR("seed " << beam.seed << " line " << count + 1 << ": got '" << line << "', want '" << want.str()
                          << "'");
    }
    ++count;
  }
  BOOST_TEST(count == beam.expected.list_elements().size());
  BOOST_TEST(mismatches == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
