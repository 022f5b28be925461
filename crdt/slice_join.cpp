// SliceJoin: AWLWWMap::join_slice in steps (see slice_join.hpp).
#include "crdt/slice_join.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "crdt/aw_lww_record.hpp"
#include "crdt/packed_term.hpp"

namespace hc::crdt {

using namespace awlww_detail;

struct SliceJoin::Impl {
  // The slice until its value map is indexed; then only our own references
  // to its parts, which release() drops in pieces after the join: freeing
  // a decoded 100 000-key message costs ~150 ms (what the host's mailbox
  // still holds after the first turn is the spine, whose parts we keep
  // alive). Not while joining: freed between the records the join
  // allocates, the message's blocks stayed as holes that malloc cannot
  // give back (a cold 100 000-key join: +33 MB resident).
  Term slice;
  std::span<const std::pair<Term, Term>> entries;  // the slice's value map, while `slice` is held
  std::vector<std::pair<Term, Term>> own_entries;   // entries[i]
  std::vector<Term> keys;                           // Keys
  DotContext c2;
  // The slice's keys by their packed bytes (which the join computes for
  // every key anyway): one hash probe per key instead of a binary search
  // with deep term comparisons over a map of up to N keys (46 % of a
  // 30 000-key join). Packed bytes are equal exactly when the terms are.
  PackedKeyMap<std::uint32_t> by_key;  // -> index into own_entries
  AWLWWMap::JoinMemo memo;
  std::size_t next_key = 0, keys_total = 0;
  bool merged = false, failed = false;
};

namespace {
Error malformed(std::string why) { return Error(CrdtErrc::malformed_slice, std::move(why)); }
}  // namespace

SliceJoin::SliceJoin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SliceJoin::SliceJoin(SliceJoin&&) noexcept = default;
SliceJoin& SliceJoin::operator=(SliceJoin&&) noexcept = default;
SliceJoin::~SliceJoin() = default;

Result<SliceJoin> SliceJoin::start(const Term& slice, const Term& keys) {
  if (!keys.is_proper_list()) return malformed("Keys is not a list");
  return start(slice, keys.list_elements());
}

Result<SliceJoin> SliceJoin::start(const Term& slice, std::span<const Term> keys) {
  if (!slice.is_map()) return malformed("AWLWWMap is not a map");
  auto sn = struct_name(slice);
  if (sn && !(*sn == awlww_module())) return malformed("AWLWWMap has struct " + std::string(sn->text()));
  static const Term dots_atom{Atom("dots")}, value_atom{Atom("value")};
  const Term* dots = slice.map_get(dots_atom);
  const Term* value = slice.map_get(value_atom);
  if (!dots || !value) return malformed("AWLWWMap without dots/value");
  std::string why;
  auto c2 = DotContext::from_term(*dots, &why);
  if (!c2) return malformed(why);
  if (!value->is_map()) return malformed("AWLWWMap value is not a map");
  auto impl = std::make_unique<Impl>();
  impl->slice = slice;
  impl->entries = value->map_entries();
  impl->keys.assign(keys.begin(), keys.end());
  impl->keys_total = keys.size();
  impl->c2 = std::move(*c2);
  impl->own_entries.reserve(impl->entries.size());
  impl->by_key.reserve(impl->entries.size());
  impl->memo.keys.reserve(keys.size());
  return SliceJoin(std::move(impl));
}

Result<UpdateResult> SliceJoin::step(AWLWWMap& state, std::size_t budget) {
  Impl& j = *impl_;
  if (j.failed) return malformed("a join that failed earlier");
  if (j.merged) return UpdateResult{};
  std::size_t units = budget == 0 ? std::numeric_limits<std::size_t>::max() : budget;
  // Index the value map first: every key may be looked up in any step.
  std::size_t index_left = 0;  // entries the current unit may still index
  std::string packed;
  while (j.own_entries.size() < j.entries.size() && (index_left > 0 || units > 0)) {
    if (index_left == 0) {
      index_left = kIndexedPerUnit;
      --units;
    }
    const auto& e = j.entries[j.own_entries.size()];
    packed.clear();
    pack_term(e.first, packed);
    j.by_key.insert(packed_hash(packed), packed, static_cast<std::uint32_t>(j.own_entries.size()));
    j.own_entries.push_back(e);
    --index_left;
  }
  if (j.own_entries.size() < j.entries.size()) return UpdateResult{};
  if (!j.slice.is_nil()) {
    j.entries = {};
    j.slice = Term();  // only our references remain (see Impl)
  }
  const std::size_t n = std::min(units, j.keys.size() - j.next_key);
  if (n == 0 && j.next_key < j.keys.size()) return UpdateResult{};
  auto lookup = [&](const Term&, std::string_view k, std::uint64_t h, AWLWWMap::Parsed& p2,
                    std::vector<std::string>& buffers) {
    p2 = AWLWWMap::Parsed();
    const std::uint32_t* found = j.by_key.find(h, k);
    if (!found) return true;
    const Term* elems = &j.own_entries[*found].second;
    if (!elems->is_map()) return false;
    buffers.clear();
    buffers.reserve(elems->map_size() * 2);
    for (const auto& [el, set] : elems->map_entries()) {
      if (!el.is_tuple(2)) return false;
      AWLWWMap::Parsed::El e;
      if (!parse_mapset_dots(set, e.dots)) return false;
      buffers.push_back(pack_term(el.tuple_elements()[0]));
      e.value = buffers.back();
      buffers.push_back(pack_term(el.tuple_elements()[1]));
      e.ts = buffers.back();
      p2.elems.push_back(std::move(e));
    }
    return true;
  };
  auto r = state.join_with(j.c2, std::span<const Term>(j.keys).subspan(j.next_key, n), lookup, j.memo);
  if (!r) {
    j.failed = true;
    if (j.next_key == 0) return r;
    return malformed(r.what() + " (in keys " + std::to_string(j.next_key + 1) + ".." +
                     std::to_string(j.next_key + n) + " of " + std::to_string(j.keys.size()) + "; the " +
                     std::to_string(j.next_key) + " before stay joined, the slice's context is not merged)");
  }
  j.next_key += n;
  if (j.next_key == j.keys.size()) {
    state.ctx_.merge(j.c2);
    j.merged = true;
  }
  return r;
}

bool SliceJoin::release(std::size_t budget) {
  Impl& j = *impl_;
  j.slice = Term();
  j.entries = {};
  for (std::size_t n = 0; n < budget && !(j.keys.empty() && j.own_entries.empty()); ++n) {
    if (!j.own_entries.empty()) {
      j.own_entries.pop_back();
    } else {
      j.keys.pop_back();
    }
  }
  return j.keys.empty() && j.own_entries.empty();
}

bool SliceJoin::done() const noexcept { return impl_->merged; }
bool SliceJoin::failed() const noexcept { return impl_->failed; }
std::size_t SliceJoin::keys_total() const noexcept { return impl_->keys_total; }
std::size_t SliceJoin::keys_joined() const noexcept { return impl_->next_key; }

}  // namespace hc::crdt
