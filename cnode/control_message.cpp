#include "cnode/control_message.hpp"

#include "cnode/error.hpp"
#include "cnode/overloaded.hpp"

namespace hc::cnode {
namespace {


Term I(ControlOp op) { return Term(static_cast<std::int64_t>(op)); }
Term mfa(Atom m, Atom f, std::int64_t a) { return tuple(m, f, a); }

// Walks a control tuple's elements, recording the first shape error.
class Reader {
 public:
  explicit Reader(std::span<const Term> e) : e_(e) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  Pid pid(std::size_t i, const char* what) {
    if (auto p = at(i, what); p && p->as_pid()) return *p->as_pid();
    fail(what, "a pid");
    return {};
  }
  Reference ref(std::size_t i, const char* what) {
    if (auto p = at(i, what); p && p->as_reference()) return *p->as_reference();
    fail(what, "a reference");
    return {};
  }
  Atom atom(std::size_t i, const char* what) {
    if (auto p = at(i, what); p && p->as_atom()) return *p->as_atom();
    fail(what, "an atom");
    return {};
  }
  std::int64_t integer(std::size_t i, const char* what) {
    if (auto p = at(i, what); p && p->as_int()) return *p->as_int();
    fail(what, "an integer");
    return 0;
  }
  Term any(std::size_t i, const char* what) {
    if (auto p = at(i, what)) return *p;
    return {};
  }
  Term proc(std::size_t i, const char* what) {  // pid or atom
    if (auto p = at(i, what); p && (p->is_pid() || p->is_atom())) return *p;
    fail(what, "a pid or an atom");
    return {};
  }
  std::uint64_t id(std::size_t i, const char* what) {
    auto p = at(i, what);
    if (p && p->as_int() && *p->as_int() >= 0) return static_cast<std::uint64_t>(*p->as_int());
    if (p && p->as_bigint() && !p->as_bigint()->negative && p->as_bigint()->magnitude.size() <= 8) {
      std::uint64_t v = 0;
      const auto& m = p->as_bigint()->magnitude;
      for (std::size_t k = m.size(); k-- > 0;) v = (v << 8) | m[k];
      return v;
    }
    fail(what, "a non-negative integer");
    return 0;
  }

