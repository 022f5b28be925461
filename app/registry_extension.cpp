// The Horde.Registry role of `horde-cnode node` (app/node_command.hpp
// extension point):
//
//   --registry NAME         run a Horde.Registry named NAME (repeatable).
//                           Default (none given): HordeCnode.Registry.
// and reads the flags the supervisor role declares for both roles
// (app/supervisor_extension.cpp):
//   --members NODE,...      initial members on other nodes (repeatable;
//                           this node is always a member), or `auto`: every
//                           connected node, like Horde's members: :auto.
//                           Horde.Cluster.set_members/2 from any member, or
//                           NodeListener on BEAM members, changes them later.
//   --sync-interval MS      the CRDT's sync interval (default 300, like Horde)
//
// A NAME that starts with an upper-case letter is an Elixir alias and gets
// the "Elixir." prefix (HordeCnode.Registry is 'Elixir.HordeCnode.Registry');
// any other NAME is used as the atom's text. The members also become
// connection peers (--connect), so that the CRDTs can reach each other.
// Also installs the registry requests on the `horde_cnode` control process.
#include <charconv>
#include <string>

#include "app/node_command.hpp"
#include "cnode/log.hpp"
#include "horde/control_process.hpp"
#include "horde/registry_process.hpp"

namespace hc::app {
namespace {

Atom registry_atom(std::string_view text) {
  if (!text.empty() && text.front() >= 'A' && text.front() <= 'Z' && !text.starts_with("Elixir."))
    return Atom("Elixir." + std::string(text));
  return Atom(text);
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t start = 0;
    while (start <= v.size()) {
      auto comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      if (comma > start) out.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

std::error_code install_registries(cnode::Node& node, const NodeSettings& s) {
  std::chrono::milliseconds interval{300};
  if (s.has("--sync-interval")) {
    const std::string& v = s.values("--sync-interval").back();
    long ms = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (ec != std::errc() || p != v.data() + v.size() || ms <= 0) {
      HC_LOG(error) << "invalid --sync-interval '" << v << "' (milliseconds > 0)";
      return std::make_error_code(std::errc::invalid_argument);
    }
    interval = std::chrono::milliseconds(ms);
  }
  std::vector<Atom> member_nodes;
  bool members_auto = false;
  for (const auto& n : split_commas(s.values("--members"))) {
    if (n == "auto") {
      members_auto = true;
      continue;
    }
    if (!cnode::valid_node_name(n)) {
      HC_LOG(error) << "invalid node name '" << n << "' in --members (expected NAME@HOST)";
      return std::make_error_code(std::errc::invalid_argument);
    }
    member_nodes.emplace_back(n);
  }
  std::vector<Atom> names;
  for (const auto& n : s.values("--registry")) names.push_back(registry_atom(n));
  if (names.empty()) names.push_back(Atom("Elixir.HordeCnode.Registry"));

  horde::ControlProcess* control = horde::ensure_control_process(node);
  if (control == nullptr) {
    HC_LOG(error) << "horde_cnode is registered by another process";
    return std::make_error_code(std::errc::address_in_use);
  }
  if (!control->has_handler("lookup")) horde::install_registry_handlers(*control);

  for (const Atom& m : member_nodes)
    if (m != node.name()) node.add_peer(m);
  for (const Atom& name : names) {
    horde::RegistryOptions options;
    options.name = name;
    options.sync_interval = interval;
    options.members_auto = members_auto;
    for (const Atom& m : member_nodes) options.members.push_back(horde::MemberSpec{name, m});
    if (!horde::RegistryProcess::start(node, std::move(options))) {
      HC_LOG(error) << "cannot start registry " << name << ": name taken";
      return std::make_error_code(std::errc::address_in_use);
    }
    HC_LOG(info) << "registry " << name << " running (sync interval " << interval.count() << " ms, "
                 << member_nodes.size() << " configured member node(s))";
  }
  return {};
}

const bool registered = register_node_extension(NodeExtension{
    "registry",
    {{"--registry", "NAME", "run a Horde.Registry named NAME (repeatable; default HordeCnode.Registry)"}},
    &install_registries});

}  // namespace
}  // namespace hc::app
