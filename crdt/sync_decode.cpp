#include "crdt/sync_decode.hpp"

#include <vector>

#include "crdt/merkle_map.hpp"  // encoded_part
#include "interop/etf_view.hpp"

namespace hc::crdt {
namespace {

constexpr std::uint8_t kListExt = 108;

// The map at `pos` decoded pair by pair, the value under `key_atom` by
// `special` (which returns nullopt to give up); `end` is set past the map.
// nullopt on anything malformed, including a repeated key (which the
// general decoder reports as such).
template <class Special>
std::optional<Term> decode_map(const EtfView& v, std::size_t pos, std::string_view key_atom, std::size_t& end,
                               Special&& special) {
  auto m = v.map(pos);
  if (!m) return std::nullopt;
  TermPairs pairs;
  pairs.reserve(m->count);
  std::size_t at = m->first;
  for (std::size_t i = 0; i < m->count; ++i) {
    const bool is_special = v.is_atom(at, key_atom);
    auto key = v.decode(at, at);
    if (!key) return std::nullopt;
    std::optional<Term> value;
    if (is_special) {
      value = special(at, at);
    } else if (auto d = v.decode(at, at)) {
      value = std::move(*d);
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
  if (!outer || outer->count != 2 || !v.is_atom(outer->first, "diff")) return std::nullopt;
  auto diff_at = v.skip(outer->first);
  if (!diff_at) return std::nullopt;
  bool found = false;
  auto trees = [&](std::size_t pos, std::size_t& end) -> std::optional<Term> {
    if (v.tag(pos) != kListExt) return std::nullopt;  // [] or not a list: nothing to keep encoded
    auto e = v.skip(pos);
    if (!e) return std::nullopt;
    end = *e;
    found = true;
    return encoded_part(std::vector<std::uint8_t>(body.begin() + static_cast<std::ptrdiff_t>(pos),
                                                  body.begin() + static_cast<std::ptrdiff_t>(*e)));
  };
  auto continuation = [&](std::size_t pos, std::size_t& end) { return decode_map(v, pos, "trees", end, trees); };
  std::size_t end = 0;
  auto diff = decode_map(v, *diff_at, "continuation", end, continuation);
  if (!diff || !found || end != body.size()) return std::nullopt;
  return Result<Term>(Term::tuple({Term(Atom("diff")), std::move(*diff)}));
}

}  // namespace hc::crdt
