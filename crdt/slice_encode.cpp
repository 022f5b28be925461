// The {diff, Slice, Keys} message (slice_encode.hpp): the external format
// of slice_term written from the packed records (aw_lww_record.hpp), in
// one go or in pieces (SliceWriter).
#include "crdt/slice_encode.hpp"

#include <algorithm>
#include <string>

#include "crdt/aw_lww_record.hpp"
#include "crdt/packed_term.hpp"
#include "interop/etf_writer.hpp"

namespace hc::crdt {

using namespace awlww_detail;

namespace {

// The constant parts of the terms around the records, encoded once. Map
// keys in atom order, as Term::map sorts them ('__struct__' < 'dots' <
// 'map' < 'value' < 'version': '_' sorts before every letter).
struct Pieces {
  // %MapSet{}: #{'__struct__' => 'Elixir.MapSet', map => #{Dot => []}, version => 2}
  std::vector<std::uint8_t> mapset_head;  // map header, '__struct__', 'Elixir.MapSet', map
  std::vector<std::uint8_t> mapset_tail;  // version, 2
  // %DeltaCrdt.AWLWWMap{}: #{'__struct__' => ..., dots => Dots, value => Values}
  std::vector<std::uint8_t> slice_head;  // map header, '__struct__', 'Elixir.DeltaCrdt.AWLWWMap', dots
  std::vector<std::uint8_t> value_key;   // value
  // {diff, Slice, Keys}
  std::vector<std::uint8_t> message_head;  // tuple header, diff
};

const Pieces& pieces() {
  static const Pieces p = [] {
    Pieces m;
    {
      EtfWriter w(m.mapset_head);
      w.map_header(3);
      w.atom(Atom("__struct__"));
      w.atom(elixir_module("MapSet"));
      w.atom(Atom("map"));
    }
    {
      EtfWriter w(m.mapset_tail);
      w.atom(Atom("version"));
      w.integer(2);
    }
    {
      EtfWriter w(m.slice_head);
      w.map_header(3);
      w.atom(Atom("__struct__"));
      w.atom(awlww_module());
      w.atom(Atom("dots"));
    }
    EtfWriter(m.value_key).atom(Atom("value"));
    {
      EtfWriter w(m.message_head);
      w.tuple_header(3);
      w.atom(Atom("diff"));
    }
    return m;
  }();
  return p;
}

Dot read_dot(std::string_view& in) {
  Dot d;
  d.node = unzigzag(get_varint(in));
  d.counter = unzigzag(get_varint(in));
  return d;
}

// An element's dot set as the MapSet mapset_of builds; `in` is at its dot
// count and is advanced past the dots. The record keeps them sorted, so
// equal dots (which the map would merge) are neighbours.
void write_dots(std::string_view& in, EtfWriter& w) {
  const Pieces& p = pieces();
  const auto n = get_varint(in);
  std::size_t distinct = 0;
  std::string_view scan = in;
  Dot prev;
  for (std::uint64_t i = 0; i < n; ++i) {
    Dot d = read_dot(scan);
    if (i == 0 || !(d == prev)) ++distinct;
    prev = d;
  }
  w.raw(p.mapset_head);
  w.map_header(distinct);
  for (std::uint64_t i = 0; i < n; ++i) {
    Dot d = read_dot(in);
    if (i > 0 && d == prev) continue;
    prev = d;
    w.tuple_header(2);
    w.integer(d.node);
    w.integer(d.counter);
    w.nil();
  }
  w.raw(p.mapset_tail);
}

std::string_view take_bytes(std::string_view& in) {
  auto n = get_varint(in);
  std::string_view s = in.substr(0, n);
  in.remove_prefix(n);
  return s;
}

void write_element(std::string_view value, std::string_view ts, std::string_view dots, EtfWriter& w) {
  w.tuple_header(2);
  write_packed_etf(value, w);
  write_packed_etf(ts, w);
  write_dots(dots, w);
}

// Skips an element's dots; returns them (count included).
std::string_view take_dots(std::string_view& in) {
  std::string_view start = in;
  auto n = get_varint(in);
  for (std::uint64_t i = 0; i < 2 * n; ++i) get_varint(in);
  return start.substr(0, start.size() - in.size());
}

// The element map of a record, `#{{Value, Ts} => MapSet}`, as element_map
// builds it. The record orders elements by their packed bytes, the map by
// Erlang term order: with several elements (concurrent writes, rare) they
// are sorted as Terms.
void write_element_map(std::string_view rec, EtfWriter& w) {
  take_bytes(rec);  // the key
  const auto n = get_varint(rec);
  if (n == 1) {
    w.map_header(1);
    std::string_view value = take_bytes(rec);
    std::string_view ts = take_bytes(rec);
    write_element(value, ts, rec, w);
    return;
  }
  struct El {
    std::string_view value, ts, dots;
    Term key;  // {Value, Ts}, for the order
  };
  std::vector<El> els(n);
  for (El& e : els) {
    e.value = take_bytes(rec);
    e.ts = take_bytes(rec);
    e.dots = take_dots(rec);
    e.key = tuple(unpack_term_all(e.value), unpack_term_all(e.ts));
  }
  std::stable_sort(els.begin(), els.end(), [](const El& a, const El& b) { return (a.key <=> b.key) < 0; });
  std::size_t distinct = 0;
  for (std::size_t i = 0; i < els.size(); ++i)
    if (i + 1 == els.size() || !(els[i].key == els[i + 1].key)) ++distinct;
  w.map_header(distinct);
  for (std::size_t i = 0; i < els.size(); ++i) {
    if (i + 1 < els.size() && els[i].key == els[i + 1].key) continue;  // the last of equal keys, as Term::map
    write_element(els[i].value, els[i].ts, els[i].dots, w);
  }
}

// A key of the slice and what its order needs: for the registry's keys,
// `{Tag, Binary}` ({key, Name}), the tag and the binary, so that most of
// the 1.7 million comparisons of a 100 000-key slice are a memcmp.
struct SliceKey {
  const Term* key;
  const void* tag = nullptr;  // the atom's identity; null: no fast path
  std::string_view bin;
  std::uint64_t head[2] = {0, 0};  // the binary's first 16 bytes, big-endian, zero-padded
};

SliceKey slice_key(const Term& k) {
  SliceKey s{&k};
  auto el = k.tuple_elements();
  if (el.size() != 2) return s;
  const Atom* tag = el[0].as_atom();
  if (!tag) return s;
  if (auto b = el[1].as_binary()) {
    s.tag = tag->id();
    s.bin = *b;
    for (std::size_t i = 0; i < 16; ++i)
      s.head[i / 8] = s.head[i / 8] << 8 | (i < b->size() ? static_cast<std::uint8_t>((*b)[i]) : 0u);
  }
  return s;
}

// The map key order of two keys (<0, 0, >0): Term's operator<=>. Binaries
// order byte by byte (unsigned), a prefix first: string_view's order, which
// the zero-padded heads agree with where they differ.
int key_order(const SliceKey& a, const SliceKey& b) {
  if (a.tag && a.tag == b.tag) {
    for (int i = 0; i < 2; ++i)
      if (a.head[i] != b.head[i]) return a.head[i] < b.head[i] ? -1 : 1;
    return a.bin.size() <= 16 && b.bin.size() <= 16 ? (a.bin.size() > b.bin.size()) - (a.bin.size() < b.bin.size())
                                                      : a.bin.compare(b.bin);
  }
  auto c = *a.key <=> *b.key;
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

struct SliceWriter::Found {
  SliceKey key;
  std::size_t off, len;  // the record's bytes in records_
};

SliceWriter::SliceWriter(const AWLWWMap& state, std::vector<Term> keys, Term dots)
    : state_(state), owned_keys_(std::move(keys)), keys_(owned_keys_), dots_(std::move(dots)) {}
SliceWriter::SliceWriter(const AWLWWMap& state, Term keys_list, Term dots)
    : state_(state), keys_list_(std::move(keys_list)), keys_(keys_list_.list_elements()), dots_(std::move(dots)) {}
SliceWriter::~SliceWriter() = default;

// Looks up the next keys (about one per 128 bytes of budget), copies the
// records of those we hold and sorts them as a run.
bool SliceWriter::lookup(std::size_t budget) {
  const auto& keys = keys_;
  if (next_ == 0) {
    // Sized once for the keys (at the replica's mean record size): grown
    // by doubling, the copies of a 1 000 000-key slice's records would fall
    // into single steps (the last one copying ~64 MB).
    const std::size_t most = std::min(keys.size(), state_.count_);  // we hold at most this many
    found_.reserve(most);
    records_.reserve(most * (state_.arena_.bytes_reserved() / std::max<std::size_t>(1, state_.count_)));
  }
  const std::size_t end = std::min(keys.size(), next_ + std::max<std::size_t>(1, budget / 128));
  const std::size_t run_start = found_.size();
  std::string packed;
  for (; next_ < end; ++next_) {
    const Term& k = keys[next_];
    packed.clear();
    pack_term(k, packed);
    key_bytes_ += packed.size() + 8;  // about its size in the Keys list
    if (auto s = state_.find_slot(packed, packed_hash(packed))) {
      std::string_view rec = state_.slots_[*s]->bytes();
      found_.push_back(Found{slice_key(k), records_.size(), rec.size()});
      records_.append(rec);
    }
  }
  // The keys we hold in map key order; of equal keys the last asked
  // (Term::map's rule): stable within the run, and runs merge in order.
  auto less = [](const Found& a, const Found& b) { return key_order(a.key, b.key) < 0; };
  auto first = found_.begin() + static_cast<std::ptrdiff_t>(run_start);
  if (!std::is_sorted(first, found_.end(), less)) std::stable_sort(first, found_.end(), less);
  if (found_.size() > run_start) run_ends_.push_back(found_.size());
  return next_ == keys.size();
}

void SliceWriter::write_entry(std::size_t i, EtfWriter& w) {
  const Found& f = found_[i];
  w.term(*f.key.key);  // the key as asked (a -0.0 in it stays -0.0, as in slice_term)
  write_element_map(std::string_view(records_).substr(f.off, f.len), w);
  ++distinct_;
}

bool SliceWriter::run_after(std::size_t ra, std::size_t rb) const {
  const int c = key_order(found_[heads_[ra]].key, found_[heads_[rb]].key);
  return c != 0 ? c > 0 : ra > rb;
}

// Merges the runs (a heap of their next entries, ties to the earlier run)
// and writes the entries; of equal keys only the last.
bool SliceWriter::entries(EtfWriter& w, std::size_t budget) {
  auto after = [this](std::size_t a, std::size_t b) { return run_after(a, b); };
  const std::size_t start = w.written();
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), after);
    const std::size_t r = heap_.back();
    const std::size_t i = heads_[r]++;
    if (heads_[r] < run_ends_[r]) {
      std::push_heap(heap_.begin(), heap_.end(), after);
    } else {
      heap_.pop_back();
    }
    if (pending_ != SIZE_MAX && key_order(found_[pending_].key, found_[i].key) != 0) write_entry(pending_, w);
    pending_ = i;
    if (w.written() - start >= budget && !heap_.empty()) return false;
  }
  if (pending_ != SIZE_MAX) write_entry(pending_, w);
  pending_ = SIZE_MAX;
  w.set_map_size(count_at_, distinct_);
  return true;
}

