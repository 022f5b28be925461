// The C++ API of a Horde.Registry running on this node, in the spirit of
// Horde.Registry (https://hexdocs.pm/horde/Horde.Registry.html), with
// results and errors as values: hc::Result<T> with RegistryErrc codes.
//
//   auto reg = RegistryApi::find(node, atom("Elixir.MyApp.Registry"));
//   auto r = reg->register_self(*this, binary("worker-1"), atom("nil"));
//   if (r.error() == RegistryErrc::already_registered) ... reg->lookup(binary("worker-1"))->pid ...
//   if (auto hit = reg->lookup(binary("worker-1"))) send(hit->pid, msg);
//
// Semantics follow Horde.Registry 0.10.0:
// - register = lookup, then the {register, ...} call (so a name held by a
//   pid that lookup cannot see is taken over and resolved by the CRDT's
//   last-writer-wins; the loser gets the name_conflict exit);
// - lookup returns a name only when its member is in the cluster and its
//   pid is alive. Difference: a remote pid counts as alive when its node is
//   connected; we do not `erpc` `Process.alive?` for each lookup (that
//   would cost a round trip per lookup).
// - names of a process are removed when it exits (the registry links it).
//
// Threading: io thread only (call from a process callback or Node::run).
// A RegistryApi is a cheap handle; it stays valid while the registry lives
// (a call on a stopped registry returns `no_registry`).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "cnode/node.hpp"
#include "interop/result.hpp"
#include "horde/registry_process.hpp"

namespace hc::horde {

// Groups (interop/error_condition.hpp): already_registered is
// hc::errc::name_taken, bad_pattern invalid_input, the others not_found.
enum class RegistryErrc {
  already_registered = 1,  // the holder is lookup(key) (error_term() names it)
  not_registered,          // update_value: the caller does not own the key
  no_registry,             // the registry is not running
  noproc,                  // the pid is not a live local process
  bad_pattern,             // select: malformed pattern
};
const std::error_category& registry_category() noexcept;
inline std::error_code make_error_code(RegistryErrc e) noexcept { return {static_cast<int>(e), registry_category()}; }

struct RegistryMatch {
  Term key;
  Pid pid;
  Term value;
};

class RegistryApi {
 public:
  // The registry named `name` running on `node`.
  static std::optional<RegistryApi> find(cnode::Node& node, Atom name);
  static std::vector<Atom> running(cnode::Node& node) { return RegistryProcess::running(node); }

  Atom name() const noexcept { return name_; }

  // ---- registration ---------------------------------------------------------
  // Horde.Registry.register/3 for the calling process: {ok, RegistryPid}.
  // already_registered: the key's holder is lookup(key)->pid, unchanged
  // until the caller's turn on the io thread ends (error_term() puts it in
  // Horde's error shape).
  Result<Pid> register_self(const cnode::Process& caller, const Term& key, const Term& value);
  // The same for any live local process.
  Result<Pid> register_pid(const Pid& pid, const Term& key, const Term& value);
  // Horde.Registry.unregister/2 (by the caller / for `pid`). Always succeeds
  // when the registry runs, like Horde (even when nothing was registered).
  Result<void> unregister_self(const cnode::Process& caller, const Term& key);
  Result<void> unregister_pid(const Pid& pid, const Term& key);
  // Horde.Registry.update_value/3: {NewValue, OldValue}, or not_registered
  // when `caller` does not hold `key`.
  Result<std::pair<Term, Term>> update_value(const cnode::Process& caller, const Term& key,
                                             const std::function<Term(const Term&)>& update);

  // Horde's shape of a failed call on `key` as a term: {already_registered,
  // Holder} (the current holder, looked up now: call it in the turn the
  // error came) or the code's atom (not_registered, no_registry, ...).
  Term error_term(std::error_code error, const Term& key) const;

  // ---- reads (local views, no messages) -----------------------------------------
  // Horde.Registry.lookup/2 ([{Pid, Value}] as an optional).
  std::optional<RegistryMatch> lookup(const Term& key) const;
  std::size_t count() const;
  // Horde.Registry.keys/2.
  std::vector<Term> keys(const Pid& pid) const;
  // Every {Key, Pid, Value} whose key matches `key_pattern`: a term in
  // which the atom '_' matches anything and atoms '$1', '$2', ... match
  // anything but must match equal terms where repeated (match-spec heads).
  Result<std::vector<RegistryMatch>> select(const Term& key_pattern) const;
  // The same with a predicate over key, pid and value.
  std::vector<RegistryMatch> select_if(
      const std::function<bool(const Term& key, const Pid& pid, const Term& value)>& pred) const;

  // ---- meta -------------------------------------------------------------------
  std::optional<Term> meta(const Term& key) const;
  Result<void> put_meta(const Term& key, const Term& value);
  Result<void> delete_meta(const Term& key);

  // ---- membership ------------------------------------------------------------
  std::vector<RegistryMember> members() const;
  // Horde.Cluster.set_members/2.
  Result<void> set_members(const std::vector<MemberSpec>& members);

  // ---- listeners -------------------------------------------------------------------
  // Called (on the io thread) for every register/unregister the registry sees,
  // local or remote, with Horde's listener event.
  std::optional<RegistryProcess::ListenerId> add_listener(RegistryProcess::Listener listener);
  void remove_listener(RegistryProcess::ListenerId id);

  // The `stats` entry of this registry.
  Term stats_term() const;

 private:
  RegistryApi(cnode::Node& node, Atom name) : node_(&node), name_(name) {}
  RegistryProcess* process() const;

  cnode::Node* node_;
  Atom name_;
};

// Whether `term` matches a match-spec-like `pattern` ('_' and '$N' atoms);
// exposed for tests.
bool match_pattern(const Term& pattern, const Term& term, std::vector<std::pair<Atom, Term>>& bindings);

}  // namespace hc::horde

template <>
struct std::is_error_code_enum<hc::horde::RegistryErrc> : std::true_type {};
