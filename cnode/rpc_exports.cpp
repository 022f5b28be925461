#include "cnode/rpc_exports.hpp"

namespace hc::cnode {

Term erpc_exit_reason(const Term& res_ref, const RpcOutcome& o) {
  switch (o.kind) {
    case RpcOutcome::Kind::value: return tuple(res_ref, Atom("return"), o.value);
    case RpcOutcome::Kind::thrown: return tuple(res_ref, Atom("throw"), o.value);
    case RpcOutcome::Kind::exit: return tuple(res_ref, Atom("exit"), o.value);
    case RpcOutcome::Kind::error: return tuple(res_ref, Atom("error"), o.value, o.stack);
  }
  return tuple(res_ref, Atom("return"), o.value);
}

RpcOutcome run_rpc_function(const RpcFunction& fn, std::span<const Term> args, Atom module, Atom function) {
  // The frame a BEAM stack would show for the failing function.
  auto frame = [&] {
    return Term::list({tuple(module, function, static_cast<std::int64_t>(args.size()), Term::nil())});
  };
  try {
    return RpcOutcome::returned(fn(args));
  } catch (const RpcException& e) {
    switch (e.exception_class()) {
      case RpcException::Class::error: return {RpcOutcome::Kind::error, e.reason(), frame()};
      case RpcException::Class::exit: return {RpcOutcome::Kind::exit, e.reason(), Term()};
      case RpcException::Class::thrown: return {RpcOutcome::Kind::thrown, e.reason(), Term()};
    }
  } catch (const std::exception& e) {
    // Never let a C++ exception escape into the io loop: it becomes an
    // Erlang error the caller can read.
    return {RpcOutcome::Kind::error, tuple(Atom("cpp_exception"), Term::binary(e.what())), frame()};
  } catch (...) {
    return {RpcOutcome::Kind::error, tuple(Atom("cpp_exception"), Term::binary("unknown exception")), frame()};
  }
  return RpcOutcome::returned(Term());
}

void RpcExports::add(Atom module, Atom function, unsigned arity, RpcAsyncFunction fn) {
  auto [it, fresh] = functions_.insert_or_assign({module, function, arity}, std::move(fn));
  (void)it;
  if (fresh) ++modules_[module];
}

void RpcExports::add_sync(Atom module, Atom function, unsigned arity, RpcFunction fn) {
  add(module, function, arity, [module, function, fn = std::move(fn)](std::span<const Term> args, RpcReply reply) {
    reply(run_rpc_function(fn, args, module, function));
  });
}

bool RpcExports::remove(Atom module, Atom function, unsigned arity) {
  if (functions_.erase({module, function, arity}) == 0) return false;
  if (--modules_[module] == 0) modules_.erase(module);
  return true;
}

const RpcAsyncFunction* RpcExports::find(Atom module, Atom function, std::size_t arity, Lookup& why) const {
  auto it = functions_.find({module, function, arity});
  if (it != functions_.end()) {
    why = Lookup::found;
    return &it->second;
  }
  why = modules_.count(module) ? Lookup::undef : Lookup::unknown_module;
  return nullptr;
}

}  // namespace hc::cnode
