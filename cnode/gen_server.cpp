#include "cnode/gen_server.hpp"

namespace hc::cnode {

std::optional<GenCall> as_gen_call(const Term& m) {
  if (!m.is_record("$gen_call", 3)) return std::nullopt;
  return GenCall{*m.element(1), *m.element(2)};
}

std::optional<Term> as_gen_cast(const Term& m) {
  if (!m.is_record("$gen_cast", 2)) return std::nullopt;
  return *m.element(1);
}

std::optional<std::pair<Pid, Term>> parse_from(const Term& from) {
  if (!from.is_tuple(2) || !from.element(0)->is_pid()) return std::nullopt;
  return std::make_pair(*from.element(0)->as_pid(), *from.element(1));
}

std::optional<ExitMessage> as_exit(const Term& m) {
  if (!m.is_record("EXIT", 3)) return std::nullopt;
  const Pid* pid = m.element(1)->as_pid();
  if (pid == nullptr) return std::nullopt;
  return ExitMessage{*pid, *m.element(2)};
}

std::optional<DownMessage> as_down(const Term& m) {
  if (!m.is_record("DOWN", 5) || !m.element(2)->is_atom("process")) return std::nullopt;
  return DownMessage{*m.element(1), *m.element(3), *m.element(4)};
}

void GenServer::handle_message(const Term& message) {
  if (auto c = as_gen_call(message)) {
    if (!parse_from(c->from)) {
      handle_info(message);
      return;
    }
    if (auto r = handle_call(c->request, c->from)) reply(c->from, *r);
  } else if (auto cast = as_gen_cast(message)) {
    handle_cast(*cast);
  } else {
    handle_info(message);
  }
}

}  // namespace hc::cnode
