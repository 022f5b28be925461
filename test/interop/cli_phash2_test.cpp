// `horde-cnode phash2 FILE` as a user runs it: the built executable on a file
// made from the golden table, and its usage/error exits.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "interop/codec.hpp"
#include "support/child_process.hpp"
#include "interop/term.hpp"

extern char** environ;

using namespace hc;
namespace fs = std::filesystem;

namespace {

using test::Run;
using test::TempDir;

fs::path executable() {
  const fs::path exe = test::horde_cnode_executable();
  BOOST_REQUIRE_MESSAGE(fs::exists(exe), exe << " is not built (cmake --build ... --target horde-cnode)");
  return exe;
}

// Runs horde-cnode with `args` to completion (killed after 60 s).
Run run_cli(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{executable().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Run run = test::run_program(argv, dir, std::chrono::seconds(60), {.name = "cli"});
  BOOST_REQUIRE_MESSAGE(run.status != -1, "horde-cnode did not exit within 60 s");
  return run;
}

void write_file(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  BOOST_REQUIRE(f.good());
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_phash2_test)

BOOST_AUTO_TEST_CASE(prints_the_golden_hashes_in_order) {
  // Golden rows are {T, phash2(T), phash2(T, 2^32), phash2(T, 2^32 - 1)}:
  // the CLI gets term_to_binary([T...]) and must print the other three.
  const Result<Term> table = decode(read_bytes(fs::path(HC_FIXTURES_DIR) / "phash2_golden.etf"));
  BOOST_REQUIRE_MESSAGE(table, table.message());
  TermVector terms;
  std::ostringstream want;
  for (const Term& row : table->list_elements()) {
    const auto r = row.tuple_elements();
    terms.push_back(r[0]);
    want << r[1] << ' ' << r[2] << ' ' << r[3] << '\n';
  }
  TempDir dir;
  const fs::path input = dir.path() / "terms.etf";
  write_file(input, encode(Term::list(std::move(terms))));

  const Run run = run_cli({"phash2", input.string()}, dir);
  BOOST_TEST(run.status == 0, run.err);
  BOOST_TEST(run.err.empty());
  BOOST_TEST(run.out == want.str());
}

BOOST_AUTO_TEST_CASE(empty_list_prints_nothing) {
  TempDir dir;
  const fs::path input = dir.path() / "empty.etf";
  write_file(input, {131, 106});
  const Run run = run_cli({"phash2", input.string()}, dir);
  BOOST_TEST(run.status == 0);
  BOOST_TEST(run.out.empty());
}

BOOST_AUTO_TEST_CASE(bad_input_files_exit_1_with_a_message) {
  TempDir dir;
  const fs::path not_a_list = dir.path() / "atom.etf";
  write_file(not_a_list, encode(Term(atom("ok"))));
  const fs::path improper = dir.path() / "improper.etf";
  write_file(improper, encode(Term::list({Term(1)}, Term(2))));
  const fs::path malformed = dir.path() / "malformed.etf";
  write_file(malformed, {131, 108, 0, 0, 0, 9, 97});  // a list that promises 9 elements
  const fs::path garbage = dir.path() / "garbage.etf";
  write_file(garbage, {'h', 'e', 'l', 'l', 'o'});

  struct Case {
    fs::path file;
    std::string message_part;
  };
  for (const Case& c : {Case{dir.path() / "missing.etf", "cannot open"}, Case{not_a_list, "expected a proper list"},
                        Case{improper, "expected a proper list"}, Case{malformed, "not a valid external term"},
                        Case{garbage, "not a valid external term"}}) {
    BOOST_TEST_CONTEXT(c.file) {
      const Run run = run_cli({"phash2", c.file.string()}, dir);
      BOOST_TEST(run.status == 1);
      BOOST_TEST(run.out.empty());
      BOOST_TEST(run.err.find(c.message_part) != std::string::npos, run.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_and_help_exits_0) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string message_part;  // expected in stderr
  };
  // A leading --flag is the node command's shorthand, so it reports the flag.
  for (const Case& c : std::vector<Case>{{{}, "usage: horde-cnode"},
                                         {{"frobnicate"}, "unknown command 'frobnicate'"},
                                         {{"--bogus"}, "'--bogus'"},
                                         {{"phash2"}, "missing FILE"},
                                         {{"phash2", "--bogus"}, "unknown option '--bogus'"},
                                         {{"phash2", "a", "b"}, "expected one FILE"}}) {
    BOOST_TEST_CONTEXT("args " << c.args.size() << ": " << (c.args.empty() ? "" : c.args.back())) {
      const Run run = run_cli(c.args, dir);
      BOOST_TEST(run.status == 2);
      BOOST_TEST(run.out.empty());
      BOOST_TEST(run.err.find(c.message_part) != std::string::npos, run.err);
    }
  }
  const Run help = run_cli({"--help"}, dir);
  BOOST_TEST(help.status == 0);
  BOOST_TEST(help.out.find("phash2 FILE") != std::string::npos);
  const Run sub_help = run_cli({"phash2", "--help"}, dir);
  BOOST_TEST(sub_help.status == 0);
  BOOST_TEST(sub_help.out.find("usage: horde-cnode phash2 FILE") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
