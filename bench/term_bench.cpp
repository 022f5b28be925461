// term_bench: phash2, decode and encode throughput of our term layer next to
// the BEAM doing the same work on the same bytes.
//
//   term_bench [--terms N] [--rounds R] [--repeat K] [--source-dir DIR] [--dump FILE]
//
// Builds N (default 100 000) Horde-shaped CRDT terms (registry keys, values
// `{{{'Elixir.LabRegistry', Node}, Pid, Value}, Ts} => MapSet of dots`,
// `{Value, Ts}` pairs, dot sets, Merkle leaf contents; shapes as in
// test/fixtures/registry_final_state.etf), encodes them, then times
// phash2(T, 2^32), decode and encode over all of them (K passes per round,
// best of R rounds, rates from process CPU time),
// plus phash2 over the first 1000 terms repeated (cache-resident: the
// hashing cost without memory stalls).
// It then writes the encodings to a temporary file and runs
// erlang_harness/term_bench.erl in `erl` (found in PATH; compiled with erlc
// from DIR, default $HC_SOURCE_DIR or the current directory) to time
// erlang:phash2/2, binary_to_term/1 and term_to_binary/1 on the very same
// bytes, and prints both side by side. The phash2 checksums of both sides
// must agree (exit status 1 otherwise).
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "interop/codec.hpp"
#include "interop/phash2.hpp"
#include "interop/term.hpp"

namespace fs = std::filesystem;
using namespace hc;

namespace {

struct Options {
  std::size_t terms = 100'000;
  int rounds = 5;
  int repeat = 5;  // passes over the terms per round (long rounds vs a ms CPU clock)
  fs::path source_dir;
  fs::path dump;  // also keep the benchmark's input file here (for profiling)
};

// ---- Horde-shaped terms ------------------------------------------------------

class HordeTerms {
 public:
  explicit HordeTerms(std::uint64_t seed) : rng_(seed) {}

  Term next() {
    switch (pick(10)) {
      case 0:
      case 1:
        return key();
      case 2:
      case 3:
      case 4:
      case 5:
        return values();  // #{{Entry, Ts} => MapSet}: what MerkleMap hashes most
      case 6:
        return Term::tuple({entry(), Term(timestamp())});
      case 7:
        return dots(1 + pick(3));
      default:
        return Term::map({{key(), values()}});  // a Merkle leaf's contents
    }
  }

 private:
  std::uint32_t pick(std::uint32_t n) { return static_cast<std::uint32_t>(rng_() % n); }

  Atom node() { return pick(2) == 0 ? Atom("lab_a@127.0.0.1") : Atom("lab_b@127.0.0.1"); }

