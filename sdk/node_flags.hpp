// The node's own command-line flags (name, cookie, peers, ports, limits,
// logging) on Boost.Program_options, and their checked translation into
// cnode::NodeOptions. Part of run_node (sdk/application.hpp); exposed for
// tests and for programs that build their own command line.
//
// Threading: any thread; pure functions of the parsed flags (the cookie
// fallbacks read HORDE_CNODE_COOKIE, --cookie-file and ~/.erlang.cookie,
// ERL_EPMD_PORT is read from the environment).
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <string>
#include <variant>

#include "cnode/node.hpp"

namespace hc::sdk {

struct NodeFlags {
  cnode::NodeOptions node;
  std::string log_level = "info";
  bool exit_on_stdin_close = false;
};

// Adds --name, --cookie, --cookie-file, --connect, --port, --listen,
// --epmd-port, --no-epmd-start, --max-frame, --tick, --no-discovery,
// --log-level, --exit-on-stdin-close, and the TLS distribution flags
// --proto-dist, --ssl-dist-optfile, --ssl-dist-opt (named after erl's).
void add_node_options(boost::program_options::options_description& options);

// The checked settings, or a message naming the offending flag.
std::variant<NodeFlags, std::string> node_flags(const boost::program_options::variables_map& flags);

}  // namespace hc::sdk
