// NodeImpl's ConnectionEvents: each incoming control message to the part of
// the node it concerns (the process table, the router, the signals), and
// the spawn requests erpc sends.
// https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#control-messages
#include "cnode/log.hpp"
#include "cnode/node_impl.hpp"
#include "cnode/overloaded.hpp"
#include "cnode/spawn_request.hpp"

namespace hc::cnode {

void NodeImpl::on_control(Connection& c, ControlMessage& msg, std::optional<Term>& payload) {
  using namespace ctrl;
  auto to_name = [&](Atom name) {
    if (auto p = router_.local_name(name)) procs_.deliver(*p, std::move(*payload));
    else HC_LOG(debug) << "message to unregistered name " << name << " dropped";
  };
  auto to_alias = [&](const Reference& alias) {
    if (auto p = router_.alias_owner(alias)) procs_.deliver(*p, std::move(*payload));
  };
  std::visit(
      overloaded{
          // {2, '', ToPid} + Msg ... (SEND, SEND_TT, SEND_SENDER, SEND_SENDER_TT)
          [&](Send& m) { procs_.deliver(m.to, std::move(*payload)); },
          [&](SendTT& m) { procs_.deliver(m.to, std::move(*payload)); },
          [&](SendSender& m) { procs_.deliver(m.to, std::move(*payload)); },
          [&](SendSenderTT& m) { procs_.deliver(m.to, std::move(*payload)); },
          // {6, FromPid, Unused, ToName} + Msg
          [&](RegSend& m) { to_name(m.to_name); },
          [&](RegSendTT& m) { to_name(m.to_name); },
          // {33, FromPid, Alias} + Msg
          [&](AliasSend& m) { to_alias(m.alias); },
          [&](AliasSendTT& m) { to_alias(m.alias); },
          // {1, FromPid, ToPid}
          [&](Link& m) { signals_.incoming_link(c.peer(), m); },
          // {4, FromPid, ToPid}; {35, Id, FromPid, ToPid} is acknowledged with {36, Id, ToPid, FromPid}
          [&](Unlink& m) { signals_.incoming_unlink(m.from, m.to); },
          [&](UnlinkId& m) {
            signals_.incoming_unlink(m.from, m.to);
            conns_.send_ctrl(c.peer(), UnlinkIdAck{m.id, m.to, m.from}, nullptr, false);
          },
          [&](UnlinkIdAck&) {},
          // {3, FromPid, ToPid, Reason} (link) and {8, ...} (exit/2), reason inline or as the payload
          [&](Exit& m) { signals_.exit_signal(m.from, m.to, m.reason, true); },
          [&](ExitTT& m) { signals_.exit_signal(m.from, m.to, m.reason, true); },
          [&](PayloadExit& m) { signals_.exit_signal(m.from, m.to, *payload, true); },
          [&](PayloadExitTT& m) { signals_.exit_signal(m.from, m.to, *payload, true); },
          [&](Exit2& m) { signals_.exit_signal(m.from, m.to, m.reason, false); },
          [&](Exit2TT& m) { signals_.exit_signal(m.from, m.to, m.reason, false); },
          [&](PayloadExit2& m) { signals_.exit_signal(m.from, m.to, *payload, false); },
          [&](PayloadExit2TT& m) { signals_.exit_signal(m.from, m.to, *payload, false); },
          // {19, FromPid, ToProc, Ref}, {20, ...}, {21, FromProc, ToPid, Ref, Reason}
          [&](MonitorP& m) { signals_.incoming_monitor(c.peer(), m); },
          [&](DemonitorP& m) { signals_.incoming_demonitor(m); },
          [&](MonitorPExit& m) { signals_.incoming_down(m.ref, m.to, m.reason); },
          [&](PayloadMonitorPExit& m) { signals_.incoming_down(m.ref, m.to, *payload); },
          // {29, ReqId, From, GroupLeader, {M, F, Arity}, OptList} + ArgList
          [&](SpawnRequest& m) { handle_spawn_request(c, m, *payload); },
          [&](SpawnRequestTT& m) {
            handle_spawn_request(c, SpawnRequest{m.req_id, m.from, m.group_leader, m.module, m.function, m.arity, m.opts},
                                 *payload);
          },
          [&](SpawnReply&) {},
          [&](SpawnReplyTT&) {},
          [&](GroupLeader&) {},
          [&](NodeLink&) {},
      },
      msg);
}

void NodeImpl::handle_spawn_request(Connection& c, const ctrl::SpawnRequest& req, const Term& args) {
  const Pid fresh = procs_.allocate_pid();
  auto answer = answer_spawn_request(req, args, fresh, rpc_exports_);
  if (!answer.handled) {
    std::string what = std::string(req.module.text()) + ":" + std::string(req.function.text()) + "/" +
                       std::to_string(req.arity);
    if (auto erpc = parse_erpc_request(req, args))
      what = std::string(erpc->module.text()) + ":" + std::string(erpc->function.text()) + "/" +
             std::to_string(erpc->args.size()) + " (erpc)";
    HC_LOG(info) << "refused spawn request " << what << " from " << c.peer()
                 << ": notsup (no C++ function exported under that module)";
  }
  const Atom peer = c.peer();
  for (auto& m : answer.messages) conns_.send_ctrl(peer, m, nullptr, false);
  if (!answer.function) return;
  // Run the exported function now; its answer (now or later, on this
  // thread) becomes the exit of the "spawned" erpc process.
  auto erpc = std::make_shared<ErpcRequest>(std::move(*answer.erpc));
  auto replied = std::make_shared<bool>(false);
  RpcReply reply = [this, alive = alive_flag_, peer, req, fresh, flags = answer.flags, erpc,
                    replied](RpcOutcome outcome) {
    if (!*alive || *replied) return;
    *replied = true;
    if (erpc->kind == ErpcRequest::Kind::cast) {
      if (outcome.kind != RpcOutcome::Kind::value) {
        HC_LOG(warn) << "erpc cast " << erpc->module << ":" << erpc->function << "/" << erpc->args.size()
                     << " from " << peer << " failed: " << outcome.value;
      }
      return;
    }
    for (auto& m : spawn_exit_messages(req, fresh, flags, erpc_exit_reason(erpc->res_ref, outcome)))
      conns_.send_ctrl(peer, m, nullptr, false);
  };
  (*answer.function)(std::span<const Term>(erpc->args), reply);
}

}  // namespace hc::cnode
