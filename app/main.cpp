// horde-cnode: the command-line entry point. A small dispatcher: the first
// argument names a subcommand, each implemented in its own app/*_command.cpp
// with the signature `int(std::span<const std::string_view> args,
// std::ostream& out, std::ostream& err)` returning the exit status.
// Exit status 2 means a usage error (unknown subcommand or flag).
#include <array>
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

#include "app/node_command.hpp"
#include "app/phash2_command.hpp"

namespace {

using CommandFn = int (*)(std::span<const std::string_view>, std::ostream&, std::ostream&);

struct Command {
  std::string_view name;
  std::string_view synopsis;  // "NAME ARGS    description"
  CommandFn run;
};

constexpr std::array kCommands{
    Command{"phash2", hc::app::kPhash2Synopsis, &hc::app::run_phash2_command},
    Command{"node", hc::app::kNodeSynopsis, &hc::app::run_node_command},
};

void print_usage(std::ostream& os) {
  os << "usage: horde-cnode COMMAND [ARGS...]\n"
        "       horde-cnode --help\n"
        "\n"
        "commands:\n";
  for (const Command& c : kCommands) os << "  " << c.synopsis << '\n';
  os << "\nRun 'horde-cnode COMMAND --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(std::cout);
    return 0;
  }
  // `horde-cnode --name N@H --cookie C ...` is short for `horde-cnode node ...`.
  if (args[0].starts_with("--")) return hc::app::run_node_command(args, std::cout, std::cerr);
  for (const Command& c : kCommands) {
    if (args[0] == c.name) {
      return c.run(std::span<const std::string_view>(args).subspan(1), std::cout, std::cerr);
    }
  }
  std::cerr << "horde-cnode: unknown " << (args[0].starts_with('-') ? "option" : "command") << " '"
            << args[0] << "'\n\n";
  print_usage(std::cerr);
  return 2;
}
