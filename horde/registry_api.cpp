#include "horde/registry_api.hpp"

#include "interop/error_condition.hpp"

namespace hc::horde {
namespace {

class RegistryCategory final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "horde_registry"; }
  std::string message(int ev) const override {
    switch (static_cast<RegistryErrc>(ev)) {
      case RegistryErrc::already_registered: return "already registered";
      case RegistryErrc::not_registered: return "not registered by this process";
      case RegistryErrc::no_registry: return "registry not running";
      case RegistryErrc::noproc: return "not a live local process";
      case RegistryErrc::bad_pattern: return "malformed select pattern";
    }
    return "unknown registry error";
  }

 protected:
  ConditionGroups groups(int ev) const noexcept override {
    switch (static_cast<RegistryErrc>(ev)) {
      case RegistryErrc::already_registered: return {errc::name_taken};
      case RegistryErrc::not_registered:
      case RegistryErrc::no_registry:
      case RegistryErrc::noproc: return {errc::not_found};
      case RegistryErrc::bad_pattern: return {errc::invalid_input};
    }
    return {};
  }
};

bool is_var(const Atom& a) {
  const std::string_view t = a.text();
  if (t.size() < 2 || t[0] != '$') return false;
  for (std::size_t i = 1; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

}  // namespace

const std::error_category& registry_category() noexcept {
  static const RegistryCategory category;
  return category;
}

Term RegistryApi::error_term(std::error_code error, const Term& key) const {
  if (error.category() != registry_category()) return Term(atom("unknown"));
  switch (static_cast<RegistryErrc>(error.value())) {
    case RegistryErrc::already_registered: {
      auto hit = lookup(key);
      return tuple(atom("already_registered"), hit ? Term(hit->pid) : Term(atom("undefined")));
    }
    case RegistryErrc::not_registered: return Term(atom("not_registered"));
    case RegistryErrc::no_registry: return Term(atom("no_registry"));
    case RegistryErrc::noproc: return Term(atom("noproc"));
    case RegistryErrc::bad_pattern: return Term(atom("bad_pattern"));
  }
  return Term(atom("unknown"));
}

bool match_pattern(const Term& pattern, const Term& term, std::vector<std::pair<Atom, Term>>& bindings) {
  if (const Atom* a = pattern.as_atom()) {
    if (a->text() == "_") return true;
    if (is_var(*a)) {
      for (const auto& [var, bound] : bindings)
        if (var == *a) return bound == term;
      bindings.emplace_back(*a, term);
      return true;
    }
    return term == pattern;
  }
  if (pattern.type() != term.type()) return false;
  switch (pattern.type()) {
    case Term::Type::Tuple: {
      auto p = pattern.tuple_elements();
      auto t = term.tuple_elements();
      if (p.size() != t.size()) return false;
      for (std::size_t i = 0; i < p.size(); ++i)
        if (!match_pattern(p[i], t[i], bindings)) return false;
      return true;
    }
    case Term::Type::List: {
      auto p = pattern.list_elements();
      auto t = term.list_elements();
      if (p.size() != t.size()) return false;
      for (std::size_t i = 0; i < p.size(); ++i)
        if (!match_pattern(p[i], t[i], bindings)) return false;
      return match_pattern(pattern.list_tail(), term.list_tail(), bindings);
    }
    case Term::Type::Map: {
      // Like a match-spec map pattern: every pattern key must be present
      // (keys are literal) and its value must match.
      for (const auto& [k, v] : pattern.map_entries()) {
        const Term* tv = term.map_get(k);
        if (tv == nullptr || !match_pattern(v, *tv, bindings)) return false;
      }
      return true;
    }
    default:
      return pattern == term;
  }
}

std::optional<RegistryApi> RegistryApi::find(cnode::Node& node, Atom name) {
  if (RegistryProcess::find(node, name) == nullptr) return std::nullopt;
  return RegistryApi(node, name);
}

RegistryProcess* RegistryApi::process() const { return RegistryProcess::find(*node_, name_); }

Result<Pid> RegistryApi::register_self(const cnode::Process& caller, const Term& key, const Term& value) {
  return register_pid(caller.self(), key, value);
}

Result<Pid> RegistryApi::register_pid(const Pid& pid, const Term& key, const Term& value) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  if (pid.node != node_->name() || !node_->is_alive(pid)) return RegistryErrc::noproc;
  if (lookup(key)) return RegistryErrc::already_registered;
  Term reply = p->local_call(RegisterCall{key, value, pid});
  if (reply.is_tuple(2)) {
    if (const Pid* reg = reply.element(1)->as_pid()) return *reg;
  }
  return RegistryErrc::no_registry;
}

