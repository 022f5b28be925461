// The horde-cnode program as a library call: a C++ service that wants every
// flag of `horde-cnode`, its logging, the SIGTERM/SIGINT graceful stop and
// the default Horde roles, plus its own worker kinds and processes, writes
//
//   int main(int argc, char** argv) {
//     hc::sdk::ApplicationSpec spec;
//     spec.kinds.add(hc::Atom("Elixir.MyCpp.Cache"), make_cache_worker);
//     spec.on_start = [](hc::cnode::Node& node) -> std::error_code {
//       node.spawn(std::make_unique<KvServer>(), {.register_as = hc::Atom("kv")});
//       return {};
//     };
//     return hc::sdk::run_node(argc, argv, std::move(spec));
//   }
//
// and `horde-cnode` itself is run_node with the built-in kinds (app/main.cpp).
//
// What run_node does, in order:
//  1. parses argv with Boost.Program_options: the node's flags
//     (sdk/node_flags.hpp), the Horde roles' flags (sdk/roles.hpp) and every
//     Extension's; `--help` lists them all, `--version` prints the version.
//     Every value is checked here, before anything listens or registers in
//     epmd: a bad value exits with status 2 and a message naming the flag.
//     On glibc it then tunes malloc for the sync path (tune_malloc(),
//     below; not when GLIBC_TUNABLES is set);
//  2. starts the node on one io thread (the calling thread) and, once it
//     listens and is registered in epmd, the registries and supervisors the
//     flags ask for (default: HordeCnode.Registry and HordeCnode.Supervisor),
//     then each Extension's start() and spec.on_start;
//  3. runs until SIGINT/SIGTERM (or stdin EOF with --exit-on-stdin-close),
//     then runs every before_stop (the supervisors hand their children off
//     the way Horde's graceful shutdown does; at most 10 s in all), stops the
//     node cleanly and returns.
//
// Threading: run_node blocks the calling thread, which becomes the node's io
// thread; every callback below runs on it. Call it once per process.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cnode/node.hpp"
#include "horde/worker_kinds.hpp"

namespace hc::sdk {

namespace po = boost::program_options;

// Exit statuses of run_node (and so of horde-cnode).
enum ExitStatus : int {
  kExitOk = 0,
  kExitStartFailed = 1,  // the node or a role could not start (message on stderr and in the log)
  kExitUsage = 2,        // unknown flag or bad value
  kExitNameInUse = 3,    // epmd already has a node of this name (restarting will not help)
};

// A part of a program that adds flags, starts processes once the node runs,
// and may delay the stop. The built-in Horde roles are extensions too.
class Extension {
 public:
  virtual ~Extension() = default;
  // Title of this extension's flag group in --help.
  virtual std::string name() const = 0;
  // Declares this extension's flags. Called once, before parsing.
  virtual void add_options(po::options_description& options) { (void)options; }
  // Reads and checks the parsed flags before the node listens. Return an
  // error message that names the offending flag, or "" when all is well.
  virtual std::string configure(const po::variables_map& flags) {
    (void)flags;
    return {};
  }
  // io thread, once the node listens and is registered in epmd. An error
  // stops the program with kExitStartFailed.
  virtual std::error_code start(cnode::Node& node) {
    (void)node;
    return {};
  }
  // io thread, when the program is asked to stop (SIGINT, SIGTERM, stdin
  // EOF), before the node stops. Call `done` (on the io thread) when finished.
  virtual void before_stop(cnode::Node& node, std::function<void()> done) {
    (void)node;
    done();
  }
};

struct ApplicationSpec {
  // Program name for --help, --version and messages.
  std::string program = "horde-cnode";
  // One line under the usage line of --help.
  std::string description = "Run a visible Erlang distribution node that is a Horde peer, until SIGINT or SIGTERM.";
  // Worker kinds every supervisor of this program can start through
  // Horde.DynamicSupervisor.start_child/2 (child spec start: {Module, Fun, Args}).
  horde::WorkerKinds kinds = horde::WorkerKinds::builtin();
  // Your own extensions; they start after the built-in roles, in order.
  std::vector<std::shared_ptr<Extension>> extensions;
  // io thread, after the roles and extensions have started: spawn and
  // register your processes here. An error stops the program.
  std::function<std::error_code(cnode::Node&)> on_start;
};

// Runs the program; returns its exit status (ExitStatus). `argv[0]` is the
// program path; a leading `node` argument is accepted and skipped (the
// older `horde-cnode node --name ...` form).
int run_node(int argc, const char* const* argv, ApplicationSpec spec = {});

// What run_node does to glibc's malloc before it starts the node, for a
// program that embeds a node without run_node (call it first thing in main;
// it changes malloc for the whole process, and does nothing when
// GLIBC_TUNABLES is set or the C library is not glibc):
//  - mmap threshold fixed at 128 KB: glibc otherwise raises it after the
//    first large free (up to 32 MB), and the multi-MB buffers of every sync
//    slice then come from the heap among the long-lived CRDT state, whose
//    pages stay resident after the slice is freed (RSS 270-460 B per name
//    at 100 000 names instead of ~250);
//  - no fastbins (M_MXFAST 0): a sync message of 100 000 names is a tree
//    of millions of small blocks, freed at once; in fastbins they are
//    merged later, all in one malloc_consolidate inside some unrelated
//    allocation (a quarter of the node's CPU in a whole 100 000-name round,
//    and single turns of 0.1-0.3 s); without, each free merges its own
//    block (bench/round_turn_bench: 20 % less CPU per round, same RSS);
//  - one malloc arena (M_ARENA_MAX 1): the node's worker threads decode
//    large messages (cnode/inbound_decoder.hpp) into Terms that then live
//    and die on the io thread; from a second arena they cost more to free
//    and kept their pages apart (sync_scale_bench, BEAM -> C++ at 100 000
//    names: peak RSS 160 -> 100 MB, peer CPU 3.0-3.2 -> 2.8 s). A program
//    whose own threads allocate heavily in parallel may prefer more arenas
//    (GLIBC_TUNABLES=glibc.malloc.arena_max=N with the two settings above).
// Thread: any, before other threads allocate. Cost: three mallopt calls.
void tune_malloc();

}  // namespace hc::sdk
