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
#include "interop/term.hpp"

extern char** environ;

using namespace hc;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "hc_cli_XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path executable() {
  const fs::path exe = fs::path(HC_BINARY_DIR) / "app" / "horde-cnode";
  BOOST_REQUIRE_MESSAGE(fs::exists(exe), exe << " is not built (cmake --build ... --target horde-cnode)");
  return exe;
}

// Runs horde-cnode with `args` to completion (killed after 60 s).
Run run_cli(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{executable().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const fs::path out = dir.path() / "cli.out";
  const fs::path err = dir.path() / "cli.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> cargs;
  for (const std::string& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0]);
  Run run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      BOOST_FAIL("horde-cnode did not exit within 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a child, not synchronising
  }
  run.out = slurp(out);
  run.err = slurp(err);
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
