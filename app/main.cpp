// horde-cnode: the command-line program. Without a subcommand it runs a node
// (hc::sdk::run_node with the built-in worker kinds: exactly what a user's
// own program gets from the SDK, see sdk/application.hpp). Subcommands:
//   node [FLAGS]   the same, spelled out
//   phash2 FILE    erlang:phash2 of every term in FILE (app/phash2_command.hpp)
// Exit status 2 means a usage error (unknown subcommand or flag).
#include <array>
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

#include "app/phash2_command.hpp"
#include "sdk/application.hpp"
#include "sdk/version.hpp"

namespace {

void print_usage(std::ostream& os) {
  os << "usage: horde-cnode [node] --name NAME@HOST [FLAGS]   run a node (see horde-cnode --help)\n"
        "       horde-cnode " << hc::app::kPhash2Synopsis << "\n"
        "       horde-cnode --version\n"
        "\n"
        "commands:\n"
        "  node --name NAME@HOST [FLAGS]    run a distribution node that is a Horde peer (the default)\n"
        "  " << hc::app::kPhash2Synopsis << "\n"
        "\nRun 'horde-cnode node --help' for every flag of a node.\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return hc::sdk::kExitUsage;
  }
  if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    // The commands, then every flag of a node.
    print_usage(std::cout);
    std::cout << '\n';
    const char* help_argv[] = {argv[0], "--help"};
    return hc::sdk::run_node(2, help_argv);
  }
  if (args[0] == "phash2")
    return hc::app::run_phash2_command(std::span<const std::string_view>(args).subspan(1), std::cout, std::cerr);
  // `horde-cnode --name N@H ...` is short for `horde-cnode node ...`.
  if (args[0] == "node" || args[0].starts_with("-")) return hc::sdk::run_node(argc, argv);
  std::cerr << "horde-cnode: unknown command '" << args[0] << "'\n\n";
  print_usage(std::cerr);
  return hc::sdk::kExitUsage;
}
