// The "overloaded" idiom for std::visit: one callable out of several lambdas.
#pragma once

namespace hc::cnode {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace hc::cnode
