// `horde-cnode node --name NAME@HOST --cookie COOKIE [--connect NODE ...]`
// (also reachable as `horde-cnode --name ...` without the word "node"):
// runs a distribution node (cnode/node.hpp) until SIGINT/SIGTERM, then closes
// its connections cleanly.
//
// Extension point for roles (Horde registry, supervisor, ...): a role adds its
// own flags and an installer that runs on the io thread once the node has
// started. Register from a static initializer in the role's app/*.cpp file:
//
//   static const bool registered = hc::app::register_node_extension({
//       .name = "registry",
//       .flags = {{"--registry", "NAME", "run a Horde.Registry named NAME (repeatable)"}},
//       .install = [](hc::cnode::Node& node, const hc::app::NodeSettings& s) -> std::error_code {
//         for (const auto& name : s.values("--registry")) { ... spawn the role's processes ... }
//         return {};
//       }});
//
// Flags with a value accept `--flag VALUE` and `--flag=VALUE`; flags without
// a value (value_name empty) are recorded with the value "true".
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cnode/handshake.hpp"  // valid_node_name
#include "cnode/node.hpp"

namespace hc::app {

inline constexpr std::string_view kNodeSynopsis =
    "node --name NAME@HOST --cookie COOKIE [--connect NODE]...    run a distribution node";

struct NodeFlag {
  std::string name;        // "--registry"
  std::string value_name;  // "NAME"; empty for a boolean flag
  std::string help;
};

struct NodeSettings {
  cnode::NodeOptions node;
  std::string log_level = "info";
  bool exit_on_stdin_close = false;  // --exit-on-stdin-close
  std::map<std::string, std::vector<std::string>> extension_values;  // flag -> values in order
  // Values given for an extension flag (empty when absent).
  const std::vector<std::string>& values(const std::string& flag) const;
  bool has(const std::string& flag) const { return !values(flag).empty(); }
};

struct NodeExtension {
  std::string name;
  std::vector<NodeFlag> flags;
  // Runs on the io thread after the node has started; an error aborts start-up.
  std::function<std::error_code(cnode::Node&, const NodeSettings&)> install;
  // Optional: runs on the io thread when SIGINT/SIGTERM arrives, before the
  // node stops (e.g. the supervisor role hands its children off); call
  // `done` when finished. The node stops once every extension is done, or
  // after 10 s.
  std::function<void(cnode::Node&, std::function<void()> done)> before_stop;
};

// Returns true (for use in a static initializer).
bool register_node_extension(NodeExtension extension);

// Parse arguments (after "node"). On error returns false with a message on `err`.
bool parse_node_args(std::span<const std::string_view> args, NodeSettings& settings, bool& help, std::ostream& err);
void print_node_usage(std::ostream& os);

// Exit status when epmd already has a node under our name.
inline constexpr int kExitNameInUse = 3;

// Runs the subcommand; blocks until SIGINT/SIGTERM. Exit status 0, 1 on a
// start-up failure, 2 on a usage error, kExitNameInUse.
int run_node_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace hc::app
