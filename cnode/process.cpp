#include "cnode/process.hpp"

#include "cnode/log.hpp"
#include "cnode/process_context.hpp"

namespace hc::cnode {
namespace {
const Atom& a_gen_call() { static const Atom a("$gen_call"); return a; }
const Atom& a_gen_cast() { static const Atom a("$gen_cast"); return a; }
const Atom& a_alias() { static const Atom a("alias"); return a; }
const Atom& a_call_timeout() { static const Atom a("$hc_call_timeout"); return a; }
}  // namespace

std::optional<Dest> Dest::from_term(const Term& t) {
  if (auto p = t.as_pid()) return Dest(*p);
  if (auto a = t.as_atom()) return Dest(*a);
  if (auto r = t.as_reference()) return Dest(*r);
  if (t.is_tuple(2) && t.element(0)->is_atom() && t.element(1)->is_atom())
    return Dest(*t.element(0)->as_atom(), *t.element(1)->as_atom());
  return std::nullopt;
}

Term Dest::to_term() const {
  return std::visit(
      [](const auto& v) -> Term {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, RemoteName>) return tuple(v.name, v.node);
        else return Term(v);
      },
      v_);
}

Process::~Process() = default;

void Process::send(const Dest& to, const Term& message) { ctx_->send(pid_, to, message); }
void Process::send_encoded(const Dest& to, std::span<const std::uint8_t> body) { ctx_->send_encoded(pid_, to, body); }
void Process::send_encoded(const Dest& to, std::vector<std::uint8_t>&& body) {
  ctx_->send_encoded(pid_, to, std::move(body));
}
bool Process::register_name(Atom name) { return ctx_->register_name(pid_, name); }
bool Process::add_name(Atom name) { return ctx_->add_name(pid_, name); }
bool Process::unregister_name() { return name_ && ctx_->unregister_name(*name_); }
void Process::link(const Pid& other) { ctx_->link(pid_, other); }
void Process::unlink(const Pid& other) { ctx_->unlink(pid_, other); }

Reference Process::monitor(const Dest& target) {
  Reference ref = ctx_->make_ref();
  ctx_->monitor(pid_, target, ref);
  return ref;
}

bool Process::demonitor(const Reference& ref) { return ctx_->demonitor(pid_, ref); }
void Process::exit(const Term& reason) { ctx_->exit_self(pid_, reason); }
bool Process::queued(const std::function<bool(const Term&)>& pred) { return ctx_->queued(pid_, pred); }
void Process::exit(const Pid& target, const Term& reason) { ctx_->exit_signal(pid_, target, reason); }

Pid Process::spawn(std::unique_ptr<Process> child, SpawnOptions options) {
  return ctx_->spawn(pid_, std::move(child), std::move(options));
}

TimerId Process::send_after(std::chrono::milliseconds delay, Term message) {
  return ctx_->send_after(pid_, delay, std::move(message));
}
bool Process::cancel_timer(TimerId id) { return ctx_->cancel_timer(pid_, id); }
Reference Process::make_ref() { return ctx_->make_ref(); }

Reference Process::alias() {
  Reference r = ctx_->make_ref();
  ctx_->add_alias(pid_, r);
  return r;
}
void Process::unalias(const Reference& a) { ctx_->remove_alias(a); }

void Process::call(const Dest& server, const Term& request, std::chrono::milliseconds timeout, CallCallback done) {
  // As OTP 25 gen:do_call/4: Mref = monitor(process, Server, [{alias, demonitor}]),
  // Tag = [alias | Mref]; the reply {Tag, Reply} comes to the alias.
  Reference ref = ctx_->make_ref();
  const Term key(ref);
  ctx_->add_alias(pid_, ref);
  PendingCall pc{ref, 0, std::move(done)};
  pc.timer = ctx_->send_after(pid_, timeout, tuple(a_call_timeout(), ref));
  calls_.emplace(key, std::move(pc));
  ctx_->monitor(pid_, server, ref);
  const Term tag = Term::list({Term(a_alias())}, key);
  send(server, tuple(a_gen_call(), tuple(pid_, tag), request));
}

void Process::cast(const Dest& server, const Term& request) { send(server, tuple(a_gen_cast(), request)); }

void Process::reply(const Term& from, const Term& reply) {
  if (!from.is_tuple(2) || !from.element(0)->is_pid()) {
    HC_LOG(warn) << "reply: bad From " << from;
    return;
  }
  const Pid& to = *from.element(0)->as_pid();
  const Term& tag = *from.element(1);
  const Term msg = tuple(tag, reply);
  // OTP 25 gen:reply/2: {To, [alias | Alias] = Tag} -> Alias ! {Tag, Reply}.
  if (tag.type() == Term::Type::List && !tag.is_proper_list() && tag.list_elements().size() == 1 &&
      tag.list_elements()[0].is_atom("alias") && tag.list_tail().is_reference()) {
    const Reference& alias = *tag.list_tail().as_reference();
    if (ctx_->alias_reachable(alias.node)) {
      send(Dest(alias), msg);
      return;
    }
  }
  send(Dest(to), msg);
}

bool Process::intercept_call_message(const Term& message) {
  if (calls_.empty() || !message.is_tuple()) return false;
  auto e = message.tuple_elements();
  if (e.size() == 2) {
    const Term& tag = e[0];
    // Our tags are [alias | Ref].
    if (tag.type() == Term::Type::List && tag.list_elements().size() == 1 && tag.list_elements()[0].is_atom("alias") &&
        tag.list_tail().is_reference()) {
      const Term& ref = tag.list_tail();
      if (calls_.count(ref)) {
        finish_call(*ref.as_reference(), CallResult::success(e[1]));
        return true;
      }
    }
    if (e[0].is_atom(a_call_timeout().text()) && e[1].is_reference() && calls_.count(e[1])) {
      calls_[e[1]].timer = 0;  // fired
      finish_call(*e[1].as_reference(), CallResult::failure(Errc::timeout, Term(Atom("timeout"))));
      return true;
    }
    return false;
  }
  if (e.size() == 5 && e[0].is_atom("DOWN") && calls_.count(e[1])) {
    const Term& reason = e[4];
    std::error_code code = reason.is_atom("noproc")         ? make_error_code(Errc::noproc)
                           : reason.is_atom("noconnection") ? make_error_code(Errc::noconnection)
                                                            : make_error_code(Errc::call_failed);
    finish_call(*e[1].as_reference(), CallResult::failure(code, reason));
    return true;
  }
  return false;
}

void Process::finish_call(const Reference& ref, CallResult result) {
  auto it = calls_.find(Term(ref));
  if (it == calls_.end()) return;
  PendingCall pc = std::move(it->second);
  calls_.erase(it);
  if (pc.timer) ctx_->cancel_timer(pid_, pc.timer);
  ctx_->demonitor(pid_, ref);
  ctx_->remove_alias(ref);
  if (pc.done) pc.done(std::move(result));
}

}  // namespace hc::cnode
