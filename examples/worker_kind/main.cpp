// Example (b): a worker kind `MyCpp.Stack` that Horde.DynamicSupervisor
// starts on C++ members with the child spec
//   %{id: :s1, start: {MyCpp.Stack, :start_link, [[1, 2]]}}
// (the Elixir front end in stack.ex builds it). Each child is a C++ process
// with a real pid: GenServer.call(pid, {:push, x}) / :pop / :peek / :size.
// The program is horde-cnode plus this kind (the built-in kinds stay too).
#include <horde_cnode/sdk/horde_cnode.hpp>

#include <vector>

namespace {

using hc::Term;
using hc::horde::WorkerStep;

class Stack final : public hc::horde::Worker {
 public:
  explicit Stack(hc::TermVector initial) : items_(std::move(initial)) {}

  WorkerStep handle_call(const Term& request) override {
    if (request.is_tuple(2) && request.element(0)->is_atom("push")) {
      items_.push_back(*request.element(1));
      return WorkerStep::answer(hc::atom("ok"));
    }
    if (request.is_atom("pop")) {
      if (items_.empty()) return WorkerStep::answer(hc::tuple(hc::atom("error"), hc::atom("empty")));
      Term top = items_.back();
      items_.pop_back();
      return WorkerStep::answer(hc::tuple(hc::atom("ok"), top));
    }
    if (request.is_atom("peek"))
      return WorkerStep::answer(items_.empty() ? Term(hc::atom("empty")) : hc::tuple(hc::atom("ok"), items_.back()));
    if (request.is_atom("size")) return WorkerStep::answer(Term(static_cast<std::int64_t>(items_.size())));
    // {crash, Reason}: exit with Reason (the supervisor restarts the child).
    if (request.is_tuple(2) && request.element(0)->is_atom("crash"))
      return WorkerStep::stop_with(*request.element(1), Term(hc::atom("ok")));
    return WorkerStep::answer(hc::tuple(hc::atom("error"), hc::tuple(hc::atom("unknown_call"), request)));
  }

 private:
  hc::TermVector items_;  // top at the back
};

}  // namespace

int main(int argc, char** argv) {
  hc::sdk::ApplicationSpec spec;
  spec.program = "stack_node";
  const hc::Atom module("Elixir.MyCpp.Stack");
  // start_link(Initial :: list): the factory runs on the io thread for every
  // start (and restart) of a child; an error term becomes {error, Term}.
  spec.kinds.add(module, [module](const hc::Atom& function, std::span<const Term> args) -> hc::horde::WorkerStart {
    if (function.text() != "start_link" || args.size() != 1) return hc::horde::undef_reason(module, function, args);
    if (!args[0].is_list() || !args[0].list_tail().is_nil())
      return hc::tuple(hc::atom("bad_initial_stack"), args[0]);
    auto items = args[0].list_elements();
    return std::make_unique<Stack>(hc::TermVector(items.begin(), items.end()));
  });
  return hc::sdk::run_node(argc, argv, std::move(spec));
}