  Term key() {
    switch (pick(5)) {
      case 0:
        return tuple(atom("key"), binary("user-" + std::to_string(pick(1'000'000))));
      case 1:
        return tuple(atom("key"), tuple(atom("user"), static_cast<int>(pick(100'000))));
      case 2:
        return tuple(atom("key"), atom(pick(2) == 0 ? "gamma" : "delta"));
      case 3:
        return tuple(atom("member"), tuple(atom("Elixir.LabRegistry"), node()));
      default:
        return tuple(atom("registry"), atom("lab_meta"));
    }
  }

  Term value() {
    switch (pick(4)) {
      case 0:
        return atom("nil");
      case 1:
        return Term::map({{atom("role"), atom("admin")}});
      case 2:
        return list(1, 2.5, binary("x"));
      default:
        return binary("value-" + std::to_string(pick(1000)));
    }
  }

  std::int64_t timestamp() { return -576460752303423488 + static_cast<std::int64_t>(rng_() % 10'000'000'000'000); }

  Term entry() {
    Pid pid{node(), 100 + pick(30'000), 0, 1'700'000'000 + pick(1000)};
    return Term::tuple({tuple(atom("Elixir.LabRegistry"), node()), Term(pid), value()});
  }

  Term dots(std::uint32_t n) {
    TermVector elements;
    for (std::uint32_t i = 0; i < n; ++i) {
      elements.push_back(tuple(static_cast<std::int64_t>(1 + pick(1'000'000'000)), static_cast<int>(1 + pick(500))));
    }
    return make_mapset(std::move(elements));
  }

  Term values() {
    TermPairs pairs;
    const std::uint32_t n = pick(4) == 0 ? 2 : 1;
    for (std::uint32_t i = 0; i < n; ++i) pairs.emplace_back(Term::tuple({entry(), Term(timestamp())}), dots(1));
    return Term::map(std::move(pairs));
  }

  std::mt19937_64 rng_;
};

// ---- timing ------------------------------------------------------------------

// Process CPU time, not wall time: the machine may be shared with builds, and
// the BEAM side measures its CPU time too.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
double best_rate(std::size_t n, int rounds, F&& work) {
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = cpu_seconds();
    work();
    const double dt = std::max(cpu_seconds() - t0, 1e-9);
    best = std::max(best, static_cast<double>(n) / dt);
  }
  return best;
}

// ---- the BEAM side -------------------------------------------------------------

std::optional<fs::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return fs::path(dir) / name;
  }
  return std::nullopt;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct BeamResult {
  double rate = 0;
  std::string checksum;
};

// Runs term_bench.erl on `data_file`; empty map when erl is unavailable or fails.
std::map<std::string, BeamResult> run_beam(const Options& opt, const fs::path& dir, const fs::path& data_file) {
  std::map<std::string, BeamResult> results;
  const auto erl = find_program("erl");
  const auto erlc = find_program("erlc");
  const fs::path source = opt.source_dir / "erlang_harness" / "term_bench.erl";
  if (!erl || !erlc || !fs::exists(source)) {
    std::cerr << "term_bench: erl/erlc or " << source << " not found; BEAM column skipped\n";
    return results;
  }
  const std::string compile =
      shell_quote(erlc->string()) + " -o " + shell_quote(dir.string()) + " " + shell_quote(source.string());
  if (std::system(compile.c_str()) != 0) {
    std::cerr << "term_bench: compiling " << source << " failed\n";
    return results;
  }
  // popen: the BEAM runs to completion (halt) and pclose reaps it.
  const std::string command = shell_quote(erl->string()) + " +S 1 +sbwt none -noshell -noinput -pa " +
                              shell_quote(dir.string()) +
                              " -run term_bench main " + shell_quote(data_file.string()) + " " +
                              std::to_string(opt.rounds) + " " + std::to_string(opt.repeat);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return results;
  char line[512];
  while (std::fgets(line, sizeof line, pipe)) {
    std::istringstream in(line);
    std::string tag, name;
    BeamResult r;
    if (in >> tag >> name >> r.rate >> r.checksum && tag == "result") results[name] = r;
  }
  if (::pclose(pipe) != 0) std::cerr << "term_bench: erl exited with an error\n";
  return results;
}

std::string group(double v) {
  std::string digits = std::to_string(static_cast<std::uint64_t>(v + 0.5));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options opt;
  const char* env = std::getenv("HC_SOURCE_DIR");
  opt.source_dir = env ? fs::path(env) : fs::current_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "term_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--terms") {
      opt.terms = std::stoul(value());
    } else if (a == "--rounds") {
      opt.rounds = std::stoi(value());
    } else if (a == "--repeat") {
      opt.repeat = std::max(1, std::stoi(value()));
    } else if (a == "--source-dir") {
      opt.source_dir = value();
    } else if (a == "--dump") {
      opt.dump = value();
    } else {
      std::cerr << "usage: term_bench [--terms N] [--rounds R] [--repeat K] [--source-dir DIR] [--dump FILE]\n";
      std::exit(2);
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);

  HordeTerms gen(20240601);
  std::vector<Term> terms;
  terms.reserve(opt.terms);
  for (std::size_t i = 0; i < opt.terms; ++i) terms.push_back(gen.next());
  std::vector<std::vector<std::uint8_t>> encoded;
  encoded.reserve(terms.size());
  std::size_t total_bytes = 0;
  for (const Term& t : terms) {
    encoded.push_back(encode(t));
    total_bytes += encoded.back().size();
  }

  // Ours.
  const std::size_t passes = static_cast<std::size_t>(opt.repeat);
  std::uint64_t phash_sum = 0;
  const double our_phash = best_rate(terms.size() * passes, opt.rounds, [&] {
    phash_sum = 0;
    for (std::size_t k = 0; k < passes; ++k) {
      for (const Term& t : terms) phash_sum += phash2(t, std::uint64_t{1} << 32);
    }
  });
  // The same work on the first 1000 terms over and over: cache-resident.
  const std::size_t hot_n = std::min<std::size_t>(terms.size(), 1000);
  const std::size_t hot_reps = passes * (terms.size() / hot_n);
  std::uint64_t hot_sum = 0;
  const double our_phash_hot = best_rate(hot_n * hot_reps, opt.rounds, [&] {
    hot_sum = 0;
    for (std::size_t r = 0; r < hot_reps; ++r) {
      for (std::size_t i = 0; i < hot_n; ++i) hot_sum += phash2(terms[i], std::uint64_t{1} << 32);
    }
  });
  std::size_t decoded = 0;
  const double our_decode = best_rate(terms.size() * passes, opt.rounds, [&] {
    for (std::size_t k = 0; k < passes; ++k) {
      decoded = 0;
      for (const auto& bytes : encoded) decoded += decode(bytes).ok() ? 1 : 0;
    }
  });
  std::size_t encoded_size = 0;
  const double our_encode = best_rate(terms.size() * passes, opt.rounds, [&] {
    for (std::size_t k = 0; k < passes; ++k) {
      encoded_size = 0;
      for (const Term& t : terms) encoded_size += encode(t).size();
    }
  });
  if (decoded != terms.size()) {
    std::cerr << "term_bench: " << terms.size() - decoded << " terms failed to decode\n";
    return 1;
  }

  // The BEAM, on the same bytes: term_to_binary([E1, ..., En]).
  std::string templ = (fs::temp_directory_path() / "hc_term_bench_XXXXXX").string();
  if (!::mkdtemp(templ.data())) {
    std::perror("term_bench: mkdtemp");
    return 1;
  }
  const fs::path dir = templ;
  const fs::path data_file = dir / "terms.etf";
  {
    TermVector binaries;
    binaries.reserve(encoded.size());
    for (const auto& bytes : encoded) binaries.push_back(Term::binary(bytes));
    const auto blob = encode(Term::list(std::move(binaries)));
    std::ofstream(data_file, std::ios::binary).write(reinterpret_cast<const char*>(blob.data()),
                                                      static_cast<std::streamsize>(blob.size()));
  }
  if (!opt.dump.empty()) fs::copy_file(data_file, opt.dump, fs::copy_options::overwrite_existing);
  const auto beam = run_beam(opt, dir, data_file);
  std::error_code ec;
  fs::remove_all(dir, ec);

  std::printf(
      "term_bench: %zu Horde-shaped terms, %.1f bytes encoded on average, %d passes per round, best of %d rounds "
      "(CPU time)\n",
      terms.size(), static_cast<double>(total_bytes) / static_cast<double>(terms.size()), opt.repeat, opt.rounds);
  std::printf("%-26s %16s %16s %10s\n", "operation", "C++ terms/s", "BEAM terms/s", "C++/BEAM");
  int status = 0;
  struct Row {
    const char* label;
    const char* beam_name;
    double ours;
    std::string checksum;
  };
  for (const Row& row : {Row{"phash2(T, 2^32)", "phash2", our_phash, std::to_string(phash_sum)},
                         Row{"phash2, 1000 hot terms", "phash2_hot", our_phash_hot, std::to_string(hot_sum)},
                         Row{"decode / binary_to_term", "decode", our_decode, std::to_string(decoded)},
                         Row{"encode / term_to_binary", "encode", our_encode, std::to_string(encoded_size)}}) {
    const auto it = beam.find(row.beam_name);
    if (it == beam.end()) {
      std::printf("%-26s %16s %16s %10s\n", row.label, group(row.ours).c_str(), "-", "-");
      continue;
    }
    std::printf("%-26s %16s %16s %9.2fx\n", row.label, group(row.ours).c_str(), group(it->second.rate).c_str(),
                row.ours / it->second.rate);
    // phash2 sums must be equal; encode sizes too except for HAMT maps (none here).
    if (it->second.checksum != row.checksum) {
      std::printf("  checksum differs: C++ %s, BEAM %s\n", row.checksum.c_str(), it->second.checksum.c_str());
      if (std::string(row.beam_name).starts_with("phash2")) status = 1;
    }
  }
  return status;
}
