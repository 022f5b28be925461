#include "crdt/aw_lww_map.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>
#include <unordered_set>

#include "crdt/aw_lww_record.hpp"
#include "crdt/packed_term.hpp"

namespace hc::crdt {

using namespace awlww_detail;

namespace awlww_detail {

const Atom& awlww_module() {
  static const Atom a = elixir_module("DeltaCrdt.AWLWWMap");
  return a;
}

// Erlang order of two packed timestamps (<0, 0, >0).
int compare_ts(std::string_view a, std::string_view b) {
  std::int64_t x, y;
  if (packed_as_int(a, x) && packed_as_int(b, y)) return x < y ? -1 : (x > y ? 1 : 0);
  return erlang_compare(unpack_term_all(a), unpack_term_all(b));
}

// Atoms of the MapSet struct, interned once (this runs per element).
struct MapSetAtoms {
  Term struct_key{Atom("__struct__")};
  Term module{elixir_module("MapSet")};
  Term map{Atom("map")};
  Term version{Atom("version")};
};
const MapSetAtoms& mapset_atoms() {
  static const MapSetAtoms a;
  return a;
}

// Elixir 1.14+ MapSet of the dots: %{'__struct__' => 'Elixir.MapSet', map => #{D => []}, version => 2}.
Term mapset_of(const std::vector<Dot>& dots) {
  const auto& a = mapset_atoms();
  TermPairs inner;
  inner.reserve(dots.size());
  for (const Dot& d : dots) inner.emplace_back(d.to_term(), Term());
  return Term::map({{a.struct_key, a.module}, {a.map, Term::map(std::move(inner))}, {a.version, Term(2)}});
}

// The dots of a MapSet of that exact shape; false otherwise.
bool parse_mapset_dots(const Term& set, std::vector<Dot>& out) {
  const auto& a = mapset_atoms();
  if (!set.is_map() || set.map_size() != 3) return false;
  const Term* st = set.map_get(a.struct_key);
  const Term* version = set.map_get(a.version);
  const Term* map = set.map_get(a.map);
  if (!st || !(*st == a.module) || !version || version->as_int() != 2 || !map || !map->is_map()) return false;
  out.reserve(map->map_size());
  for (const auto& [k, v] : map->map_entries()) {
    auto dot = dot_from_term(k);
    if (!v.is_nil() || !dot) return false;
    out.push_back(*dot);
  }
  return true;
}

}  // namespace awlww_detail

Term KeyChange::to_term() const {
  if (kind == Kind::add) return tuple(Atom("add"), key, value);
  return tuple(Atom("remove"), key);
}

Term changes_to_term(const std::vector<KeyChange>& changes) {
  TermVector v;
  v.reserve(changes.size());
  for (const auto& c : changes) v.push_back(c.to_term());
  return Term::list(std::move(v));
}

std::int64_t beam_monotonic_ns() noexcept {
  static const auto origin = std::chrono::steady_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin).count();
  return kBeamMonotonicOrigin + ns;
}

// ---- lifetime -----------------------------------------------------------------
AWLWWMap::AWLWWMap() = default;

// The records go with the arena.
AWLWWMap::~AWLWWMap() = default;

AWLWWMap::AWLWWMap(AWLWWMap&& o) noexcept
    : arena_(std::move(o.arena_)),
      slots_(std::move(o.slots_)),
      free_slots_(std::move(o.free_slots_)),
      index_(std::move(o.index_)),
      count_(o.count_),
      ctx_(std::move(o.ctx_)),
      merkle_(std::move(o.merkle_)) {
  o.slots_.clear();
  o.count_ = 0;
}

AWLWWMap& AWLWWMap::operator=(AWLWWMap&& o) noexcept {
  if (this != &o) {
    arena_ = std::move(o.arena_);
    slots_ = std::move(o.slots_);
    free_slots_ = std::move(o.free_slots_);
    index_ = std::move(o.index_);
    count_ = o.count_;
    ctx_ = std::move(o.ctx_);
    merkle_ = std::move(o.merkle_);
    o.slots_.clear();
    o.count_ = 0;
  }
  return *this;
}

