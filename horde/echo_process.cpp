#include "horde/echo_process.hpp"

namespace hc::horde {

std::optional<Term> EchoProcess::handle_call(const Term& request, const Term& from) {
  if (request.is_atom("stop")) {
    // {stop, normal, ok, State}: the reply goes out before the exit.
    reply(from, Term(atom("ok")));
    exit(Term(atom("normal")));
    return std::nullopt;
  }
  return request;
}

void EchoProcess::handle_info(const Term& message) {
  if (message.is_tuple(2)) {
    if (const Pid* from = message.element(0)->as_pid()) send(*from, *message.element(1));
  }
}

}  // namespace hc::horde
