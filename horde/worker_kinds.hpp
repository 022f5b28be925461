// C++ worker kinds: the children a C++ member can start, keyed by the start
// module atom of the child spec. A spec
//   %{id: _, start: {CppWorkers.Counter, :start_link, [Initial]}, ...}
// starts the kind registered as 'Elixir.CppWorkers.Counter' with
// (function start_link, args [Initial]).
//
// A worker is a plain object with gen_server-like callbacks; the
// ProcessesSupervisor runs each one in its own C++ process (a real pid, links,
// exit signals, gen_server calls from the BEAM). Workers never block: they
// answer or stop.
//
// Built-in kinds (used by outside checks, keep their behaviour stable):
//   'Elixir.CppWorkers.Echo'    start_link(Arg): every call is answered with
//                               the request itself.
//   'Elixir.CppWorkers.Counter' start_link(Initial :: integer): call `get` ->
//                               the value; `{add, N}` -> the new value;
//                               `{stop, Reason}` -> replies ok and exits with
//                               Reason (for restart tests); anything else ->
//                               {error, {unknown_call, Request}}.
//
// Thread safety: the registry is immutable once the node runs (build it
// first); workers run on the node's io thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "interop/term.hpp"

namespace hc::horde {

// What a callback asks for: an optional reply (calls only) and an optional
// stop reason (the worker exits with it after the reply is sent).
struct WorkerStep {
  std::optional<Term> reply;
  std::optional<Term> stop;
  static WorkerStep answer(Term r) { return {std::move(r), std::nullopt}; }
  static WorkerStep none() { return {}; }
  static WorkerStep stop_with(Term reason, std::optional<Term> r = std::nullopt) { return {std::move(r), std::move(reason)}; }
};

class Worker {
 public:
  virtual ~Worker() = default;
  virtual WorkerStep handle_call(const Term& request) = 0;
  virtual WorkerStep handle_cast(const Term& request) { (void)request; return WorkerStep::none(); }
  virtual WorkerStep handle_info(const Term& message) { (void)message; return WorkerStep::none(); }
  virtual void terminate(const Term& reason) { (void)reason; }
};

// A started worker, or the Reason of the {error, Reason} start_child returns.
using WorkerStart = std::variant<std::unique_ptr<Worker>, Term>;
// Called with the start function name and the arguments (extra_arguments ++ A).
using WorkerFactory = std::function<WorkerStart(const Atom& function, std::span<const Term> args)>;

class WorkerKinds {
 public:
  // Registers (or replaces) the kind for `module`.
  void add(Atom module, WorkerFactory factory);
  const WorkerFactory* find(const Atom& module) const;
  bool provides(const Atom& module) const { return find(module) != nullptr; }
  // Sorted module atoms: what a member advertises in cpp_worker_kinds.
  std::vector<Atom> modules() const;

  // Starts `module:function(args)`: the worker, or the error reason:
  //   {cpp_worker_kind_not_provided, Module, Node} when unknown (Node filled
  //   in by the caller), {undef, {M, F, Args}} for an unknown function or
  //   arity, or the kind's own reason.
  WorkerStart start(const Atom& module, const Atom& function, std::span<const Term> args) const;

  // Echo and Counter.
  static WorkerKinds builtin();

 private:
  std::map<Atom, WorkerFactory> kinds_;
};

// Helper for factories: the {undef, {M, F, Args}} reason.
Term undef_reason(const Atom& module, const Atom& function, std::span<const Term> args);

}  // namespace hc::horde