AWLWWMap AWLWWMap::clone() const {
  AWLWWMap m;
  m.ctx_ = ctx_;
  for (const Record* r : slots_) {
    if (!r) continue;
    auto key = r->key();
    m.store(key, packed_hash(key), std::nullopt, Record::make(m.arena_, r->bytes()));
  }
  if (merkle_) m.enable_merkle();
  return m;
}

// ---- index ----------------------------------------------------------------------
std::optional<std::uint32_t> AWLWWMap::find_slot(std::string_view key, std::uint64_t h) const {
  if (index_.empty()) return std::nullopt;
  const std::size_t mask = index_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(h);
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    std::uint64_t e = index_[i];
    if (e == 0) return std::nullopt;
    if (static_cast<std::uint32_t>(e >> 32) == tag) {
      auto slot = static_cast<std::uint32_t>(e) - 1;
      if (slots_[slot]->key() == key) return slot;
    }
  }
}

void AWLWWMap::grow_index() {
  std::vector<std::uint64_t> old = std::move(index_);
  index_.assign(old.empty() ? 16 : old.size() * 2, 0);
  const std::size_t mask = index_.size() - 1;
  for (std::uint64_t e : old) {
    if (e == 0) continue;
    std::size_t i = (e >> 32) & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = e;
  }
}

void AWLWWMap::index_insert(std::uint64_t h, std::uint32_t slot) {
  if ((count_ + 1) * 8 > index_.size() * 7) grow_index();
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t e = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(h)) << 32) | (slot + 1u);
  std::size_t i = h & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = e;
}

void AWLWWMap::index_erase(std::uint64_t h, std::uint32_t slot) {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = h & mask;
  while (static_cast<std::uint32_t>(index_[i]) != slot + 1u) i = (i + 1) & mask;
  // Backward-shift deletion keeps probe chains intact without tombstones.
  for (std::size_t j = i;;) {
    index_[i] = 0;
    for (;;) {
      j = (j + 1) & mask;
      if (index_[j] == 0) return;
      std::size_t ideal = (index_[j] >> 32) & mask;
      // Move j back to i unless its ideal slot lies cyclically in (i, j].
      bool stays = (i <= j) ? (i < ideal && ideal <= j) : (i < ideal || ideal <= j);
      if (!stays) break;
    }
    index_[i] = index_[j];
    i = j;
  }
}

void AWLWWMap::store(std::string_view key, std::uint64_t h, std::optional<std::uint32_t> slot, Record* record,
                     const Term* key_term) {
  if (slot) {
    Record* old = slots_[*slot];
    if (!record) {
      if (merkle_) merkle_->remove(old->key_hash, *slot);
      index_erase(h, *slot);
      Record::destroy(arena_, old);
      slots_[*slot] = nullptr;
      free_slots_.push_back(*slot);
      --count_;
      return;
    }
    record->inherit_hash(*old);
    if (merkle_ && !record->has_hash()) record->set_hash(merkle_key_hash(unpack_term_all(key)));
    slots_[*slot] = record;
    Record::destroy(arena_, old);
    if (merkle_) merkle_->put(record->key_hash, *slot, *slot);
    return;
  }
  if (!record) return;
  std::uint32_t s;
  if (!free_slots_.empty()) {
    s = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slots_.push_back(nullptr);
    s = static_cast<std::uint32_t>(slots_.size() - 1);
  }
  if (merkle_ && !record->has_hash()) record->set_hash(merkle_key_hash(key_term ? *key_term : unpack_term_all(key)));
  slots_[s] = record;
  index_insert(h, s);
  ++count_;
  if (merkle_) merkle_->put(record->key_hash, s);
}

// ---- reads ------------------------------------------------------------------------
Term AWLWWMap::read_value(const Record& r) const { return read_parsed(Parsed::of(&r)); }

Term AWLWWMap::read_parsed(const Parsed& p) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < p.elems.size(); ++i) {
    int c = compare_ts(p.elems[i].ts, p.elems[best].ts);
    if (c > 0) {
      best = i;
    } else if (c == 0) {
      // Tie: the first in map order of {Value, Ts} wins (Enum.max_by/2).
      Term a = tuple(unpack_term_all(p.elems[i].value), unpack_term_all(p.elems[i].ts));
      Term b = tuple(unpack_term_all(p.elems[best].value), unpack_term_all(p.elems[best].ts));
      if ((a <=> b) < 0) best = i;
    }
  }
  return unpack_term_all(p.elems[best].value);
}

