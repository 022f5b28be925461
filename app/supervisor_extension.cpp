// The Horde.DynamicSupervisor role on the command line (node_command.hpp
// extension point):
//   --supervisor NAME        run Horde.DynamicSupervisor NAME (Elixir alias, e.g.
//                            MyApp.Sup; repeatable). Default: HordeCnode.Supervisor
//   --members NODE[,NODE]    member nodes (repeatable; `auto`: every connected node)
//   --sync-interval MS       CRDT sync interval (Horde's default 300)
//   --distribution STRATEGY  uniform (Horde.UniformDistribution, default), uniform_quorum
//                            (Horde.UniformQuorumDistribution), uniform_random
//                            (Horde.UniformRandomDistribution), mixed (HordeCnode.MixedDistribution),
//                            mixed_quorum, mixed_random (HordeCnode.Mixed{Quorum,Random}Distribution)
//   --cpp-namespace NS       module namespace of C++ kinds for the mixed strategy
//                            (repeatable; default CppWorkers)
// and the supervisor requests of the `horde_cnode` control process.
#include <charconv>
#include <sstream>

#include "app/node_command.hpp"
#include "cnode/log.hpp"
#include "horde/control_process.hpp"
#include "horde/mixed_distribution.hpp"
#include "horde/supervisor_control.hpp"
#include "horde/supervisor_process.hpp"
#include "horde/strategy_by_name.hpp"

namespace hc::app {
namespace {

constexpr std::string_view kDefaultSupervisor = "HordeCnode.Supervisor";

// Elixir alias text -> module atom ("MyApp.Sup" -> 'Elixir.MyApp.Sup');
// lowercase names and 'Elixir.'-prefixed ones are taken as they are.
Atom module_atom(std::string_view text) {
  if (text.starts_with("Elixir.") || text.empty() || !(text[0] >= 'A' && text[0] <= 'Z')) return Atom(text);
  return Atom("Elixir." + std::string(text));
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::error_code install(cnode::Node& node, const NodeSettings& s) {
  horde::SupervisorOptions base;
  const auto members = split_commas(s.values("--members"));
  for (const auto& m : members) {
    if (m == "auto") base.members_auto = true;
  }
  if (!s.values("--sync-interval").empty()) {
    const auto& v = s.values("--sync-interval").back();
    unsigned ms = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (ec != std::errc() || p != v.data() + v.size() || ms == 0) return std::make_error_code(std::errc::invalid_argument);
    base.sync_interval = std::chrono::milliseconds(ms);
  }
  const std::string strategy = s.values("--distribution").empty() ? "uniform" : s.values("--distribution").back();
  std::vector<Atom> namespaces;
  for (const auto& ns : s.values("--cpp-namespace")) namespaces.push_back(module_atom(ns));
  base.strategy = horde::strategy_by_name(strategy, namespaces);
  if (!base.strategy) {
    HC_LOG(error) << "--distribution must be " << horde::kStrategyNames << ", not " << strategy;
    return std::make_error_code(std::errc::invalid_argument);
  }

  std::vector<std::string> names = s.values("--supervisor");
  if (names.empty()) names.emplace_back(kDefaultSupervisor);
  for (const auto& name : names) {
    horde::SupervisorOptions o = base;
    o.name = module_atom(name);
    if (!base.members_auto)
      for (const auto& m : members) o.members.push_back(tuple(o.name, Atom(m)));
    if (!horde::SupervisorProcess::start(node, o)) {
      HC_LOG(error) << "cannot start supervisor " << o.name << ": a name is taken";
      return std::make_error_code(std::errc::address_in_use);
    }
    HC_LOG(info) << "supervisor " << o.name << " running (" << strategy << " distribution)";
  }
  // Our requests on `horde_cnode` (shared with the registry role).
  horde::ControlProcess* control = horde::ensure_control_process(node);
  if (control == nullptr) {
    HC_LOG(error) << "horde_cnode is registered by another process";
    return std::make_error_code(std::errc::address_in_use);
  }
  if (!control->has_handler("which_children")) horde::install_supervisor_handlers(*control);
  // Keep the member nodes connected (so monitors and syncs reach them).
  if (!base.members_auto)
    for (const auto& m : members)
      if (Atom(m) != node.name()) node.add_peer(Atom(m));
  return {};
}

const bool registered = register_node_extension({
    .name = "supervisor",
    .flags =
        {
            {"--supervisor", "NAME", "run a Horde.DynamicSupervisor named NAME (repeatable; default HordeCnode.Supervisor)"},
            {"--members", "NODE[,NODE]", "member nodes of the Horde roles (repeatable; `auto`: all connected nodes)"},
            {"--sync-interval", "MS", "CRDT sync interval in milliseconds (Horde default 300)"},
            {"--distribution", "STRATEGY", "supervisor placement: uniform (default), uniform_quorum, uniform_random, mixed, mixed_quorum, mixed_random"},
            {"--cpp-namespace", "NS", "module namespace of C++ worker kinds for the mixed strategy (default CppWorkers)"},
        },
    .install = install,
    // SIGINT/SIGTERM: Horde's graceful stop (status shutting_down, children
    // handed off to the members the ring picks) before the node goes away.
    .before_stop =
        [](cnode::Node& node, std::function<void()> done) {
          auto names = horde::SupervisorProcess::running(node);
          auto pending = std::make_shared<std::size_t>(names.size() + 1);
          // graceful_stop's callback runs inside N's exit: stop the node later.
          auto one_done = [&node, pending, done] {
            if (--*pending == 0) node.post(done);
          };
          for (const Atom& name : names)
            if (auto* sp = horde::SupervisorProcess::find(node, name)) sp->graceful_stop(one_done);
            else one_done();
          one_done();
        },
});

}  // namespace
}  // namespace hc::app
