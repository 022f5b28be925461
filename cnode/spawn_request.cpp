#include "cnode/spawn_request.hpp"

namespace hc::cnode {

SpawnAnswer answer_spawn_request(const ctrl::SpawnRequest& req, const Term& args, const Pid& fresh_pid,
                                 const std::function<bool(const Pid&)>& is_alive) {
  static const Atom kErpc("erpc"), kExecuteCall("execute_call"), kProcess("Elixir.Process"), kAlive("alive?"),
      kErlang("erlang"), kIsAlive("is_process_alive"), kMonitor("monitor"), kLink("link"), kReturn("return"),
      kNotsup("notsup");
  SpawnAnswer out;
  bool want_monitor = false, want_link = false;
  for (const auto& o : req.opts.list_elements()) {
    if (o.is_atom("monitor") || (o.is_tuple(2) && o.element(0)->is_atom("monitor"))) want_monitor = true;
    if (o.is_atom("link")) want_link = true;
  }
  std::optional<bool> answer;
  Term res_ref;
  if (req.module == kErpc && req.function == kExecuteCall && req.arity == 4 && args.is_proper_list() &&
      args.list_elements().size() == 4) {
    auto a = args.list_elements();
    res_ref = a[0];
    const Term& m = a[1];
    const Term& f = a[2];
    const Term& fargs = a[3];
    bool is_alive_call = (m.is_atom(kProcess.text()) && f.is_atom(kAlive.text())) ||
                         (m.is_atom(kErlang.text()) && f.is_atom(kIsAlive.text()));
    if (is_alive_call && fargs.is_proper_list() && fargs.list_elements().size() == 1 &&
        fargs.list_elements()[0].is_pid()) {
      answer = is_alive(*fargs.list_elements()[0].as_pid());
    }
  }
  if (!answer) {
    out.messages.push_back(ctrl::SpawnReply{req.req_id, req.from, 0, Term(kNotsup)});
    return out;
  }
  out.handled = true;
  const std::int64_t flags = (want_link ? 1 : 0) | (want_monitor ? 2 : 0);
  out.messages.push_back(ctrl::SpawnReply{req.req_id, req.from, flags, Term(fresh_pid)});
  const Term reason = tuple(res_ref, kReturn, Term(*answer ? Atom("true") : Atom("false")));
  if (want_monitor) out.messages.push_back(ctrl::MonitorPExit{Term(fresh_pid), req.from, req.req_id, reason});
  if (want_link) out.messages.push_back(ctrl::Exit{fresh_pid, req.from, reason});
  return out;
}

}  // namespace hc::cnode
