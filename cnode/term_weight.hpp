// How much work a term is to encode or to free, bounded: for deciding
// whether that work goes to a worker thread (offload.hpp).
#pragma once

#include <cstddef>
#include <vector>

#include "interop/term.hpp"

namespace hc::cnode {

// True when `t` holds at least `limit` terms, a binary counting one per 64
// bytes. Stops at the limit, so it costs at most `limit` steps (a
// 100 000-name sync message is millions of terms, 30-250 ms to encode and
// 50-200 ms to free; a call or a reply is a few). Any thread.
inline bool term_weight_at_least(const Term& t, std::size_t limit) {
  std::vector<const Term*> stack{&t};
  std::size_t seen = 0;
  while (!stack.empty()) {
    const Term* x = stack.back();
    stack.pop_back();
    if (++seen >= limit) return true;
    // A container's elements count one each at least: a large one decides
    // before its elements are pushed (1 000 000 of them were 8 MB of stack).
    if (x->is_tuple()) {
      if (seen + x->tuple_elements().size() >= limit) return true;
      for (const Term& e : x->tuple_elements()) stack.push_back(&e);
    } else if (x->is_map()) {
      if (seen + 2 * x->map_entries().size() >= limit) return true;
      for (const auto& [k, v] : x->map_entries()) {
        stack.push_back(&k);
        stack.push_back(&v);
      }
    } else if (x->is_list() && !x->is_nil()) {
      if (seen + x->list_elements().size() >= limit) return true;
      for (const Term& e : x->list_elements()) stack.push_back(&e);
      stack.push_back(&x->list_tail());
    } else if (const Bitstring* b = x->as_bitstring()) {
      seen += b->bytes.size() / 64;
      if (seen >= limit) return true;
    }
  }
  return false;
}

}  // namespace hc::cnode
