// The TLS distribution flags of `horde-cnode node`, named after erl's:
//   --proto-dist inet_tls|inet_tcp          erl -proto_dist inet_tls
//   --ssl-dist-optfile FILE                 erl -ssl_dist_optfile FILE
//   --ssl-dist-opt KEY VALUE [KEY VALUE]... erl -ssl_dist_opt server_certfile F ...
// (repeatable; KEY is server_OPT or client_OPT; these win over the file, as in erl).
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cnode/node.hpp"

namespace hc::app {

struct TlsFlags {
  std::string proto_dist = "inet_tcp";
  std::string optfile;
  std::vector<std::pair<std::string, std::string>> opts;
};

enum class TlsFlagResult { not_mine, taken, error };

// Consume args[i] (and its values) when it is one of the flags above.
TlsFlagResult parse_tls_flag(std::span<const std::string_view> args, std::size_t& i, TlsFlags& flags,
                             std::ostream& err);
// Build NodeOptions::tls (for inet_tls); false with a message naming the
// option on error.
bool apply_tls_flags(const TlsFlags& flags, cnode::NodeOptions& node, std::ostream& err);
void print_tls_usage(std::ostream& os);

}  // namespace hc::app
