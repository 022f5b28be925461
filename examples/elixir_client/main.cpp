// Example (c): a C++ client of an Elixir GenServer found through Horde.
// Every --every MS the client looks KEY up in the registry (a local read of
// the CRDT view, no message) and, once found, calls it with
// {:greet, "C++"} and prints the reply on stdout:
//
//   reply from #Pid<...>: <<"hello, C++">>
//
// With --once it stops the program after the first reply.
#include <horde_cnode/sdk/horde_cnode.hpp>

#include <csignal>
#include <iostream>

namespace {

using namespace std::chrono_literals;
using hc::Term;

struct ClientConfig {
  std::string registry = "HordeCnode.Registry";
  std::string key = "greeter";
  unsigned every_ms = 500;
  bool once = false;
};

class ClientFlags final : public hc::sdk::Extension {
 public:
  explicit ClientFlags(ClientConfig& c) : c_(c) {}
  std::string name() const override { return "elixir client example"; }
  void add_options(hc::sdk::po::options_description& o) override {
    namespace po = hc::sdk::po;
    o.add_options()
        ("lookup-registry", po::value<std::string>(&c_.registry)->default_value(c_.registry), "registry to look KEY up in")
        ("lookup-key", po::value<std::string>(&c_.key)->default_value(c_.key), "the name (a binary) to look up")
        ("every", po::value<unsigned>(&c_.every_ms)->default_value(c_.every_ms), "milliseconds between attempts")
        ("once", po::bool_switch(&c_.once), "stop after the first reply");
  }
  std::string configure(const hc::sdk::po::variables_map&) override {
    return c_.every_ms == 0 ? "invalid --every 0 (milliseconds > 0)" : "";
  }

 private:
  ClientConfig& c_;
};

// The client process: a timer message drives each attempt; the call is
// asynchronous (the io thread never waits for the Elixir side).
class Client final : public hc::cnode::Process {
 public:
  explicit Client(ClientConfig c) : c_(std::move(c)) {}

  void init() override { send_after(std::chrono::milliseconds(0), hc::atom("tick")); }

  void handle_message(const Term& message) override {
    if (!message.is_atom("tick") || busy_) return;
    auto registry = hc::horde::RegistryApi::find(node(), hc::sdk::module_atom(c_.registry));
    auto hit = registry ? registry->lookup(hc::binary(c_.key)) : std::nullopt;
    if (!hit) {
      send_after(std::chrono::milliseconds(c_.every_ms), hc::atom("tick"));
      return;
    }
    busy_ = true;
    const hc::Pid target = hit->pid;
    call(target, hc::tuple(hc::atom("greet"), hc::binary("C++")), 5s, [this, target](hc::cnode::CallResult r) {
      busy_ = false;
      if (r) {
        std::cout << "reply from " << Term(target) << ": " << r.value() << std::endl;
        if (c_.once) {
          ::raise(SIGTERM);  // the program's graceful stop
          return;
        }
      } else {
        std::cout << "call failed: " << r.reason() << std::endl;
      }
      send_after(std::chrono::milliseconds(c_.every_ms), hc::atom("tick"));
    });
  }

 private:
  ClientConfig c_;
  bool busy_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  ClientConfig config;
  hc::sdk::ApplicationSpec spec;
  spec.program = "elixir_client";
  spec.extensions.push_back(std::make_shared<ClientFlags>(config));
  spec.on_start = [&config](hc::cnode::Node& node) -> std::error_code {
    node.spawn(std::make_unique<Client>(config));
    return {};
  };
  return hc::sdk::run_node(argc, argv, std::move(spec));
}
