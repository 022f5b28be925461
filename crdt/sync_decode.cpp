#include "crdt/sync_decode.hpp"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "crdt/merkle_map.hpp"  // encoded_part
#include "interop/etf_view.hpp"

namespace hc::crdt {
namespace {

constexpr std::uint8_t kListExt = 108;
constexpr std::uint8_t kMapExt = 116;

// The map at `pos` decoded pair by pair, the values under `key_atoms` by
// `special` (which returns nullopt for one it does not keep: decoded as
// the others); `end` is set past the map.
// nullopt on anything malformed, including a repeated key (which the
// general decoder reports as such).
template <class Special>
std::optional<Term> decode_map(const EtfView& v, std::size_t pos, std::initializer_list<std::string_view> key_atoms,
                               std::size_t& end, Special&& special) {
  auto m = v.map(pos);
  if (!m) return std::nullopt;
  TermPairs pairs;
  pairs.reserve(m->count);
  std::size_t at = m->first;
  for (std::size_t i = 0; i < m->count; ++i) {
    const bool is_special =
        std::any_of(key_atoms.begin(), key_atoms.end(), [&](std::string_view a) { return v.is_atom(at, a); });
    auto key = v.decode(at, at);
    if (!key) return std::nullopt;
    std::optional<Term> value;
    if (is_special) value = special(at, at);  // nullopt: not of the shape to keep
    if (!value) {
      if (auto d = v.decode(at, at)) value = std::move(*d);
    }
    if (!value) return std::nullopt;
    pairs.emplace_back(std::move(*key), std::move(*value));
  }
  end = at;
  Term out = Term::map(std::move(pairs));
  if (out.map_size() != m->count) return std::nullopt;  // a duplicate key
  return out;
}

}  // namespace

std::optional<Result<Term>> decode_sync_message(std::span<const std::uint8_t> body) {
  const EtfView v(body);
  auto outer = v.tuple(0);
  if (!outer || (outer->count != 2 && outer->count != 3) || !v.is_atom(outer->first, "diff")) return std::nullopt;
  auto second = v.skip(outer->first);
  if (!second) return std::nullopt;
  // The term at `pos`, of tag `tag`, kept as its bytes.
  bool found = false;
  auto keep = [&](std::uint8_t tag) {
    return [&, tag](std::size_t pos, std::size_t& end) -> std::optional<Term> {
      // Not of the shape to keep (or nothing to keep): decoded as usual.
      if (v.tag(pos) != tag || (tag == kMapExt && v.map(pos)->count == 0)) return std::nullopt;
      auto e = v.skip(pos);
      if (!e) return std::nullopt;
      end = *e;
      found = true;
      return encoded_part(std::vector<std::uint8_t>(body.begin() + static_cast<std::ptrdiff_t>(pos),
                                                    body.begin() + static_cast<std::ptrdiff_t>(*e)));
    };
  };
  std::size_t end = 0;
  std::optional<Term> second_term;
  if (outer->count == 2) {  // {diff, %Diff{continuation: %MerkleMap.MerkleTree.Diff{trees: Trees}}}
    auto continuation = [&](std::size_t pos, std::size_t& e) {
      return decode_map(v, pos, {"trees", "keys"}, e, keep(kListExt));
    };
    second_term = decode_map(v, *second, {"continuation"}, end, continuation);
  } else {  // {diff, %DeltaCrdt.AWLWWMap{value: Value}, Keys}
    second_term = decode_map(v, *second, {"value"}, end, keep(kMapExt));
  }
  if (!second_term) return std::nullopt;
  TermVector elements{Term(Atom("diff")), std::move(*second_term)};
  if (outer->count == 3) {
    std::optional<Term> keys = keep(kListExt)(end, end);
    if (!keys) {
      auto d = v.decode(end, end);
      if (!d) return std::nullopt;
      keys = std::move(*d);
    }
    elements.push_back(std::move(*keys));
  }
  if (!found) return std::nullopt;
  if (end != body.size()) return std::nullopt;
  return Result<Term>(Term::tuple(std::move(elements)));
}

}  // namespace hc::crdt