 private:
  const Term* at(std::size_t i, const char* what) {
    if (!ok()) return nullptr;
    if (i >= e_.size()) {
      fail(what, "present");
      return nullptr;
    }
    return &e_[i];
  }
  void fail(const char* what, const char* expected) {
    if (ok()) error_ = std::string("element ") + what + " must be " + expected;
  }
  std::span<const Term> e_;
  std::string error_;
};

}  // namespace

ControlOp op_of(const ControlMessage& m) noexcept {
  static constexpr ControlOp kOps[] = {
      ControlOp::LINK,           ControlOp::SEND,           ControlOp::EXIT,
      ControlOp::UNLINK,         ControlOp::NODE_LINK,      ControlOp::REG_SEND,
      ControlOp::GROUP_LEADER,   ControlOp::EXIT2,          ControlOp::SEND_TT,
      ControlOp::EXIT_TT,        ControlOp::REG_SEND_TT,    ControlOp::EXIT2_TT,
      ControlOp::MONITOR_P,      ControlOp::DEMONITOR_P,    ControlOp::MONITOR_P_EXIT,
      ControlOp::SEND_SENDER,    ControlOp::SEND_SENDER_TT, ControlOp::PAYLOAD_EXIT,
      ControlOp::PAYLOAD_EXIT_TT, ControlOp::PAYLOAD_EXIT2, ControlOp::PAYLOAD_EXIT2_TT,
      ControlOp::PAYLOAD_MONITOR_P_EXIT, ControlOp::SPAWN_REQUEST, ControlOp::SPAWN_REQUEST_TT,
      ControlOp::SPAWN_REPLY,    ControlOp::SPAWN_REPLY_TT, ControlOp::ALIAS_SEND,
      ControlOp::ALIAS_SEND_TT,  ControlOp::UNLINK_ID,      ControlOp::UNLINK_ID_ACK};
  static_assert(std::size(kOps) == std::variant_size_v<ControlMessage>);
  return kOps[m.index()];
}

bool has_payload(ControlOp op) noexcept {
  switch (op) {
    case ControlOp::SEND:
    case ControlOp::REG_SEND:
    case ControlOp::SEND_TT:
    case ControlOp::REG_SEND_TT:
    case ControlOp::SEND_SENDER:
    case ControlOp::SEND_SENDER_TT:
    case ControlOp::PAYLOAD_EXIT:
    case ControlOp::PAYLOAD_EXIT_TT:
    case ControlOp::PAYLOAD_EXIT2:
    case ControlOp::PAYLOAD_EXIT2_TT:
    case ControlOp::PAYLOAD_MONITOR_P_EXIT:
    case ControlOp::SPAWN_REQUEST:
    case ControlOp::SPAWN_REQUEST_TT:
    case ControlOp::ALIAS_SEND:
    case ControlOp::ALIAS_SEND_TT:
      return true;
    default:
      return false;
  }
}

Term to_term(const ControlMessage& m) {
  using namespace ctrl;
  const Term op = I(op_of(m));
  return std::visit(
      overloaded{
          [&](const Link& x) { return tuple(op, x.from, x.to); },
          [&](const Send& x) { return tuple(op, x.unused, x.to); },
          [&](const Exit& x) { return tuple(op, x.from, x.to, x.reason); },
          [&](const Unlink& x) { return tuple(op, x.from, x.to); },
          [&](const NodeLink&) { return tuple(op); },
          [&](const RegSend& x) { return tuple(op, x.from, x.unused, x.to_name); },
          [&](const GroupLeader& x) { return tuple(op, x.from, x.to); },
          [&](const Exit2& x) { return tuple(op, x.from, x.to, x.reason); },
          [&](const SendTT& x) { return tuple(op, x.unused, x.to, x.token); },
          [&](const ExitTT& x) { return tuple(op, x.from, x.to, x.token, x.reason); },
          [&](const RegSendTT& x) { return tuple(op, x.from, x.unused, x.to_name, x.token); },
          [&](const Exit2TT& x) { return tuple(op, x.from, x.to, x.token, x.reason); },
          [&](const MonitorP& x) { return tuple(op, x.from, x.to_proc, x.ref); },
          [&](const DemonitorP& x) { return tuple(op, x.from, x.to_proc, x.ref); },
          [&](const MonitorPExit& x) { return tuple(op, x.from_proc, x.to, x.ref, x.reason); },
          [&](const SendSender& x) { return tuple(op, x.from, x.to); },
          [&](const SendSenderTT& x) { return tuple(op, x.from, x.to, x.token); },
          [&](const PayloadExit& x) { return tuple(op, x.from, x.to); },
          [&](const PayloadExitTT& x) { return tuple(op, x.from, x.to, x.token); },
          [&](const PayloadExit2& x) { return tuple(op, x.from, x.to); },
          [&](const PayloadExit2TT& x) { return tuple(op, x.from, x.to, x.token); },
          [&](const PayloadMonitorPExit& x) { return tuple(op, x.from_proc, x.to, x.ref); },
          [&](const SpawnRequest& x) {
            return tuple(op, x.req_id, x.from, x.group_leader, mfa(x.module, x.function, x.arity), x.opts);
          },
          [&](const SpawnRequestTT& x) {
            return tuple(op, x.req_id, x.from, x.group_leader, mfa(x.module, x.function, x.arity), x.opts,
                         x.token);
          },
          [&](const SpawnReply& x) { return tuple(op, x.req_id, x.to, x.flags, x.result); },
          [&](const SpawnReplyTT& x) { return tuple(op, x.req_id, x.to, x.flags, x.result, x.token); },
          [&](const AliasSend& x) { return tuple(op, x.from, x.alias); },
          [&](const AliasSendTT& x) { return tuple(op, x.from, x.alias, x.token); },
          [&](const UnlinkId& x) { return tuple(op, Term(x.id), x.from, x.to); },
          [&](const UnlinkIdAck& x) { return tuple(op, Term(x.id), x.from, x.to); },
      },
      m);
}

Result<ControlMessage> from_term(const Term& t) {
  using namespace ctrl;
  auto err = [](Errc c, std::string what) { return Error(c, std::move(what)); };
  if (!t.is_tuple() || t.tuple_elements().empty()) return err(Errc::bad_control_message, "not a non-empty tuple");
  auto e = t.tuple_elements();
  auto op_value = e[0].as_int();
  if (!op_value) return err(Errc::bad_control_message, "element 1 (operation) must be an integer");
  const auto op = static_cast<ControlOp>(*op_value);
  Reader r(e);
  auto arity = [&](std::size_t n) { return e.size() == n; };
  std::optional<ControlMessage> m;
  std::size_t expected = 0;
  switch (op) {
    case ControlOp::LINK: expected = 3; m = Link{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::SEND: expected = 3; m = Send{r.any(1, "Unused"), r.pid(2, "ToPid")}; break;
    case ControlOp::EXIT: expected = 4; m = Exit{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "Reason")}; break;
    case ControlOp::UNLINK: expected = 3; m = Unlink{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::NODE_LINK: expected = 1; m = NodeLink{}; break;
    case ControlOp::REG_SEND:
      expected = 4;
      m = RegSend{r.pid(1, "FromPid"), r.any(2, "Unused"), r.atom(3, "ToName")};
      break;
    case ControlOp::GROUP_LEADER: expected = 3; m = GroupLeader{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::EXIT2: expected = 4; m = Exit2{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "Reason")}; break;
    case ControlOp::SEND_TT:
      expected = 4;
      m = SendTT{r.any(1, "Unused"), r.pid(2, "ToPid"), r.any(3, "TraceToken")};
      break;
    case ControlOp::EXIT_TT:
      expected = 5;
      m = ExitTT{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "TraceToken"), r.any(4, "Reason")};
      break;
    case ControlOp::REG_SEND_TT:
      expected = 5;
      m = RegSendTT{r.pid(1, "FromPid"), r.any(2, "Unused"), r.atom(3, "ToName"), r.any(4, "TraceToken")};
      break;
    case ControlOp::EXIT2_TT:
      expected = 5;
      m = Exit2TT{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "TraceToken"), r.any(4, "Reason")};
      break;
    case ControlOp::MONITOR_P:
      expected = 4;
      m = MonitorP{r.pid(1, "FromPid"), r.proc(2, "ToProc"), r.ref(3, "Ref")};
      break;
    case ControlOp::DEMONITOR_P:
      expected = 4;
      m = DemonitorP{r.pid(1, "FromPid"), r.proc(2, "ToProc"), r.ref(3, "Ref")};
      break;
    case ControlOp::MONITOR_P_EXIT:
      expected = 5;
      m = MonitorPExit{r.proc(1, "FromProc"), r.pid(2, "ToPid"), r.ref(3, "Ref"), r.any(4, "Reason")};
      break;
    case ControlOp::SEND_SENDER: expected = 3; m = SendSender{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::SEND_SENDER_TT:
      expected = 4;
      m = SendSenderTT{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "TraceToken")};
      break;
    case ControlOp::PAYLOAD_EXIT: expected = 3; m = PayloadExit{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::PAYLOAD_EXIT_TT:
      expected = 4;
      m = PayloadExitTT{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "TraceToken")};
      break;
    case ControlOp::PAYLOAD_EXIT2: expected = 3; m = PayloadExit2{r.pid(1, "FromPid"), r.pid(2, "ToPid")}; break;
    case ControlOp::PAYLOAD_EXIT2_TT:
      expected = 4;
      m = PayloadExit2TT{r.pid(1, "FromPid"), r.pid(2, "ToPid"), r.any(3, "TraceToken")};
      break;
    case ControlOp::PAYLOAD_MONITOR_P_EXIT:
      expected = 4;
      m = PayloadMonitorPExit{r.proc(1, "FromProc"), r.pid(2, "ToPid"), r.ref(3, "Ref")};
      break;
    case ControlOp::SPAWN_REQUEST:
    case ControlOp::SPAWN_REQUEST_TT: {
      const bool tt = op == ControlOp::SPAWN_REQUEST_TT;
      expected = tt ? 7 : 6;
      auto req = r.ref(1, "ReqId");
      auto from = r.pid(2, "From");
      auto gl = r.pid(3, "GroupLeader");
      Term mfa_t = r.any(4, "{Module, Function, Arity}");
      auto opts = r.any(5, "OptList");
      if (r.ok() && !mfa_t.is_tuple(3)) return err(Errc::bad_control_message, "element {Module, Function, Arity} must be a 3-tuple");
      if (r.ok() && !opts.is_proper_list()) return err(Errc::bad_control_message, "element OptList must be a proper list");
      Reader mr(mfa_t.tuple_elements());
      Atom mod = r.ok() ? mr.atom(0, "Module") : Atom();
      Atom fun = r.ok() ? mr.atom(1, "Function") : Atom();
      std::int64_t ar = r.ok() ? mr.integer(2, "Arity") : 0;
      if (!mr.ok()) return err(Errc::bad_control_message, mr.error());
      if (tt) {
        m = SpawnRequestTT{req, from, gl, mod, fun, ar, opts, r.any(6, "Token")};
      } else {
        m = SpawnRequest{req, from, gl, mod, fun, ar, opts};
      }
      break;
    }
    case ControlOp::SPAWN_REPLY:
      expected = 5;
      m = SpawnReply{r.ref(1, "ReqId"), r.pid(2, "To"), r.integer(3, "Flags"), r.proc(4, "Result")};
      break;
    case ControlOp::SPAWN_REPLY_TT:
      expected = 6;
      m = SpawnReplyTT{r.ref(1, "ReqId"), r.pid(2, "To"), r.integer(3, "Flags"), r.proc(4, "Result"),
                       r.any(5, "Token")};
      break;
    case ControlOp::ALIAS_SEND: expected = 3; m = AliasSend{r.pid(1, "FromPid"), r.ref(2, "Alias")}; break;
    case ControlOp::ALIAS_SEND_TT:
      expected = 4;
      m = AliasSendTT{r.pid(1, "FromPid"), r.ref(2, "Alias"), r.any(3, "Token")};
      break;
    case ControlOp::UNLINK_ID:
      expected = 4;
      m = UnlinkId{r.id(1, "Id"), r.pid(2, "FromPid"), r.pid(3, "ToPid")};
      break;
    case ControlOp::UNLINK_ID_ACK:
      expected = 4;
      m = UnlinkIdAck{r.id(1, "Id"), r.pid(2, "FromPid"), r.pid(3, "ToPid")};
      break;
    default:
      return err(Errc::unknown_control_op, "unknown operation " + std::to_string(*op_value));
  }
  if (!arity(expected))
    return err(Errc::bad_control_message, "operation " + std::to_string(*op_value) + " needs a " +
                                              std::to_string(expected) + "-tuple, got " +
                                              std::to_string(e.size()));
  if (!r.ok()) return err(Errc::bad_control_message, r.error());
  return *m;
}

}  // namespace hc::cnode
