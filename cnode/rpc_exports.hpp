// C++ functions that BEAM nodes call with `:erpc.call/4,5`, `:rpc.call/4,5`,
// `:erpc.cast/4`, `:rpc.cast/4`, `:erpc.multicall` ... (all of them are
// SPAWN_REQUESTs of erpc:execute_call/4 or erpc:execute_cast/3 since OTP 23;
// see spawn_request.hpp for the wire side).
//
//   node.export_function(Atom("Elixir.MyCpp.Math"), Atom("add"), 2,
//       [](std::span<const Term> a) -> Term {
//         auto x = a[0].as_int(), y = a[1].as_int();
//         if (!x || !y) throw RpcException::error(Term(Atom("badarith")));
//         return Term(*x + *y);
//       });
//   % Elixir: :erpc.call(:"cpp@host", MyCpp.Math, :add, [1, 2])  #=> 3
//
// Outcomes map to what erpc:execute_call/4 reports for a BEAM function:
// - a returned term:                     erpc:call returns it
// - RpcException::error(R) (or any other C++ exception, as
//   {cpp_exception, <<what()>>}):        error {exception, R, [{M, F, Arity, []}]}
// - RpcException::exit(R):               exit {exception, R}
// - RpcException::thrown(V):             throw V (rpc:call returns V)
// - a function of an exported module that is not exported (other name or
//   arity): error {exception, undef, [{M, F, Args, []}]}, as the BEAM's undef;
// - a module with no exported function at all: the spawn is refused with
//   `notsup` ({erpc, notsup}, rpc's {badrpc, ...}) and a log line names M:F/A.
// Timeouts are the caller's: erpc waits for the result with its own timer.
//
// Threading: functions run on the io thread, in the connection's turn, so
// they must not block. A function that needs to wait (e.g. call another
// process) uses export_async_function and answers through RpcReply later,
// on the io thread.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>

#include "interop/term.hpp"

namespace hc::cnode {

// An Erlang exception raised by an exported C++ function.
class RpcException : public std::exception {
 public:
  enum class Class { error, exit, thrown };
  RpcException(Class c, Term reason) : class_(c), reason_(std::move(reason)) {}
  static RpcException error(Term reason) { return {Class::error, std::move(reason)}; }
  static RpcException exit(Term reason) { return {Class::exit, std::move(reason)}; }
  static RpcException thrown(Term value) { return {Class::thrown, std::move(value)}; }
  Class exception_class() const noexcept { return class_; }
  const Term& reason() const noexcept { return reason_; }
  const char* what() const noexcept override { return "erlang exception"; }

 private:
  Class class_;
  Term reason_;
};

// What a call produced: a value or an exception with its stack.
struct RpcOutcome {
  enum class Kind { value, error, exit, thrown };
  Kind kind = Kind::value;
  Term value;  // the value, or the exception's reason
  Term stack;  // Kind::error only
  static RpcOutcome returned(Term v) { return {Kind::value, std::move(v), Term()}; }
};

using RpcFunction = std::function<Term(std::span<const Term> args)>;
using RpcReply = std::function<void(RpcOutcome)>;  // call once, on the io thread
using RpcAsyncFunction = std::function<void(std::span<const Term> args, RpcReply reply)>;

// The exit reason of the erpc:execute_call/4 process for `outcome`:
// {Ref, return, V} | {Ref, throw, V} | {Ref, exit, R} | {Ref, error, R, Stack}.
Term erpc_exit_reason(const Term& res_ref, const RpcOutcome& outcome);

// Run a synchronous function and map its exceptions (see above); `module`,
// `function` name the stack frame of an error.
RpcOutcome run_rpc_function(const RpcFunction& fn, std::span<const Term> args, Atom module, Atom function);

// The exported functions of one node. Io thread only.
class RpcExports {
 public:
  enum class Lookup { found, undef, unknown_module };

  void add(Atom module, Atom function, unsigned arity, RpcAsyncFunction fn);
  void add_sync(Atom module, Atom function, unsigned arity, RpcFunction fn);
  bool remove(Atom module, Atom function, unsigned arity);
  // The function, or nullptr with `why` undef (module known) / unknown_module.
  const RpcAsyncFunction* find(Atom module, Atom function, std::size_t arity, Lookup& why) const;
  std::size_t size() const noexcept { return functions_.size(); }

 private:
  std::map<std::tuple<Atom, Atom, std::size_t>, RpcAsyncFunction> functions_;
  std::map<Atom, std::size_t> modules_;  // module -> number of exported functions
};

}  // namespace hc::cnode
