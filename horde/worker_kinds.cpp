#include "horde/worker_kinds.hpp"

namespace hc::horde {

namespace {

class Echo final : public Worker {
 public:
  WorkerStep handle_call(const Term& request) override { return WorkerStep::answer(request); }
};

class Counter final : public Worker {
 public:
  explicit Counter(std::int64_t initial) : value_(initial) {}
  WorkerStep handle_call(const Term& request) override {
    if (request.is_atom("get")) return WorkerStep::answer(Term(value_));
    if (request.is_tuple(2) && request.element(0)->is_atom("add")) {
      if (auto n = request.element(1)->as_int()) {
        // Saturate instead of overflowing int64 (bignum counters are not needed).
        if (__builtin_add_overflow(value_, *n, &value_))
          return WorkerStep::answer(tuple(atom("error"), atom("overflow")));
        return WorkerStep::answer(Term(value_));
      }
    }
    if (request.is_tuple(2) && request.element(0)->is_atom("stop"))
      return WorkerStep::stop_with(*request.element(1), Term(atom("ok")));
    return WorkerStep::answer(tuple(atom("error"), tuple(atom("unknown_call"), request)));
  }

 private:
  std::int64_t value_;
};

}  // namespace

Term undef_reason(const Atom& module, const Atom& function, std::span<const Term> args) {
  return tuple(atom("undef"), tuple(module, function, Term::list(TermVector(args.begin(), args.end()))));
}

void WorkerKinds::add(Atom module, WorkerFactory factory) { kinds_[module] = std::move(factory); }

const WorkerFactory* WorkerKinds::find(const Atom& module) const {
  auto it = kinds_.find(module);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<Atom> WorkerKinds::modules() const {
  std::vector<Atom> out;
  for (const auto& [m, _] : kinds_) out.push_back(m);
  return out;
}

WorkerStart WorkerKinds::start(const Atom& module, const Atom& function, std::span<const Term> args) const {
  const WorkerFactory* f = find(module);
  if (f == nullptr) return tuple(atom("cpp_worker_kind_not_provided"), module);
  return (*f)(function, args);
}

WorkerKinds WorkerKinds::builtin() {
  WorkerKinds kinds;
  const Atom echo("Elixir.CppWorkers.Echo");
  kinds.add(echo, [echo](const Atom& function, std::span<const Term> args) -> WorkerStart {
    if (function.text() != "start_link" || args.size() != 1)
      return undef_reason(echo, function, args);
    return std::make_unique<Echo>();
  });
  const Atom counter("Elixir.CppWorkers.Counter");
  kinds.add(counter, [counter](const Atom& function, std::span<const Term> args) -> WorkerStart {
    if (function.text() != "start_link" || args.size() != 1) return undef_reason(counter, function, args);
    auto initial = args[0].as_int();
    if (!initial) return tuple(atom("bad_initial_value"), args[0]);
    return std::make_unique<Counter>(*initial);
  });
  return kinds;
}

}  // namespace hc::horde
