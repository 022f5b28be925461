#include "horde/control_process.hpp"

#include <chrono>

#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "horde/echo_process.hpp"
#include "horde/registry_api.hpp"
#include "horde/role_supervisor.hpp"

namespace hc::horde {
namespace {

Term error(Term reason) { return tuple(atom("error"), std::move(reason)); }

// The node's live control process (a Node attachment: one per node).
struct ControlRecord {
  ControlProcess* live = nullptr;
};

std::string_view tag_of(const Term& request) {
  if (const Atom* a = request.as_atom()) return a->text();
  if (request.is_tuple() && !request.tuple_elements().empty())
    if (const Atom* a = request.element(0)->as_atom()) return a->text();
  return {};
}

}  // namespace

ControlProcess* ControlProcess::of(cnode::Node& node) { return node.attachment<ControlRecord>().live; }

void ControlProcess::init() { node().attachment<ControlRecord>().live = this; }

void ControlProcess::terminate(const Term&) {
  ControlProcess*& live = node().attachment<ControlRecord>().live;
  if (live == this) live = nullptr;
}

void ControlProcess::add_handler(std::string_view tag, Handler handler) {
  handlers_[std::string(tag)] = std::move(handler);
}

void ControlProcess::add_stats_provider(StatsProvider provider) { stats_.push_back(std::move(provider)); }

bool ControlProcess::has_handler(std::string_view tag) const { return handlers_.find(tag) != handlers_.end(); }

std::optional<Term> ControlProcess::handle_call(const Term& request, const Term& from) {
  if (request.is_atom("stats")) {
    TermPairs out;
    out.emplace_back(atom("node"), node().name());
    out.emplace_back(atom("processes"), Term(static_cast<std::uint64_t>(node().process_count())));
    for (auto& provider : stats_) provider(*this, out);
    return Term::map(std::move(out));
  }
  auto it = handlers_.find(tag_of(request));
  if (it == handlers_.end()) {
    HC_LOG(warn) << "horde_cnode: unknown request " << request;
    return error(tuple(atom("unknown_request"), request));
  }
  return it->second(*this, request, from);
}

ControlProcess* ensure_control_process(cnode::Node& node) {
  if (ControlProcess* live = ControlProcess::of(node)) return live;
  // The name held by a process of another kind: no control process.
  if (node.whereis(ControlProcess::registered_name())) return nullptr;
  cnode::SpawnOptions options;
  options.register_as = ControlProcess::registered_name();
  // init() (run within spawn) enters the process in the node's record.
  node.spawn(std::make_unique<ControlProcess>(), options);
  return ControlProcess::of(node);
}

// ---- registry handlers ---------------------------------------------------------

void install_registry_handlers(ControlProcess& control) {
  // Resolves the registry named by element `i` or produces the error reply.
  auto registry_at = [](ControlProcess& self, const Term& req, std::size_t i,
                        Term& err) -> std::optional<RegistryApi> {
    const Atom* name = req.element(i) ? req.element(i)->as_atom() : nullptr;
    if (name == nullptr) {
      err = error(tuple(atom("bad_request"), req));
      return std::nullopt;
    }
    auto api = RegistryApi::find(self.node(), *name);
    if (!api) err = error(tuple(atom("no_registry"), *name));
    return api;
  };

  control.add_handler("spawn_echo", [](ControlProcess& self, const Term& req, const Term&) -> std::optional<Term> {
    if (!req.is_tuple(1)) return error(tuple(atom("bad_request"), req));
    Pid pid = self.node().spawn(std::make_unique<EchoProcess>());
    return tuple(atom("ok"), pid);
  });

  control.add_handler("register", [registry_at](ControlProcess& self, const Term& req,
                                                const Term&) -> std::optional<Term> {
    if (!req.is_tuple(5) || !req.element(4)->is_pid()) return error(tuple(atom("bad_request"), req));
    Term err;
    auto api = registry_at(self, req, 1, err);
    if (!api) return err;
    auto result = api->register_pid(*req.element(4)->as_pid(), *req.element(2), *req.element(3));
    if (result) return tuple(atom("ok"), *result);
    return error(api->error_term(result.error(), *req.element(2)));
  });

  control.add_handler("unregister", [registry_at](ControlProcess& self, const Term& req,
                                                  const Term&) -> std::optional<Term> {
    if (!req.is_tuple(4) || !req.element(3)->is_pid()) return error(tuple(atom("bad_request"), req));
    Term err;
    auto api = registry_at(self, req, 1, err);
    if (!api) return err;
    // Horde's unregister answers ok whether or not the key was held; so do we.
    (void)api->unregister_pid(*req.element(3)->as_pid(), *req.element(2));
    return Term(atom("ok"));
  });

  control.add_handler("lookup", [registry_at](ControlProcess& self, const Term& req,
                                              const Term&) -> std::optional<Term> {
    if (!req.is_tuple(3)) return error(tuple(atom("bad_request"), req));
    Term err;
    auto api = registry_at(self, req, 1, err);
    if (!api) return err;
    if (auto hit = api->lookup(*req.element(2))) return list(tuple(hit->pid, hit->value));
    return Term::nil();
  });

  control.add_handler("count", [registry_at](ControlProcess& self, const Term& req,
                                             const Term&) -> std::optional<Term> {
    if (!req.is_tuple(2)) return error(tuple(atom("bad_request"), req));
    Term err;
    auto api = registry_at(self, req, 1, err);
    if (!api) return err;
    return Term(static_cast<std::uint64_t>(api->count()));
  });

  // {call, Registry, Key, Request} -> {ok, Reply} | {error, Reason}: the C++
  // node looks Key up in its replica and gen_server-calls whoever holds it
  // (an Elixir process on another node as readily as a local one). The reply
  // is sent when the call completes, so the io thread never waits.
  control.add_handler("call", [registry_at](ControlProcess& self, const Term& req,
                                            const Term& from) -> std::optional<Term> {
    if (!req.is_tuple(4)) return error(tuple(atom("bad_request"), req));
    Term err;
    auto api = registry_at(self, req, 1, err);
    if (!api) return err;
    auto hit = api->lookup(*req.element(2));
    if (!hit) return error(tuple(atom("not_registered"), *req.element(2)));
    // Shorter than GenServer.call's default 5 s, so our error reaches the caller first.
    constexpr std::chrono::milliseconds kCallTimeout{4000};
    self.call(hit->pid, *req.element(3), kCallTimeout, [&self, from](cnode::CallResult result) {
      self.reply(from, result.ok() ? tuple(atom("ok"), result.value()) : error(result.reason()));
    });
    return std::nullopt;
  });

  control.add_handler("exit", [](ControlProcess& self, const Term& req, const Term&) -> std::optional<Term> {
    if (!req.is_tuple(3) || !req.element(1)->is_pid()) return error(tuple(atom("bad_request"), req));
    const Pid& pid = *req.element(1)->as_pid();
    cnode::Process* target = pid.node == self.node().name() ? self.node().find(pid) : nullptr;
    if (target == nullptr) return error(tuple(atom("noproc"), pid));
    // The process exits with Reason whatever it is (also `normal`, and also
    // when it traps exits), as the request promises.
    target->exit(*req.element(2));
    return Term(atom("ok"));
  });

  control.add_stats_provider([](ControlProcess& self, TermPairs& out) {
    TermPairs registries;
    for (const Atom& name : RegistryApi::running(self.node())) {
      if (auto api = RegistryApi::find(self.node(), name)) registries.emplace_back(name, api->stats_term());
    }
    out.emplace_back(atom("registries"), Term::map(std::move(registries)));
    // Every Horde role of the node with its supervision status: running,
    // restarting, or stopped_restart_intensity_exceeded (then it is in no
    // other entry of stats), with its restarts and last crash reason.
    out.emplace_back(atom("roles"), RoleDirectory::of(self.node()).stats_term());
  });
}

}  // namespace hc::horde
