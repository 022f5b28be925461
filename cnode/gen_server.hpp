// gen_server conventions for C++ processes.
//
// GenServer decodes the OTP gen_server protocol for its subclass:
//   {'$gen_call', From, Request} -> handle_call(Request, From)
//   {'$gen_cast', Request}       -> handle_cast(Request)
//   anything else                -> handle_info(Message)
// handle_call returns the reply, or nullopt to reply later with reply(From, R).
// Calls *from* C++ are Process::call / Process::cast (process.hpp).
#pragma once

#include <optional>

#include "cnode/process.hpp"

namespace hc::cnode {

// Pieces of a '$gen_call' message.
struct GenCall {
  Term from;     // {Pid, Tag}
  Term request;
};
std::optional<GenCall> as_gen_call(const Term& message);
std::optional<Term> as_gen_cast(const Term& message);
// The pid and tag of a From; nullopt when it is not {Pid, Tag}.
std::optional<std::pair<Pid, Term>> parse_from(const Term& from);

// {'EXIT', From, Reason}: a trapped exit signal, or the same shape sent as a
// plain message (the two cannot be told apart, on the BEAM neither).
struct ExitMessage {
  Pid from;
  Term reason;
};
std::optional<ExitMessage> as_exit(const Term& message);
// {'DOWN', Ref, process, Item, Reason}.
struct DownMessage {
  Term ref;
  Term item;  // the pid, or {Name, Node}
  Term reason;
};
std::optional<DownMessage> as_down(const Term& message);

class GenServer : public Process {
 public:
  void handle_message(const Term& message) final;

 protected:
  virtual std::optional<Term> handle_call(const Term& request, const Term& from) = 0;
  virtual void handle_cast(const Term& request) { (void)request; }
  virtual void handle_info(const Term& message) { (void)message; }
};

}  // namespace hc::cnode
