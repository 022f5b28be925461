// SliceJoin: AWLWWMap::join_slice in steps (see slice_join.hpp).
#include "crdt/slice_join.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "crdt/aw_lww_record.hpp"
#include "crdt/merkle_map.hpp"  // encoded_part_bytes
#include "crdt/packed_term.hpp"
#include "interop/etf_view.hpp"

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
  // Or the value map as received (an encoded part, sync_decode.hpp): each
  // entry's element map is decoded when its key is joined, so the slice is
  // never a tree of Terms (60 MB of bytes at 300 000 names, some 3x that
  // decoded, and a free as long as the decode).
  Term encoded;                             // the encoded part, while indexing and joining
  std::span<const std::uint8_t> bytes;      // its bytes
  std::size_t entries_total = 0, next_pos = 0;
  std::vector<std::uint32_t> element_pos;   // entry i's element map, an offset into `bytes`
  // Keys: read a piece a step (decoded there when they arrived encoded,
  // key_list.hpp), each step the keys it joins; kept until released.
  std::optional<KeyListReader> reader;
  std::vector<Term> keys;
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
std::string stay_joined(std::size_t n) {
  return " the " + std::to_string(n) + " before stay joined, the slice's context is not merged";
}
}  // namespace

SliceJoin::SliceJoin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SliceJoin::SliceJoin(SliceJoin&&) noexcept = default;
SliceJoin& SliceJoin::operator=(SliceJoin&&) noexcept = default;
SliceJoin::~SliceJoin() = default;

Result<SliceJoin> SliceJoin::start(const Term& slice, const Term& keys) {
  auto reader = KeyListReader::open(keys);
  if (!reader) return malformed("Keys is not a list");
  return start(slice, std::move(*reader));
}

Result<SliceJoin> SliceJoin::start(const Term& slice, std::span<const Term> keys) {
  return start(slice, KeyListReader::over(keys));
}

Result<SliceJoin> SliceJoin::start(const Term& slice, KeyListReader keys) {
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
  auto impl = std::make_unique<Impl>();
  if (const Bitstring* b = encoded_part_bytes(*value)) {
    const EtfView v(b->bytes);
    auto m = v.map(0);
    if (!m || b->bytes.size() > std::numeric_limits<std::uint32_t>::max())
      return malformed("AWLWWMap value is not a map");
    impl->encoded = *value;
    impl->bytes = b->bytes;
    impl->entries_total = m->count;
    impl->next_pos = m->first;
    impl->element_pos.reserve(m->count);
  } else if (!value->is_map()) {
    return malformed("AWLWWMap value is not a map");
  } else {
    impl->slice = slice;
    impl->entries = value->map_entries();
    impl->entries_total = impl->entries.size();
  }
  impl->keys_total = keys.size();
  impl->keys.reserve(keys.size());
  impl->reader = std::move(keys);
  impl->c2 = std::move(*c2);
  impl->own_entries.reserve(impl->entries.size());
  impl->by_key.reserve(impl->entries_total);
  impl->memo.keys.reserve(impl->keys_total);
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
  const EtfView v(j.bytes);
  auto indexed = [&j] { return j.encoded.is_nil() ? j.own_entries.size() : j.element_pos.size(); };
  while (indexed() < j.entries_total && (index_left > 0 || units > 0)) {
    if (index_left == 0) {
      index_left = kIndexedPerUnit;
      --units;
    }
    packed.clear();
    if (j.encoded.is_nil()) {
      const auto& e = j.entries[j.own_entries.size()];
      pack_term(e.first, packed);
      j.by_key.insert(packed_hash(packed), packed, static_cast<std::uint32_t>(j.own_entries.size()));
      j.own_entries.push_back(e);
    } else {
      // The key decoded (to pack it: the index is by packed bytes), the
      // element map passed over; a repeated key is what the general
      // decoder refuses the whole map for (duplicate_map_key).
      std::size_t at = j.next_pos;
      auto key = v.decode(at, at);
      auto end = key ? v.skip(at) : Result<std::size_t>(key.error());
      if (!end) {
        j.failed = true;
        return malformed("AWLWWMap value entry " + std::to_string(j.element_pos.size() + 1) + ": " + end.message());
      }
      pack_term(*key, packed);
      const std::uint64_t h = packed_hash(packed);
      if (j.by_key.find(h, packed)) {
        j.failed = true;
        return malformed("AWLWWMap value has a repeated key");
      }
      j.by_key.insert(h, packed, static_cast<std::uint32_t>(j.element_pos.size()));
      j.element_pos.push_back(static_cast<std::uint32_t>(at));
      j.next_pos = *end;
    }
    --index_left;
  }
  if (indexed() < j.entries_total) return UpdateResult{};
  if (!j.slice.is_nil()) {
    j.entries = {};
    j.slice = Term();  // only our references remain (see Impl)
  }
  const std::size_t n = std::min(units, j.keys_total - j.next_key);
  if (n == 0 && j.next_key < j.keys_total) return UpdateResult{};
  if (j.keys.size() < j.next_key + n && !j.reader->read(j.next_key + n - j.keys.size(), j.keys)) {
    j.failed = true;
    return malformed("Keys: " + j.reader->error() + (j.next_key == 0 ? std::string() : stay_joined(j.next_key)));
  }
  auto lookup = [&](const Term&, std::string_view k, std::uint64_t h, AWLWWMap::Parsed& p2,
                    std::vector<std::string>& buffers) {
    p2 = AWLWWMap::Parsed();
    const std::uint32_t* found = j.by_key.find(h, k);
    if (!found) return true;
    Term decoded;
    const Term* elems = &decoded;
    if (j.encoded.is_nil()) {
      elems = &j.own_entries[*found].second;
    } else {
      std::size_t end = 0;
      auto d = v.decode(j.element_pos[*found], end);
      if (!d) return false;
      decoded = std::move(*d);
    }
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
                     std::to_string(j.next_key + n) + " of " + std::to_string(j.keys_total) + ";" +
                     stay_joined(j.next_key) + ")");
  }
  j.next_key += n;
  if (j.next_key == j.keys_total) {
    state.ctx_.merge(j.c2);
    j.merged = true;
    j.reader->release();
  }
  return r;
}

bool SliceJoin::release(std::size_t budget) {
  Impl& j = *impl_;
  j.slice = Term();
  j.entries = {};
  j.encoded = Term();  // one block of bytes: freed at once
  j.bytes = {};
  std::vector<std::uint32_t>().swap(j.element_pos);
  if (j.reader) j.reader->release();
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
