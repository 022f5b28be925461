#include "sdk/horde_roles.hpp"

#include <boost/program_options/value_semantic.hpp>
#include <charconv>

#include "cnode/error.hpp"
#include "cnode/handshake.hpp"  // valid_node_name
#include "cnode/log.hpp"
#include "horde/control_process.hpp"
#include "horde/mixed_distribution.hpp"
#include "horde/strategy_by_name.hpp"
#include "horde/registry_process.hpp"
#include "horde/supervisor_control.hpp"
#include "horde/supervisor_process.hpp"

namespace hc::sdk {
namespace {

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

std::vector<std::string> strings(const po::variables_map& vm, const char* key) {
  return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
}

class HordeRoles final : public Extension {
 public:
  explicit HordeRoles(horde::WorkerKinds kinds) : kinds_(std::make_shared<horde::WorkerKinds>(std::move(kinds))) {}

  std::string name() const override { return "Horde roles"; }

  void add_options(po::options_description& o) override {
    o.add_options()
        ("registry", po::value<std::vector<std::string>>()->value_name("NAME")->composing(),
         "run a Horde.Registry named NAME (repeatable; default HordeCnode.Registry)")
        ("supervisor", po::value<std::vector<std::string>>()->value_name("NAME")->composing(),
         "run a Horde.DynamicSupervisor named NAME (repeatable; default HordeCnode.Supervisor)")
        ("no-default-roles", po::bool_switch(),
         "no default role: without --registry no registry, without --supervisor no supervisor")
        ("members", po::value<std::vector<std::string>>()->value_name("NODE[,NODE]")->composing(),
         "member nodes of the Horde roles (repeatable); `auto`: every connected visible node")
        ("sync-interval", po::value<std::string>()->value_name("MS"),
         "CRDT sync interval in milliseconds (Horde's default 300)")
        ("distribution", po::value<std::string>()->value_name("STRATEGY")->default_value("uniform"),
         "supervisor placement: uniform, uniform_quorum, uniform_random (Horde's strategies), mixed, mixed_quorum, "
         "mixed_random (HordeCnode.Mixed*Distribution: C++ kinds on C++ members)")
        ("cpp-namespace", po::value<std::vector<std::string>>()->value_name("NS")->composing(),
         "module namespace of C++ worker kinds for the mixed strategy (repeatable; default CppWorkers)");
  }

  std::string configure(const po::variables_map& vm) override {
    for (const auto& n : split_commas(strings(vm, "members"))) {
      if (n == "auto") {
        members_auto_ = true;
        continue;
      }
      if (!cnode::valid_node_name(n)) return "invalid node name '" + n + "' in --members (expected NAME@HOST or auto)";
      member_nodes_.emplace_back(n);
    }
    if (vm.count("sync-interval")) {
      const auto& v = vm["sync-interval"].as<std::string>();
      long ms = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
      if (ec != std::errc() || p != v.data() + v.size() || ms <= 0)
        return "invalid --sync-interval '" + v + "' (milliseconds > 0)";
      sync_interval_ = std::chrono::milliseconds(ms);
    }
    strategy_name_ = vm["distribution"].as<std::string>();
    std::vector<Atom> namespaces;
    for (const auto& ns : strings(vm, "cpp-namespace")) namespaces.push_back(module_atom(ns));
    strategy_ = horde::strategy_by_name(strategy_name_, namespaces);
    if (!strategy_) return "invalid --distribution '" + strategy_name_ + "' (" + std::string(horde::kStrategyNames) + ")";
    for (const auto& n : strings(vm, "registry")) registries_.push_back(module_atom(n));
    for (const auto& n : strings(vm, "supervisor")) supervisors_.push_back(module_atom(n));
    // Each role has its default when its own flag is absent (as before 0.2).
    if (!vm["no-default-roles"].as<bool>()) {
      if (registries_.empty()) registries_.emplace_back("Elixir.HordeCnode.Registry");
      if (supervisors_.empty()) supervisors_.emplace_back("Elixir.HordeCnode.Supervisor");
    }
    return {};
  }

  std::error_code start(cnode::Node& node) override {
    horde::ControlProcess* control = horde::ensure_control_process(node);
    if (control == nullptr) {
      HC_LOG(error) << "horde_cnode is registered by another process";
      return make_error_code(cnode::Errc::name_registered);
    }
    if (!control->has_handler("lookup")) horde::install_registry_handlers(*control);
    if (!control->has_handler("which_children")) horde::install_supervisor_handlers(*control);
    // Keep the member nodes connected (so monitors and syncs reach them).
    for (const Atom& m : member_nodes_)
      if (m != node.name()) node.add_peer(m);

    for (const Atom& name : registries_) {
      horde::RegistryOptions o;
      o.name = name;
      o.sync_interval = sync_interval_;
      o.members_auto = members_auto_;
      for (const Atom& m : member_nodes_) o.members.push_back(horde::MemberSpec{name, m});
      if (!horde::RegistryProcess::start(node, std::move(o))) {
        HC_LOG(error) << "cannot start registry " << name << ": the name is taken";
        return make_error_code(cnode::Errc::name_registered);
      }
      HC_LOG(info) << "registry " << name << " running (sync interval " << sync_interval_.count() << " ms, "
                   << member_nodes_.size() << " configured member node(s))";
    }
    for (const Atom& name : supervisors_) {
      horde::SupervisorOptions o;
      o.name = name;
      o.members_auto = members_auto_;
      o.sync_interval = sync_interval_;
      o.strategy = strategy_;
      o.kinds = kinds_;
      if (!members_auto_)
        for (const Atom& m : member_nodes_) o.members.push_back(tuple(name, m));
      if (!horde::SupervisorProcess::start(node, o)) {
        HC_LOG(error) << "cannot start supervisor " << name << ": the name is taken";
        return make_error_code(cnode::Errc::name_registered);
      }
      HC_LOG(info) << "supervisor " << name << " running (" << strategy_name_ << " distribution, "
                   << kinds_->modules().size() << " C++ worker kind(s))";
    }
    return {};
  }

  // Horde's graceful stop (status shutting_down, children handed off to the
  // members the ring picks) before the node goes away.
  void before_stop(cnode::Node& node, std::function<void()> done) override {
    auto names = horde::SupervisorProcess::running(node);
    auto pending = std::make_shared<std::size_t>(names.size() + 1);
    // graceful_stop's callback runs inside N's exit: continue on a later turn.
    auto one_done = [&node, pending, done] {
      if (--*pending == 0) node.post(done);
    };
    for (const Atom& name : names)
      if (auto* sp = horde::SupervisorProcess::find(node, name)) sp->graceful_stop(one_done);
      else one_done();
    one_done();
  }

 private:
  std::shared_ptr<const horde::WorkerKinds> kinds_;
  std::vector<Atom> member_nodes_;
  bool members_auto_ = false;
  std::chrono::milliseconds sync_interval_{300};
  std::string strategy_name_;
  std::shared_ptr<const horde::DistributionStrategy> strategy_;
  std::vector<Atom> registries_, supervisors_;
};

}  // namespace

Atom module_atom(std::string_view text) {
  if (text.starts_with("Elixir.") || text.empty() || !(text[0] >= 'A' && text[0] <= 'Z')) return Atom(text);
  return Atom("Elixir." + std::string(text));
}

std::shared_ptr<Extension> make_horde_roles(horde::WorkerKinds kinds) {
  return std::make_shared<HordeRoles>(std::move(kinds));
}

}  // namespace hc::sdk
