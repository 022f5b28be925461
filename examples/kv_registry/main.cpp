// Example (a): a key-value store written in C++, registered as "kv" in a
// Horde.Registry, called from Elixir with
//   GenServer.call({:via, Horde.Registry, {MyApp.Registry, "kv"}}, {:put, :a, 1})
// The program has every flag of horde-cnode (run_node) plus --kv-name.
#include <horde_cnode/sdk/horde_cnode.hpp>

#include <map>

namespace {

using hc::Term;

// A GenServer: {put, K, V} -> ok, {get, K} -> {ok, V} | not_found,
// {delete, K} -> ok, keys -> [K], size -> N. Runs on the node's io thread.
class KvServer final : public hc::cnode::GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term& /*from*/) override {
    if (request.is_tuple(3) && request.element(0)->is_atom("put")) {
      store_.insert_or_assign(*request.element(1), *request.element(2));
      return hc::atom("ok");
    }
    if (request.is_tuple(2) && request.element(0)->is_atom("get")) {
      auto it = store_.find(*request.element(1));
      if (it == store_.end()) return hc::atom("not_found");
      return hc::tuple(hc::atom("ok"), it->second);
    }
    if (request.is_tuple(2) && request.element(0)->is_atom("delete")) {
      store_.erase(*request.element(1));
      return hc::atom("ok");
    }
    if (request.is_atom("keys")) {
      hc::TermVector keys;
      for (const auto& [k, v] : store_) keys.push_back(k);
      return Term::list(std::move(keys));
    }
    if (request.is_atom("size")) return Term(static_cast<std::int64_t>(store_.size()));
    return hc::tuple(hc::atom("error"), hc::tuple(hc::atom("unknown_call"), request));
  }

 private:
  std::map<Term, Term> store_;  // Erlang term order
};

// An extension only to show how a program adds its own flag.
class KvFlags final : public hc::sdk::Extension {
 public:
  std::string name() const override { return "kv example"; }
  void add_options(hc::sdk::po::options_description& o) override {
    o.add_options()("kv-name", hc::sdk::po::value<std::string>(&key_)->default_value("kv"),
                    "the name (a binary) the store registers under in every registry");
  }
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace

int main(int argc, char** argv) {
  auto flags = std::make_shared<KvFlags>();
  hc::sdk::ApplicationSpec spec;
  spec.program = "kv_registry";
  spec.extensions.push_back(flags);
  spec.on_start = [flags](hc::cnode::Node& node) -> std::error_code {
    // Also a locally registered name, so plain {kv, Node} works without Horde.
    const hc::Pid pid = node.spawn(std::make_unique<KvServer>(), {.register_as = hc::Atom("kv")});
    for (const hc::Atom& registry : hc::horde::RegistryApi::running(node)) {
      auto r = hc::horde::RegistryApi::find(node, registry)->register_pid(pid, hc::binary(flags->key()), hc::atom("nil"));
      if (!r) return r.error();
      HC_LOG(info) << "kv store registered as \"" << flags->key() << "\" in " << registry;
    }
    return {};
  };
  return hc::sdk::run_node(argc, argv, std::move(spec));
}
