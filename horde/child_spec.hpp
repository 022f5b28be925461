// Horde.DynamicSupervisor child specs: parsing, validation and the id
// randomisation, mirroring Horde 0.10.0.
//
// - Horde.DynamicSupervisor.start_child/2 runs Supervisor.child_spec(Spec, [])
//   on the caller, which requires a map with `id` and `start` (it raises
//   otherwise); the spec map is then stored and hashed exactly as given (no
//   defaults are added to it).
// - DynamicSupervisorImpl replaces `id` with `:rand.uniform(2^128)`, an
//   integer in 1..2^128, on every start_child call it handles (also after a
//   proxy hop) and when it restarts the children of a dead member.
// - Horde.ProcessesSupervisor.validate_child/1 fills the defaults (restart
//   permanent, type worker, shutdown 5000 for workers and infinity for
//   supervisors, modules [M]) and rejects bad fields with exactly these
//   reasons, which the caller receives as {error, Reason}:
//   {invalid_mfa, Start} | {invalid_restart_type, R} | {invalid_shutdown, S}
//   | {invalid_child_type, T} | {invalid_modules, Ms}.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>

#include "interop/term.hpp"

namespace hc::horde {

enum class RestartType { permanent, transient, temporary };
enum class ChildType { worker, supervisor };

struct Shutdown {
  enum class Kind { timeout, infinity, brutal_kill };
  Kind kind = Kind::timeout;
  std::chrono::milliseconds timeout{5000};
  bool operator==(const Shutdown&) const = default;
};

// A validated child spec.
struct ChildSpec {
  Term spec;  // the map as stored in the CRDT (with Horde's id)
  Term id;
  Atom module;
  Atom function;
  TermVector args;
  RestartType restart = RestartType::permanent;
  Shutdown shutdown;
  ChildType type = ChildType::worker;
  Term modules;  // list of atoms or 'dynamic'

  Term restart_atom() const;
  Term type_atom() const;
};

// The spec or the Reason of {error, Reason}.
using ParseResult = std::variant<ChildSpec, Term>;

// Supervisor.child_spec(Spec, []) acceptance (a map with id and start; any
// other shape gives {invalid_child_spec, Spec}) followed by
// ProcessesSupervisor.validate_child/1.
ParseResult parse_child_spec(const Term& spec);

// Source of 64 random bits; injected so tests are deterministic.
using RandomBits = std::function<std::uint64_t()>;

// :rand.uniform(2^128): an integer in 1..2^128.
Term random_child_id(const RandomBits& random);
// Map.put(Spec, :id, random_child_id()).
Term randomize_child_id(const Term& spec, const RandomBits& random);
// Map.put(Spec, :id, Id).
Term with_child_id(const Term& spec, const Term& id);

// The default child spec of `use GenServer`'s child_spec/1 for module M and
// argument A: %{id: M, start: {M, start_link, [A]}}. Lets the control process
// accept `{Module, Arg}` for C++ kinds like the Elixir caller would.
Term default_child_spec(const Atom& module, const Term& arg);

}  // namespace hc::horde
