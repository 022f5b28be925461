// AWLWWMap updates: add/remove and the join of a delta or a wire slice
// (the semantics are in aw_lww_map.hpp).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "crdt/aw_lww_map.hpp"
#include "crdt/aw_lww_record.hpp"
#include "crdt/packed_term.hpp"

namespace hc::crdt {

using namespace awlww_detail;

// ---- updates ----------------------------------------------------------------------------
UpdateResult AWLWWMap::add(const Term& key, const Term& value, std::int64_t node_id, std::int64_t ts) {
  std::string k = pack_term(key);
  const std::uint64_t h = packed_hash(k);
  auto slot = find_slot(k, h);
  std::optional<Term> old_read;
  if (slot) old_read = read_value(*slots_[*slot]);

  const Dot d = ctx_.next_dot(node_id);
  std::string v = pack_term(value);
  std::string t = pack_term(Term(ts));
  Parsed p;
  p.key = k;
  p.elems.push_back({v, t, {d}});
  store(k, h, slot, Record::make(arena_, p.encode()), &key);
  ctx_.add(d);

  UpdateResult r;
  r.keys_changed = 1;
  if (!old_read || !(*old_read == value)) r.diffs.push_back({KeyChange::Kind::add, key, value});
  return r;
}

UpdateResult AWLWWMap::remove(const Term& key) {
  std::string k = pack_term(key);
  const std::uint64_t h = packed_hash(k);
  auto slot = find_slot(k, h);
  UpdateResult r;
  if (!slot) return r;
  store(k, h, slot, nullptr);
  r.keys_changed = 1;
  r.diffs.push_back({KeyChange::Kind::remove, key, Term()});
  return r;
}

UpdateResult AWLWWMap::join(const AWLWWMap& delta, std::span<const Term> keys) {
  auto r = join_with(delta.ctx_, keys, [&](const Term&, std::string_view k, std::uint64_t h, Parsed& p2,
                                          std::vector<std::string>&) {
    auto dslot = delta.find_slot(k, h);
    p2 = Parsed::of(dslot ? delta.slots_[*dslot] : nullptr);
    return true;
  });
  return std::move(*r);
}

Result<UpdateResult> AWLWWMap::join_slice(const Term& slice, std::span<const Term> keys) {
  auto fail = [](std::string why) -> Result<UpdateResult> { return Error(CrdtErrc::malformed_slice, std::move(why)); };
  if (!slice.is_map()) return fail("AWLWWMap is not a map");
  auto sn = struct_name(slice);
  if (sn && !(*sn == awlww_module())) return fail("AWLWWMap has struct " + std::string(sn->text()));
  static const Term dots_atom{Atom("dots")}, value_atom{Atom("value")};
  const Term* dots = slice.map_get(dots_atom);
  const Term* value = slice.map_get(value_atom);
  if (!dots || !value) return fail("AWLWWMap without dots/value");
  std::string why;
  auto c2 = DotContext::from_term(*dots, &why);
  if (!c2) return fail(why);
  if (!value->is_map()) return fail("AWLWWMap value is not a map");
  // The slice's keys by their packed bytes (which join_with computes for
  // every key anyway): one hash probe per key instead of a binary search
  // with deep term comparisons over a map of up to N keys (46 % of a
  // 30 000-key join). Packed bytes are equal exactly when the terms are.
  const auto entries = value->map_entries();
  std::vector<std::string> packed(entries.size());
  std::unordered_map<std::string_view, const Term*> by_key;
  by_key.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    pack_term(entries[i].first, packed[i]);
    by_key.emplace(packed[i], &entries[i].second);
  }
  auto r = join_with(*c2, keys, [&](const Term&, std::string_view k, std::uint64_t, Parsed& p2,
                                    std::vector<std::string>& buffers) {
    p2 = Parsed();
    auto found = by_key.find(k);
    if (found == by_key.end()) return true;
    const Term* elems = found->second;
    if (!elems->is_map()) return false;
    buffers.clear();
    buffers.reserve(elems->map_size() * 2);
    for (const auto& [el, set] : elems->map_entries()) {
      if (!el.is_tuple(2)) return false;
      Parsed::El e;
      if (!parse_mapset_dots(set, e.dots)) return false;
      buffers.push_back(pack_term(el.tuple_elements()[0]));
      e.value = buffers.back();
      buffers.push_back(pack_term(el.tuple_elements()[1]));
      e.ts = buffers.back();
      p2.elems.push_back(std::move(e));
    }
    return true;
  });
  return r;
}