bool AWLWWMap::contains(const Term& key) const {
  std::string k = pack_term(key);
  return find_slot(k, packed_hash(k)).has_value();
}

std::optional<Term> AWLWWMap::get(const Term& key) const {
  std::string k = pack_term(key);
  auto s = find_slot(k, packed_hash(k));
  if (!s) return std::nullopt;
  return read_value(*slots_[*s]);
}

Term AWLWWMap::read() const {
  TermPairs pairs;
  pairs.reserve(count_);
  for (const Record* r : slots_)
    if (r) pairs.emplace_back(unpack_term_all(r->key()), read_value(*r));
  return Term::map(std::move(pairs));
}

Term AWLWWMap::read(std::span<const Term> keys) const {
  TermPairs pairs;
  for (const Term& k : keys)
    if (auto v = get(k)) pairs.emplace_back(k, std::move(*v));
  return Term::map(std::move(pairs));
}

std::vector<Term> AWLWWMap::keys() const {
  std::vector<Term> out;
  out.reserve(count_);
  for (const Record* r : slots_)
    if (r) out.push_back(unpack_term_all(r->key()));
  return out;
}

std::optional<std::vector<Element>> AWLWWMap::elements(const Term& key) const {
  std::string k = pack_term(key);
  auto s = find_slot(k, packed_hash(k));
  if (!s) return std::nullopt;
  Parsed p = Parsed::of(slots_[*s]);
  std::vector<Element> out;
  for (auto& e : p.elems) out.push_back({unpack_term_all(e.value), unpack_term_all(e.ts), e.dots});
  return out;
}

Term AWLWWMap::element_map(const Record* r) {
  auto p = Parsed::of(r);
  TermPairs pairs;
  pairs.reserve(p.elems.size());
  for (const auto& e : p.elems)
    pairs.emplace_back(tuple(unpack_term_all(e.value), unpack_term_all(e.ts)), mapset_of(e.dots));
  return Term::map(std::move(pairs));
}

std::optional<Term> AWLWWMap::value_term(const Term& key) const {
  std::string k = pack_term(key);
  auto s = find_slot(k, packed_hash(k));
  if (!s) return std::nullopt;
  return element_map(slots_[*s]);
}

Term AWLWWMap::merkle_key(EntryId id) const { return unpack_term_all(slots_[id]->key()); }
Term AWLWWMap::merkle_value(EntryId id) const { return element_map(slots_[id]); }

// ---- terms --------------------------------------------------------------------------
Term AWLWWMap::to_term() const {
  TermPairs values;
  values.reserve(count_);
  for (const Record* r : slots_)
    if (r) values.emplace_back(unpack_term_all(r->key()), element_map(r));
  return make_struct(awlww_module(), {{Term(Atom("dots")), ctx_.to_term()},
                                      {Term(Atom("value")), Term::map(std::move(values))}});
}

Term AWLWWMap::slice_term(std::span<const Term> keys, const Term& dots) const {
  TermPairs values;
  for (const Term& k : keys)
    if (auto v = value_term(k)) values.emplace_back(k, std::move(*v));
  return make_struct(awlww_module(), {{Term(Atom("dots")), dots}, {Term(Atom("value")), Term::map(std::move(values))}});
}

