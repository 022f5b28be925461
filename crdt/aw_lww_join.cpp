// AWLWWMap updates: add/remove and the join of a delta or a wire slice
// (the semantics are in aw_lww_map.hpp).
#include <algorithm>
#include <unordered_set>

#include "crdt/aw_lww_map.hpp"
#include "crdt/aw_lww_record.hpp"
#include "crdt/packed_term.hpp"
#include "crdt/slice_join.hpp"

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
  JoinMemo memo;
  auto r = join_with(delta.ctx_, keys, [&](const Term&, std::string_view k, std::uint64_t h, Parsed& p2,
                                          std::vector<std::string>&) {
    auto dslot = delta.find_slot(k, h);
    p2 = Parsed::of(dslot ? delta.slots_[*dslot] : nullptr);
    return true;
  }, memo);
  ctx_.merge(delta.ctx_);
  return std::move(*r);
}

Result<UpdateResult> AWLWWMap::join_slice(const Term& slice, std::span<const Term> keys) {
  auto j = SliceJoin::start(slice, keys);
  if (!j) return Error(j.error(), j.what());
  return j->step(*this, 0);
}

Result<UpdateResult> AWLWWMap::join_with(const DotContext& c2, std::span<const Term> keys, const DeltaLookup& lookup,
                                         JoinMemo& memo) {
  struct Pending {
    std::string key;
    std::uint64_t h;
    std::optional<std::uint32_t> slot;
    std::string record;  // new canonical bytes, empty = key vanishes
    std::optional<Term> new_read;
    const Term* key_term = nullptr;
  };
  std::vector<Pending> pending;  // the changed keys first given in this call
  std::vector<JoinMemo::Entry> order;  // per key given
  order.reserve(keys.size());
  memo.keys.reserve(memo.keys.size() + keys.size());
  std::vector<std::string> buffers;
  const std::uint32_t call = ++memo.calls;

  const DotContext& c1 = ctx_;
  for (const Term& key : keys) {
    std::string k = pack_term(key);
    const std::uint64_t h = packed_hash(k);
    if (const JoinMemo::Entry* seen = memo.keys.find(h, k)) {
      order.push_back(*seen);
      continue;
    }
    Pending pe;
    pe.h = h;
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
    const bool changed = r1 ? (pe.record != r1->bytes()) : !pe.record.empty();
    auto report = JoinMemo::Report::none;
    if (changed) {
      if (!out.elems.empty()) pe.new_read = read_parsed(out);
      if (!pe.new_read) {
        report = JoinMemo::Report::remove;
      } else if (r1 && read_parsed(p1) == *pe.new_read) {
        report = JoinMemo::Report::silent;
      } else {
        report = JoinMemo::Report::add;
      }
    }
    order.push_back({report, call, static_cast<std::uint32_t>(pending.size())});
    memo.keys.insert(h, k, order.back());
    if (!changed) continue;
    pe.key_term = &key;
    pe.key = std::move(k);
    pending.push_back(std::move(pe));
  }

  UpdateResult result;
  for (std::size_t n = 0; n < order.size(); ++n) {
    const JoinMemo::Entry& e = order[n];
    if (e.report == JoinMemo::Report::none) continue;
    ++result.keys_changed;
    if (e.report == JoinMemo::Report::silent) continue;
    if (e.report == JoinMemo::Report::remove) {
      result.diffs.push_back({KeyChange::Kind::remove, keys[n], Term()});
    } else if (e.call == call) {
      result.diffs.push_back({KeyChange::Kind::add, keys[n], *pending[e.pending].new_read});
    } else {
      // Joined in an earlier step: its value now (a local operation between
      // the steps may have changed it; removed since, the owner was told).
      const std::string k = pack_term(keys[n]);
      if (auto slot = find_slot(k, packed_hash(k)))
        result.diffs.push_back({KeyChange::Kind::add, keys[n], read_value(*slots_[*slot])});
    }
  }
  for (Pending& pe : pending)
    store(pe.key, pe.h, pe.slot, pe.record.empty() ? nullptr : Record::make(arena_, pe.record), pe.key_term);
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
