// Running programs from tests: one helper for every test that starts the
// built horde-cnode, erl or elixir as an OS process.
//
//   TempDir dir;                                  // removed with its contents
//   Run r = run_program({exe, "--version"}, dir);  // waits; status, out, err
//   ChildProcess p({exe, "--name", ...}, dir, {.stdin_pipe = true});
//   p.close_stdin(); auto st = p.wait_for(5s);     // exit status or nullopt
//
// A ChildProcess runs in its own process group and is always killed
// (SIGKILL to the group) by its destructor, also when a test fails.
// Thread-safety: one object per thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hc::test {

// A fresh temporary directory, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hc_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& p);

// The built horde-cnode (HC_BINARY_DIR/app/horde-cnode).
std::filesystem::path horde_cnode_executable();

struct ChildOptions {
  bool stdin_pipe = false;             // else stdin is /dev/null
  std::vector<std::string> env;        // extra NAME=VALUE entries
  std::string name = "child";          // file names of the captured output
};

class ChildProcess {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with stdout/stderr captured into files in `dir`.
  ChildProcess(const std::vector<std::string>& argv, const TempDir& dir, ChildOptions options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void close_stdin();
  void signal(int sig);
  // The exit status (WEXITSTATUS, or 128 + signal) once it has exited
  // within `timeout`, else nullopt (still running).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  bool running();
  std::string out() const;
  std::string err() const;
  // Polls the captured stdout (every 20 ms, re-reading the file) until it
  // holds `marker`; false when the process exits or `timeout` passes first.
  bool wait_for_output(std::string_view marker, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_, err_;
};

// Runs a shell command and returns its standard output without the trailing
// newline ("" when it cannot be started).
std::string run_capture(const std::string& cmd);

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};
// Runs to completion (killed after `timeout`, status -1).
Run run_program(const std::vector<std::string>& argv, const TempDir& dir,
                std::chrono::milliseconds timeout = std::chrono::seconds(60), ChildOptions options = {});

}  // namespace hc::test