std::optional<AWLWWMap> AWLWWMap::from_term(const Term& t, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<AWLWWMap> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (!t.is_map()) return fail("AWLWWMap is not a map");
  auto sn = struct_name(t);
  if (sn && !(*sn == awlww_module())) return fail("AWLWWMap has struct " + std::string(sn->text()));
  const Term* dots = t.map_get(std::string_view("dots"));
  const Term* value = t.map_get(std::string_view("value"));
  if (!dots || !value) return fail("AWLWWMap without dots/value");
  std::string why;
  auto ctx = DotContext::from_term(*dots, &why);
  if (!ctx) return fail(why);
  if (!value->is_map()) return fail("AWLWWMap value is not a map");
  AWLWWMap m;
  m.ctx_ = std::move(*ctx);
  std::vector<std::string> buffers;
  for (const auto& [key, elems] : value->map_entries()) {
    if (!elems.is_map()) return fail("AWLWWMap element set is not a map");
    std::string kbytes = pack_term(key);
    Parsed p;
    p.key = kbytes;
    buffers.clear();
    buffers.reserve(elems.map_size() * 2);
    for (const auto& [el, set] : elems.map_entries()) {
      if (!el.is_tuple(2)) return fail("AWLWWMap element is not {Value, Ts}");
      Parsed::El e;
      if (!parse_mapset_dots(set, e.dots)) return fail("AWLWWMap dot set is not a MapSet of {int, int}");
      buffers.push_back(pack_term(el.tuple_elements()[0]));
      e.value = buffers.back();
      buffers.push_back(pack_term(el.tuple_elements()[1]));
      e.ts = buffers.back();
      p.elems.push_back(std::move(e));
    }
    std::string rec = p.encode();
    if (rec.empty()) continue;  // a key without elements carries nothing
    m.store(kbytes, packed_hash(kbytes), std::nullopt, Record::make(m.arena_, rec), &key);
  }
  return m;
}

bool AWLWWMap::operator==(const AWLWWMap& other) const {
  if (count_ != other.count_ || !(ctx_ == other.ctx_)) return false;
  for (const Record* r : slots_) {
    if (!r) continue;
    auto key = r->key();
    auto s = other.find_slot(key, packed_hash(key));
    if (!s || other.slots_[*s]->bytes() != r->bytes()) return false;
  }
  return true;
}

// ---- Merkle ---------------------------------------------------------------------------------
void AWLWWMap::enable_merkle() {
  if (merkle_) return;
  merkle_ = std::make_unique<MerkleMap>();
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    Record* r = slots_[s];
    if (!r) continue;
    if (!r->has_hash()) r->set_hash(merkle_key_hash(unpack_term_all(r->key())));
    merkle_->put(r->key_hash, s);
  }
}

void AWLWWMap::update_hashes() {
  if (merkle_) merkle_->update_hashes(*this);
}

bool AWLWWMap::update_hashes(std::size_t max_nodes) { return !merkle_ || merkle_->update_hashes(*this, max_nodes); }

std::optional<std::uint32_t> AWLWWMap::merkle_root() {
  enable_merkle();
  update_hashes();
  return merkle_->root_hash();
}

Term AWLWWMap::merkle_tree_term() {
  enable_merkle();
  update_hashes();
  return merkle_->tree_term(*this);
}

Term AWLWWMap::prepare_partial_diff(int depth) {
  enable_merkle();
  update_hashes();
  return merkle_->prepare_partial_diff(depth, *this);
}

Result<PartialDiffStep> AWLWWMap::continue_partial_diff(const Term& continuation, int depth) {
  enable_merkle();
  update_hashes();
  std::string why;
  auto step = merkle_->continue_partial_diff(continuation, depth, *this, &why);
  if (!step) return Error(CrdtErrc::malformed_continuation, std::move(why));
  return std::move(*step);
}

std::unique_ptr<PartialDiffWalk> AWLWWMap::partial_diff_walk(Term continuation, int depth) {
  enable_merkle();
  update_hashes();
  const MerkleContent& content = *this;  // a private base: converted here, not in make_unique
  return std::make_unique<PartialDiffWalk>(*merkle_, content, std::move(continuation), depth);
}

Term AWLWWMap::continuation_term(const PartialDiffStep& step) const {
  return merkle_ ? merkle_->continuation_term(step, *this) : Term();
}

void AWLWWMap::encode_continuation(const PartialDiffStep& step, EtfWriter& out) const {
  if (merkle_) merkle_->write_continuation(step, *this, out);
}

std::unique_ptr<ContinuationWriter> AWLWWMap::continuation_writer(PartialDiffStep step) const {
  if (!merkle_) return nullptr;
  const MerkleContent& content = *this;  // a private base: converted here, not in make_unique
  return std::make_unique<ContinuationWriter>(*merkle_, content, std::move(step));
}

std::size_t AWLWWMap::memory_bytes() const noexcept {
  std::size_t m = slots_.capacity() * sizeof(Record*) + free_slots_.capacity() * 4 + index_.capacity() * 8;
  m += arena_.bytes_reserved();
  if (merkle_) m += merkle_->memory_bytes();
  return m;
}

}  // namespace hc::crdt
