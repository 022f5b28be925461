// Distribution control messages: one struct per operation, with to_term()
// and from_term() that validate the wire shape.
// https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#control-messages
//
// The *_TT variants (with a sequential trace token) are kept as their own
// structs so they round-trip; the node treats them like the plain variants.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <variant>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

enum class ControlOp : std::uint8_t {
  LINK = 1,
  SEND = 2,
  EXIT = 3,
  UNLINK = 4,
  NODE_LINK = 5,
  REG_SEND = 6,
  GROUP_LEADER = 7,
  EXIT2 = 8,
  SEND_TT = 12,
  EXIT_TT = 13,
  REG_SEND_TT = 16,
  EXIT2_TT = 18,
  MONITOR_P = 19,
  DEMONITOR_P = 20,
  MONITOR_P_EXIT = 21,
  SEND_SENDER = 22,
  SEND_SENDER_TT = 23,
  PAYLOAD_EXIT = 24,
  PAYLOAD_EXIT_TT = 25,
  PAYLOAD_EXIT2 = 26,
  PAYLOAD_EXIT2_TT = 27,
  PAYLOAD_MONITOR_P_EXIT = 28,
  SPAWN_REQUEST = 29,
  SPAWN_REQUEST_TT = 30,
  SPAWN_REPLY = 31,
  SPAWN_REPLY_TT = 32,
  ALIAS_SEND = 33,
  ALIAS_SEND_TT = 34,
  UNLINK_ID = 35,
  UNLINK_ID_ACK = 36,
};

namespace ctrl {

// {1, FromPid, ToPid}
struct Link { Pid from, to; };
// {2, Unused, ToPid} + Message
struct Send { Term unused; Pid to; };
// {3, FromPid, ToPid, Reason}
struct Exit { Pid from, to; Term reason; };
// {4, FromPid, ToPid}  (pre-UNLINK_ID; still decoded)
struct Unlink { Pid from, to; };
// {5}
struct NodeLink {};
// {6, FromPid, Unused, ToName} + Message
struct RegSend { Pid from; Term unused; Atom to_name; };
// {7, FromPid, ToPid}
struct GroupLeader { Pid from, to; };
// {8, FromPid, ToPid, Reason}
struct Exit2 { Pid from, to; Term reason; };
// {12, Unused, ToPid, TraceToken} + Message
struct SendTT { Term unused; Pid to; Term token; };
// {13, FromPid, ToPid, TraceToken, Reason}
struct ExitTT { Pid from, to; Term token; Term reason; };
// {16, FromPid, Unused, ToName, TraceToken} + Message
struct RegSendTT { Pid from; Term unused; Atom to_name; Term token; };
// {18, FromPid, ToPid, TraceToken, Reason}
struct Exit2TT { Pid from, to; Term token; Term reason; };
// {19, FromPid, ToProc, Ref}  ToProc = pid or registered name atom
struct MonitorP { Pid from; Term to_proc; Reference ref; };
// {20, FromPid, ToProc, Ref}
struct DemonitorP { Pid from; Term to_proc; Reference ref; };
// {21, FromProc, ToPid, Ref, Reason}  FromProc = pid or name atom
struct MonitorPExit { Term from_proc; Pid to; Reference ref; Term reason; };
// {22, FromPid, ToPid} + Message
struct SendSender { Pid from, to; };
// {23, FromPid, ToPid, TraceToken} + Message
struct SendSenderTT { Pid from, to; Term token; };
// {24, FromPid, ToPid} + Reason
struct PayloadExit { Pid from, to; };
// {25, FromPid, ToPid, TraceToken} + Reason
struct PayloadExitTT { Pid from, to; Term token; };
// {26, FromPid, ToPid} + Reason
struct PayloadExit2 { Pid from, to; };
// {27, FromPid, ToPid, TraceToken} + Reason
struct PayloadExit2TT { Pid from, to; Term token; };
// {28, FromProc, ToPid, Ref} + Reason
struct PayloadMonitorPExit { Term from_proc; Pid to; Reference ref; };
// {29, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList} + ArgList
struct SpawnRequest { Reference req_id; Pid from; Pid group_leader; Atom module; Atom function;
                      std::int64_t arity = 0; Term opts; };
// {30, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList, Token} + ArgList
struct SpawnRequestTT { Reference req_id; Pid from; Pid group_leader; Atom module; Atom function;
                        std::int64_t arity = 0; Term opts; Term token; };
// {31, ReqId, To, Flags, Result}  Result = spawned pid or error atom;
// Flags bit 0: a link was set up, bit 1: a monitor was set up.
struct SpawnReply { Reference req_id; Pid to; std::int64_t flags = 0; Term result; };
// {32, ReqId, To, Flags, Result, Token}
struct SpawnReplyTT { Reference req_id; Pid to; std::int64_t flags = 0; Term result; Term token; };
// {33, FromPid, Alias} + Message
struct AliasSend { Pid from; Reference alias; };
// {34, FromPid, Alias, Token} + Message
struct AliasSendTT { Pid from; Reference alias; Term token; };
// {35, Id, FromPid, ToPid}
struct UnlinkId { std::uint64_t id = 0; Pid from, to; };
// {36, Id, FromPid, ToPid}
struct UnlinkIdAck { std::uint64_t id = 0; Pid from, to; };

}  // namespace ctrl

using ControlMessage =
    std::variant<ctrl::Link, ctrl::Send, ctrl::Exit, ctrl::Unlink, ctrl::NodeLink, ctrl::RegSend,
                 ctrl::GroupLeader, ctrl::Exit2, ctrl::SendTT, ctrl::ExitTT, ctrl::RegSendTT, ctrl::Exit2TT,
                 ctrl::MonitorP, ctrl::DemonitorP, ctrl::MonitorPExit, ctrl::SendSender, ctrl::SendSenderTT,
                 ctrl::PayloadExit, ctrl::PayloadExitTT, ctrl::PayloadExit2, ctrl::PayloadExit2TT,
                 ctrl::PayloadMonitorPExit, ctrl::SpawnRequest, ctrl::SpawnRequestTT, ctrl::SpawnReply,
                 ctrl::SpawnReplyTT, ctrl::AliasSend, ctrl::AliasSendTT, ctrl::UnlinkId, ctrl::UnlinkIdAck>;

// The operation of a message.
ControlOp op_of(const ControlMessage& m) noexcept;
// True for the operations followed by a payload term in the same frame.
bool has_payload(ControlOp op) noexcept;

Term to_term(const ControlMessage& m);

// Validate and convert a control tuple. Returns the message, or
// Errc::bad_control_message / Errc::unknown_control_op with the element that
// was wrong as detail (Result::what()).
Result<ControlMessage> from_term(const Term& t);

}  // namespace hc::cnode