// The list of `keys_` as term() writes it, a piece a call.
bool SliceWriter::keys_list(EtfWriter& w, std::size_t budget) {
  if (!list_open_) {
    list_open_ = true;
    if (w.as_byte_list(keys_)) return true;
    w.list_header(keys_.size());
    next_ = 0;
  }
  const std::size_t start = w.written();
  while (next_ < keys_.size()) {
    w.term(keys_[next_]);
    if (!owned_keys_.empty()) owned_keys_[next_] = Term();
    ++next_;
    if (w.written() - start >= budget && next_ < keys_.size()) return false;
  }
  if (!keys_.empty()) w.nil();
  return true;
}

bool SliceWriter::write(EtfWriter& w, std::size_t budget) {
  const Pieces& p = pieces();
  switch (phase_) {
    case Phase::lookup:
      if (!lookup(budget)) return false;
      phase_ = Phase::head;
      return write(w, budget);  // the head and what fits after it
    case Phase::head: {
      // A registry entry's external format is about twice its packed
      // record (atoms as text, fixed-size integers, the MapSet around the
      // dots); the Keys list after it about its packed keys. Short, the
      // vector doubles, and its last copy (100+ MB at 1 000 000 keys) fell
      // into one step: 126 ms. An over-estimate costs address space only.
      w.expect_if_possible(2 * records_.size() + key_bytes_ + 64);
      w.raw(p.message_head);
      w.raw(p.slice_head);
      w.term(dots_);
      w.raw(p.value_key);
      count_at_ = w.position();
      w.map_header(0);  // the count is set when the entries are written
      std::size_t begin = 0;
      for (std::size_t r = 0; r < run_ends_.size(); ++r) {
        heads_.push_back(begin);
        heap_.push_back(r);
        begin = run_ends_[r];
      }
      std::make_heap(heap_.begin(), heap_.end(), [this](std::size_t a, std::size_t b) { return run_after(a, b); });
      phase_ = Phase::entries;
      [[fallthrough]];
    }
    case Phase::entries:
      if (!entries(w, budget)) return false;
      phase_ = Phase::keys;
      next_ = 0;
      [[fallthrough]];
    case Phase::keys:
      if (!keys_list(w, budget)) return false;
      phase_ = Phase::done;
      found_ = {};
      records_ = {};
      keys_ = {};
      owned_keys_ = {};
      keys_list_ = Term();
      [[fallthrough]];
    case Phase::done: return true;
  }
  return true;
}

// A Merkle leaf's key and value, `Key => #{{Value, Ts} => MapSet}`, as
// merkle_key / merkle_value build them (write_packed_etf writes the codec's
// bytes of the unpacked term).
void AWLWWMap::write_merkle_key(EntryId id, EtfWriter& w) const {
  std::string_view key = slots_[id]->key();
  write_packed_etf(key, w);
}

void AWLWWMap::write_merkle_value(EntryId id, EtfWriter& w) const { write_element_map(slots_[id]->bytes(), w); }

void encode_slice_message(const AWLWWMap& state, const Term& keys, const Term& dots, std::vector<std::uint8_t>& out) {
  // `keys` must be a proper list (the callers check; an improper one would be written as its elements).
  EtfWriter w(out);
  SliceWriter(state, keys, dots).write(w, SIZE_MAX);
}

}  // namespace hc::crdt
