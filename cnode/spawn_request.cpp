#include "cnode/spawn_request.hpp"

namespace hc::cnode {

std::optional<ErpcRequest> parse_erpc_request(const ctrl::SpawnRequest& req, const Term& args) {
  if (req.module != Atom("erpc") || !args.is_proper_list()) return std::nullopt;
  auto a = args.list_elements();
  ErpcRequest out;
  std::size_t base = 0;
  if (req.function == Atom("execute_call") && req.arity == 4 && a.size() == 4) {
    out.kind = ErpcRequest::Kind::call;
    out.res_ref = a[0];
    base = 1;
  } else if (req.function == Atom("execute_cast") && req.arity == 3 && a.size() == 3) {
    out.kind = ErpcRequest::Kind::cast;
  } else {
    return std::nullopt;
  }
  const Atom* m = a[base].as_atom();
  const Atom* f = a[base + 1].as_atom();
  if (!m || !f || !a[base + 2].is_proper_list()) return std::nullopt;
  out.module = *m;
  out.function = *f;
  auto fa = a[base + 2].list_elements();
  out.args.assign(fa.begin(), fa.end());
  return out;
}

SpawnFlags spawn_flags(const ctrl::SpawnRequest& req) {
  SpawnFlags f;
  for (const auto& o : req.opts.list_elements()) {
    if (o.is_atom("monitor") || (o.is_tuple(2) && o.element(0)->is_atom("monitor"))) f.monitor = true;
    if (o.is_atom("link")) f.link = true;
  }
  return f;
}

std::vector<ControlMessage> spawn_exit_messages(const ctrl::SpawnRequest& req, const Pid& fresh_pid, SpawnFlags flags,
                                                const Term& reason) {
  std::vector<ControlMessage> out;
  if (flags.monitor) out.push_back(ctrl::MonitorPExit{Term(fresh_pid), req.from, req.req_id, reason});
  if (flags.link) out.push_back(ctrl::Exit{fresh_pid, req.from, reason});
  return out;
}

SpawnAnswer answer_spawn_request(const ctrl::SpawnRequest& req, const Term& args, const Pid& fresh_pid,
                                 const RpcExports& exports) {
  SpawnAnswer out;
  out.flags = spawn_flags(req);
  auto erpc = parse_erpc_request(req, args);
  RpcExports::Lookup why = RpcExports::Lookup::unknown_module;
  const RpcAsyncFunction* fn = erpc ? exports.find(erpc->module, erpc->function, erpc->args.size(), why) : nullptr;
  if (!erpc || why == RpcExports::Lookup::unknown_module) {
    out.messages.push_back(ctrl::SpawnReply{req.req_id, req.from, 0, Term(Atom("notsup"))});
    return out;
  }
  out.handled = true;
  out.messages.push_back(ctrl::SpawnReply{req.req_id, req.from, out.flags.bits(), Term(fresh_pid)});
  if (fn == nullptr) {
    // undef, with the frame a BEAM node reports: [{M, F, Args, []}].
    if (erpc->kind == ErpcRequest::Kind::call) {
      RpcOutcome undef{RpcOutcome::Kind::error, Term(Atom("undef")),
                       Term::list({tuple(erpc->module, erpc->function, Term::list(erpc->args), Term::nil())})};
      auto exits = spawn_exit_messages(req, fresh_pid, out.flags, erpc_exit_reason(erpc->res_ref, undef));
      out.messages.insert(out.messages.end(), exits.begin(), exits.end());
    }
  } else {
    out.function = fn;
  }
  out.erpc = std::move(erpc);
  return out;
}

}  // namespace hc::cnode
