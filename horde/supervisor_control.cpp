#include "horde/supervisor_control.hpp"

#include "cnode/node.hpp"
#include "horde/supervisor_process.hpp"

namespace hc::horde {
namespace {

Term error(Term reason) { return tuple(atom("error"), std::move(reason)); }

bool is_elixir_module(const Atom& a) { return a.text().starts_with("Elixir."); }

}  // namespace

std::variant<Term, Term> normalize_child_spec(const Term& spec) {
  // Supervisor.child_spec/2: a map needs id and start; {M, Arg} and M are
  // M.child_spec(Arg) - which we can only build for modules whose child_spec
  // is the default one: the C++ kinds' Elixir front-ends (elixir/lib/cpp_workers.ex).
  if (spec.is_map()) {
    if (spec.map_get("id") && spec.map_get("start")) return std::variant<Term, Term>(std::in_place_index<0>, spec);
  } else if (spec.is_tuple(2) && spec.element(0)->is_atom() && is_elixir_module(*spec.element(0)->as_atom())) {
    return std::variant<Term, Term>(std::in_place_index<0>, default_child_spec(*spec.element(0)->as_atom(), *spec.element(1)));
  } else if (spec.is_atom() && is_elixir_module(*spec.as_atom())) {
    return std::variant<Term, Term>(std::in_place_index<0>, default_child_spec(*spec.as_atom(), Term::nil()));
  }
  return std::variant<Term, Term>(std::in_place_index<1>, tuple(atom("invalid_child_spec"), spec));
}

void install_supervisor_handlers(ControlProcess& control, std::chrono::milliseconds call_timeout) {
  // Forwards `request` to N as a gen_server call and replies with its answer.
  auto forward = [call_timeout](ControlProcess& self, const Term& from, Atom sup, Term request) -> std::optional<Term> {
    if (!self.node().whereis(sup)) return error(tuple(atom("no_supervisor"), sup));
    self.call(cnode::Dest(sup), request, call_timeout, [&self, from](cnode::CallResult r) {
      self.reply(from, r.ok() ? r.value() : error(r.reason()));
    });
    return std::nullopt;
  };
  auto sup_at = [](const Term& req, std::size_t i) -> const Atom* {
    return req.element(i) ? req.element(i)->as_atom() : nullptr;
  };

  control.add_handler("start_child", [=](ControlProcess& self, const Term& req, const Term& from) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(3) || sup == nullptr) return error(tuple(atom("bad_request"), req));
    auto spec = normalize_child_spec(*req.element(2));
    if (spec.index() == 1) return error(std::get<1>(spec));
    return forward(self, from, *sup, tuple(atom("start_child"), std::get<0>(spec)));
  });
  control.add_handler("which_children", [=](ControlProcess& self, const Term& req, const Term& from) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(2) || sup == nullptr) return error(tuple(atom("bad_request"), req));
    return forward(self, from, *sup, Term(atom("which_children")));
  });
  control.add_handler("count_children", [=](ControlProcess& self, const Term& req, const Term& from) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(2) || sup == nullptr) return error(tuple(atom("bad_request"), req));
    return forward(self, from, *sup, Term(atom("count_children")));
  });
  control.add_handler("terminate_child", [=](ControlProcess& self, const Term& req, const Term& from) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(3) || sup == nullptr || !req.element(2)->is_pid()) return error(tuple(atom("bad_request"), req));
    return forward(self, from, *sup, tuple(atom("terminate_child"), *req.element(2)));
  });
  control.add_handler("stop_supervisor", [=](ControlProcess& self, const Term& req, const Term& from) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(2) || sup == nullptr) return error(tuple(atom("bad_request"), req));
    auto* sp = SupervisorProcess::find(self.node(), *sup);
    if (sp == nullptr) return error(tuple(atom("no_supervisor"), *sup));
    cnode::Node* node = &self.node();
    // Reply once N has gone (its terminate runs the callback), through the
    // node's live control process (none when it has gone meanwhile: the
    // caller's monitor then reports the exit).
    sp->graceful_stop([node, from] {
      if (ControlProcess* c = ControlProcess::of(*node)) c->reply(from, Term(atom("ok")));
    });
    return std::nullopt;
  });
  control.add_handler("supervisor_members", [=](ControlProcess& self, const Term& req, const Term&) -> std::optional<Term> {
    const Atom* sup = sup_at(req, 1);
    if (!req.is_tuple(2) || sup == nullptr) return error(tuple(atom("bad_request"), req));
    auto* sp = SupervisorProcess::find(self.node(), *sup);
    if (sp == nullptr) return error(tuple(atom("no_supervisor"), *sup));
    TermVector out;
    for (const auto& m : sp->state().members()) out.push_back(m.to_term());
    return Term::list(std::move(out));
  });
  control.add_stats_provider([](ControlProcess& self, TermPairs& out) {
    TermPairs sups;
    for (const Atom& name : SupervisorProcess::running(self.node()))
      if (auto* sp = SupervisorProcess::find(self.node(), name)) sups.emplace_back(name, sp->stats_term());
    out.emplace_back(atom("supervisors"), Term::map(std::move(sups)));
  });
}

}  // namespace hc::horde
