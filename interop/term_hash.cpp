// The structural hash of hc::Term (Term::hash()): equal terms (==) hash
// equal; iterative, so deep terms do not recurse.
#include "interop/term.hpp"

#include <bit>
#include <cstring>
#include <functional>

#include "interop/term_repr.hpp"

namespace hc {
using namespace term_detail;
namespace {

inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
inline std::uint64_t fmix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}
std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n) {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), n));
}

std::uint64_t hash_leaf(const Term& t) noexcept {
  const auto& v = TermAccess::v(t);
  std::uint64_t h = fmix(v.index() + 1);
  switch (v.index()) {
    case kInt: return mix(h, fmix(static_cast<std::uint64_t>(std::get<kInt>(v))));
    case kBig: {
      const auto& b = *std::get<kBig>(v);
      return mix(mix(h, b.negative), hash_bytes(b.magnitude.data(), b.magnitude.size()));
    }
    case kFloat: {
      double d = std::get<kFloat>(v);
      if (d == 0.0) d = 0.0;  // -0.0 =:= 0.0
      return mix(h, fmix(std::bit_cast<std::uint64_t>(d)));
    }
    case kAtom: return mix(h, fmix(reinterpret_cast<std::uintptr_t>(std::get<kAtom>(v).id())));
    case kRef: {
      const auto& r = *std::get<kRef>(v);
      h = mix(h, reinterpret_cast<std::uintptr_t>(r.node.id()));
      h = mix(h, r.creation);
      for (std::size_t i = 0, n = ref_len(r); i < n; ++i) h = mix(h, r.ids[i]);
      return fmix(h);
    }
    case kFun: {
      const auto& f = *std::get<kFun>(v);
      return mix(h, hash_bytes(f.encoded.data(), f.encoded.size()));
    }
    case kPort: {
      const auto& p = std::get<kPort>(v);
      return fmix(mix(mix(mix(h, reinterpret_cast<std::uintptr_t>(p.node.id())), p.id), p.creation));
    }
    case kPid: {
      const auto& p = std::get<kPid>(v);
      h = mix(h, reinterpret_cast<std::uintptr_t>(p.node.id()));
      h = mix(h, (static_cast<std::uint64_t>(p.serial) << 32) | p.id);
      return fmix(mix(h, p.creation));
    }
    case kBits: {
      const auto& b = *std::get<kBits>(v);
      return mix(mix(h, b.bit_size), hash_bytes(b.bytes.data(), b.bytes.size()));
    }
    default: return h;
  }
}

// Preorder walk with an explicit stack: each compound contributes its type
// and size, each leaf its own hash, so structure and contents are covered
// without recursion.
std::uint64_t hash_term(const Term& root) noexcept {
  if (!is_compound(root)) return hash_leaf(root);
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  SmallStack<const Term*> todo;
  todo.push_back(&root);
  while (!todo.empty()) {
    const Term& t = *todo.back();
    todo.pop_back();
    const auto& v = TermAccess::v(t);
    switch (v.index()) {
      case kTuple: {
        const auto& els = *std::get<kTuple>(v);
        h = mix(h, fmix(kTuple + 1) ^ els.size());
        for (std::size_t i = els.size(); i-- > 0;) todo.push_back(&els[i]);
        break;
      }
      case kMap: {
        const auto& es = std::get<kMap>(v)->entries;
        h = mix(h, fmix(kMap + 1) ^ es.size());
        for (std::size_t i = es.size(); i-- > 0;) {
          todo.push_back(&es[i].second);
          todo.push_back(&es[i].first);
        }
        break;
      }
      case kList: {
        const auto& l = *std::get<kList>(v);
        h = mix(h, fmix(kList + 1) ^ l.elements.size());
        todo.push_back(&l.tail);
        for (std::size_t i = l.elements.size(); i-- > 0;) todo.push_back(&l.elements[i]);
        break;
      }
      default: h = mix(h, hash_leaf(t)); break;
    }
  }
  return fmix(h);
}

}  // namespace

std::size_t Term::hash() const noexcept { return static_cast<std::size_t>(hash_term(*this)); }

}  // namespace hc
