#include "cnode/router.hpp"

#include "cnode/flags.hpp"

namespace hc::cnode {

Route Router::route(const Pid& from, const Dest& to) const {
  const Atom self = procs_.node();
  if (auto p = to.pid()) {
    if (procs_.is_local(*p)) return RouteLocal{*p};
    if (p->node == self) return RouteNowhere{};  // a previous incarnation's pid
    if ((peers_.peer_flags(p->node) & dflag::SEND_SENDER) || !peers_.is_connected(p->node))
      return RouteRemote{p->node, ctrl::SendSender{from, *p}};
    return RouteRemote{p->node, ctrl::Send{Term(Atom("")), *p}};
  }
  if (auto a = to.local_name()) {
    if (auto p = procs_.whereis(*a)) return RouteLocal{*p};
    return RouteNowhere{};
  }
  if (auto rn = to.remote_name()) {
    if (rn->node == self) {
      if (auto p = procs_.whereis(rn->name)) return RouteLocal{*p};
      return RouteNowhere{};
    }
    static const Term kUnused{Atom("")};
    return RouteRemote{rn->node, ctrl::RegSend{from, kUnused, rn->name}};
  }
  if (auto al = to.alias()) {
    if (al->node == self) {
      if (auto p = alias_owner(*al)) return RouteLocal{*p};
      return RouteNowhere{};
    }
    if (peers_.peer_flags(al->node) & dflag::ALIAS) return RouteRemote{al->node, ctrl::AliasSend{from, *al}, false};
  }
  return RouteNowhere{};
}

std::optional<Pid> Router::alias_owner(const Reference& alias) const {
  auto it = aliases_.find(Term(alias));
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

ProcessEntry* Router::target(const Term& pid_or_name) const {
  if (auto p = pid_or_name.as_pid()) return procs_.entry(*p);
  if (auto a = pid_or_name.as_atom())
    if (auto p = procs_.whereis(*a)) return procs_.entry(*p);
  return nullptr;
}

bool Router::add_alias(const Pid& owner, const Reference& alias) {
  ProcessEntry* e = procs_.entry(owner);
  if (!e) return false;
  const Term key(alias);
  aliases_[key] = owner;
  e->aliases.push_back(key);
  return true;
}

void Router::remove_alias(const Reference& alias) {
  const Term key(alias);
  auto it = aliases_.find(key);
  if (it == aliases_.end()) return;
  if (ProcessEntry* e = procs_.entry(it->second)) std::erase(e->aliases, key);
  aliases_.erase(it);
}

void Router::release(const std::vector<Term>& aliases) {
  for (const auto& a : aliases) aliases_.erase(a);
}

}  // namespace hc::cnode