Result<void> RegistryApi::unregister_self(const cnode::Process& caller, const Term& key) {
  return unregister_pid(caller.self(), key);
}

Result<void> RegistryApi::unregister_pid(const Pid& pid, const Term& key) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  p->local_call(UnregisterCall{key, pid});
  return {};
}

Result<std::pair<Term, Term>> RegistryApi::update_value(const cnode::Process& caller, const Term& key,
                                                               const std::function<Term(const Term&)>& update) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  auto entry = p->state().find(key);
  if (!entry || !(entry->pid == caller.self())) return RegistryErrc::not_registered;
  Term old = entry->value;
  Term next = update(old);
  p->local_call(UpdateValueCall{key, caller.self(), next});
  return std::make_pair(std::move(next), std::move(old));
}

std::optional<RegistryMatch> RegistryApi::lookup(const Term& key) const {
  RegistryProcess* p = process();
  if (p == nullptr) return std::nullopt;
  auto e = p->state().lookup(key, [p](const Pid& pid) { return p->pid_alive(pid); });
  if (!e) return std::nullopt;
  return RegistryMatch{key, e->pid, e->value};
}

std::size_t RegistryApi::count() const {
  RegistryProcess* p = process();
  return p == nullptr ? 0 : p->state().count();
}

std::vector<Term> RegistryApi::keys(const Pid& pid) const {
  RegistryProcess* p = process();
  if (p == nullptr) return {};
  return p->state().keys_of(pid);
}

Result<std::vector<RegistryMatch>> RegistryApi::select(const Term& key_pattern) const {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  std::vector<RegistryMatch> out;
  std::vector<std::pair<Atom, Term>> bindings;
  p->state().for_each([&](const Term& key, const RegistryEntry& e) {
    bindings.clear();
    if (match_pattern(key_pattern, key, bindings)) out.push_back(RegistryMatch{key, e.pid, e.value});
  });
  return out;
}

std::vector<RegistryMatch> RegistryApi::select_if(
    const std::function<bool(const Term&, const Pid&, const Term&)>& pred) const {
  std::vector<RegistryMatch> out;
  RegistryProcess* p = process();
  if (p == nullptr) return out;
  p->state().for_each([&](const Term& key, const RegistryEntry& e) {
    if (pred(key, e.pid, e.value)) out.push_back(RegistryMatch{key, e.pid, e.value});
  });
  return out;
}

std::optional<Term> RegistryApi::meta(const Term& key) const {
  RegistryProcess* p = process();
  if (p == nullptr) return std::nullopt;
  return p->state().meta(key);
}

Result<void> RegistryApi::put_meta(const Term& key, const Term& value) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  p->local_call(PutMetaCall{key, value});
  return {};
}

Result<void> RegistryApi::delete_meta(const Term& key) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  p->local_call(DeleteMetaCall{key});
  return {};
}

std::vector<RegistryMember> RegistryApi::members() const {
  RegistryProcess* p = process();
  if (p == nullptr) return {};
  return p->state().members();
}

Result<void> RegistryApi::set_members(const std::vector<MemberSpec>& members) {
  RegistryProcess* p = process();
  if (p == nullptr) return RegistryErrc::no_registry;
  p->local_call(SetMembersCall{members});
  return {};
}

std::optional<RegistryProcess::ListenerId> RegistryApi::add_listener(RegistryProcess::Listener listener) {
  RegistryProcess* p = process();
  if (p == nullptr) return std::nullopt;
  return p->add_listener(std::move(listener));
}

void RegistryApi::remove_listener(RegistryProcess::ListenerId id) {
  if (RegistryProcess* p = process()) p->remove_listener(id);
}

Term RegistryApi::stats_term() const {
  RegistryProcess* p = process();
  return p == nullptr ? Term(atom("undefined")) : p->stats_term();
}

}  // namespace hc::horde