Result<UpdateResult> AWLWWMap::join_with(const DotContext& c2, std::span<const Term> keys,
                                                const DeltaLookup& lookup) {
  struct Pending {
    std::string key;
    std::uint64_t h;
    std::optional<std::uint32_t> slot;
    std::optional<Term> old_read;
    std::string record;  // new canonical bytes, empty = key vanishes
    bool changed = false;
    std::optional<Term> new_read;
    const Term* key_term = nullptr;
  };
  std::vector<Pending> pending;
  pending.reserve(keys.size());
  // Views of pending[i].key (pending never reallocates: reserved above).
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(keys.size());
  std::vector<std::size_t> order;  // index into pending per key given
  order.reserve(keys.size());
  std::vector<std::string> buffers;

  const DotContext& c1 = ctx_;
  for (const Term& key : keys) {
    std::string k = pack_term(key);
    if (auto dup = seen.find(k); dup != seen.end()) {
      order.push_back(dup->second);
      continue;
    }
    Pending pe;
    pe.h = packed_hash(k);
    pe.slot = find_slot(k, pe.h);
    const Record* r1 = pe.slot ? slots_[*pe.slot] : nullptr;
    Parsed p1 = Parsed::of(r1);
    Parsed p2;
    if (!lookup(key, k, pe.h, p2, buffers))  // nothing mutated yet
      return Error(CrdtErrc::malformed_slice, "AWLWWMap element set of a key is malformed");
    Parsed out;
    out.key = k;
    std::vector<bool> matched(p2.elems.size(), false);
    for (auto& e1 : p1.elems) {
      const std::vector<Dot>* s2 = nullptr;
      for (std::size_t j = 0; j < p2.elems.size(); ++j) {
        if (!matched[j] && p2.elems[j].value == e1.value && p2.elems[j].ts == e1.ts) {
          matched[j] = true;
          s2 = &p2.elems[j].dots;
          break;
        }
      }
      std::vector<Dot> keep;
      for (const Dot& d : e1.dots) {
        bool in2 = s2 && std::find(s2->begin(), s2->end(), d) != s2->end();
        if (in2 || !c2.contains(d)) keep.push_back(d);  // S1 ∩ S2, S1 − Ctx2
      }
      if (s2)
        for (const Dot& d : *s2)
          if (!c1.contains(d) && std::find(keep.begin(), keep.end(), d) == keep.end()) keep.push_back(d);
      if (!keep.empty()) out.elems.push_back({e1.value, e1.ts, std::move(keep)});
    }
    for (std::size_t j = 0; j < p2.elems.size(); ++j) {
      if (matched[j]) continue;
      std::vector<Dot> keep;
      for (const Dot& d : p2.elems[j].dots)
        if (!c1.contains(d)) keep.push_back(d);  // S2 − Ctx1
      if (!keep.empty()) out.elems.push_back({p2.elems[j].value, p2.elems[j].ts, std::move(keep)});
    }
    pe.record = out.encode();
    pe.changed = r1 ? (pe.record != r1->bytes()) : !pe.record.empty();
    if (pe.changed && r1) pe.old_read = read_parsed(p1);
    if (pe.changed && !out.elems.empty()) pe.new_read = read_parsed(out);
    pe.key_term = &key;
    pe.key = std::move(k);
    order.push_back(pending.size());
    pending.push_back(std::move(pe));
    seen.emplace(std::string_view(pending.back().key), pending.size() - 1);
  }

  UpdateResult result;
  for (std::size_t n = 0; n < order.size(); ++n) {
    const Pending& pe = pending[order[n]];
    if (!pe.changed) continue;
    ++result.keys_changed;
    const auto& nr = pe.new_read;
    if (pe.old_read && nr && *pe.old_read == *nr) continue;
    if (!nr) {
      result.diffs.push_back({KeyChange::Kind::remove, keys[n], Term()});
    } else {
      result.diffs.push_back({KeyChange::Kind::add, keys[n], *nr});
    }
  }
  for (Pending& pe : pending) {
    if (!pe.changed) continue;
    store(pe.key, pe.h, pe.slot, pe.record.empty() ? nullptr : Record::make(arena_, pe.record), pe.key_term);
  }
  ctx_.merge(c2);
  return result;
}

UpdateResult AWLWWMap::join_all(const AWLWWMap& other) {
  std::vector<Term> all = keys();
  std::unordered_set<std::string> seen;
  for (const Record* r : slots_)
    if (r) seen.emplace(r->key());
  for (const Record* r : other.slots_)
    if (r && !seen.count(std::string(r->key()))) all.push_back(unpack_term_all(r->key()));
  return join(other, all);
}

}  // namespace hc::crdt
