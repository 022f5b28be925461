// The Erlang term model: one immutable value type for every type of the
// external term format (https://www.erlang.org/doc/apps/erts/erl_ext_dist.html).
//
// Design notes
// - `Term` is a small (32-byte) value. Scalars are stored inline; compound
//   values (tuples, lists, maps, binaries, references, funs, bignums) live in
//   shared immutable nodes, so copying a term is O(1) and terms can be passed
//   between processes freely. A term is never mutated after construction.
// - Integers are normalised: a value that fits in int64 is always stored as
//   `Type::Integer`; only larger magnitudes use `Type::BigInteger`. Equality
//   is therefore a plain structural comparison.
// - Atoms are interned (see Atom): equality is a pointer comparison.
// - Maps are kept sorted in "map key order" (the BEAM's exact term order, in
//   which every integer sorts before every float: the keys of
//   #{1.0 => a, 2 => b} are [2, 1.0]). That is the order of a flatmap on the
//   BEAM, so encoding reproduces term_to_binary. Duplicate keys are resolved
//   at construction, last one wins, as in `maps:from_list/1`.
// - `operator==` is Erlang's exact equality `=:=` (with OTP 25 semantics:
//   `0.0 =:= -0.0` is true). `operator<=>` is the exact total order consistent
//   with `=:=` (map key order); `erlang_compare` is the order of `<`/`==`
//   (where `1 == 1.0`). See term_compare.cpp for the pid/port/ref details.
//
// Thread safety: terms are immutable and may be shared across threads; the
// atom table is internally synchronised.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hc {

// An interned atom. Text is UTF-8, at most 255 characters (checked by the
// codec, not here). Default-constructed atom is the empty atom ''.
class Atom {
 public:
  Atom();
  explicit Atom(std::string_view text);
  // For text from peers (the decoder): nullopt when `text` is not an atom
  // yet and the table already holds atom_limit() atoms, so endless fresh
  // atoms cannot grow memory without bound. Atoms made by our own code
  // (the constructor) are not counted against the limit.
  static std::optional<Atom> bounded(std::string_view text);

  std::string_view text() const noexcept { return *text_; }
  bool operator==(const Atom& other) const noexcept { return text_ == other.text_; }
  // Atom order is the order of their UTF-8 text, byte by byte (equal to code
  // point order), as the BEAM orders atoms.
  std::strong_ordering operator<=>(const Atom& other) const noexcept;
  // Identity of the interned entry; stable for the life of the process.
  const void* id() const noexcept { return text_; }

 private:
  const std::string* text_;
};

// The BEAM's default atom table size (+t, 1 048 576): the most atoms
// Atom::bounded admits. The table is process-wide (atoms are immortal
// values, shared by every node of the process, as on one BEAM).
inline constexpr std::size_t kDefaultAtomLimit = 1'048'576;
std::size_t atom_count() noexcept;
std::size_t atom_limit() noexcept;
void set_atom_limit(std::size_t limit) noexcept;  // tests; thread-safe

// Shorthand: atom("ok").
inline Atom atom(std::string_view text) { return Atom(text); }

// Integer outside the int64 range. Magnitude is little-endian base-256 with no
// trailing zero bytes (the SMALL_BIG_EXT / LARGE_BIG_EXT digit layout).
struct BigInt {
  bool negative = false;
  std::vector<std::uint8_t> magnitude;
  bool operator==(const BigInt&) const = default;
};

// A binary or bitstring. `bit_size` may be any number of bits; `bytes` holds
// ceil(bit_size / 8) bytes and the unused low bits of the last byte are zero.
struct Bitstring {
  std::vector<std::uint8_t> bytes;
  std::size_t bit_size = 0;
  bool is_binary() const noexcept { return bit_size % 8 == 0; }
  bool operator==(const Bitstring&) const = default;
};

// NEW_PID_EXT: node, 32-bit id (15 significant bits on a real node but any
// 32-bit value on the wire), 32-bit serial, 32-bit creation.
struct Pid {
  Atom node;
  std::uint32_t id = 0;
  std::uint32_t serial = 0;
  std::uint32_t creation = 0;
  bool operator==(const Pid&) const = default;
};

// NEW_PORT_EXT / V4_PORT_EXT: 64-bit id, 32-bit creation.
struct Port {
  Atom node;
  std::uint64_t id = 0;
  std::uint32_t creation = 0;
  bool operator==(const Port&) const = default;
};

// NEWER_REFERENCE_EXT: 1 to 5 ID words (OTP 25 uses 3, 4 for aliases/pid
// refs, 5 for some magic refs), 32-bit creation.
struct Reference {
  Atom node;
  std::uint32_t creation = 0;
  std::vector<std::uint32_t> ids;
  bool operator==(const Reference&) const = default;
};

// A fun (NEW_FUN_EXT) or an export (EXPORT_EXT), kept as its external
// encoding (starting at the tag byte, without the 131 version byte) so that it
// round-trips; the codec stores the canonical term_to_binary(minor_version 2)
// form. Module/function/arity are decoded for printing and hashing.
struct Fun {
  bool is_export = false;
  Atom module;
  Atom function;        // exports only
  std::uint32_t arity = 0;
  std::vector<std::uint8_t> encoded;
  bool operator==(const Fun& other) const { return encoded == other.encoded; }
};

class Term;
using TermVector = std::vector<Term>;
using TermPair = std::pair<Term, Term>;
using TermPairs = std::vector<TermPair>;

// A non-empty list: elements plus a tail. A proper list has tail `[]`; an
// improper list has any other tail (which is never itself a list: nested
// cons cells are flattened into `elements` at construction).
struct ListData;
struct MapData;

class Term {
 public:
  // Kinds, in Erlang term order (number < atom < reference < fun < port < pid
  // < tuple < map < nil < list < bitstring). Integer and Float are both
  // "number" in that order.
  enum class Type : std::uint8_t {
    Integer,     // int64
    BigInteger,  // outside int64
    Float,
    Atom,
    Reference,
    Fun,
    Port,
    Pid,
    Tuple,
    Map,
    Nil,
    List,
    Bitstring,
  };

  // ---- construction -------------------------------------------------------
  Term() noexcept;  // []
  Term(std::int64_t value) noexcept;               // NOLINT: implicit by design
  Term(int value) noexcept : Term(static_cast<std::int64_t>(value)) {}
  Term(unsigned value) noexcept : Term(static_cast<std::int64_t>(value)) {}
  Term(std::uint64_t value);                       // may become a bignum
  Term(long long value) noexcept : Term(static_cast<std::int64_t>(value)) {}
  Term(unsigned long long value) : Term(static_cast<std::uint64_t>(value)) {}
  Term(double value) noexcept;
  Term(Atom value) noexcept;
  Term(Pid value) noexcept;
  Term(Port value) noexcept;
  Term(Reference value);
  Term(Fun value);
  Term(BigInt value);  // normalised to Integer when it fits in int64
  Term(Bitstring value);

  static Term nil() noexcept { return Term(); }
  static Term binary(std::string_view bytes);
  static Term binary(std::span<const std::uint8_t> bytes);
  static Term bitstring(std::span<const std::uint8_t> bytes, std::size_t bit_size);
  static Term tuple(TermVector elements);
  static Term list(TermVector elements, Term tail = Term());  // [] when empty and tail is []
  static Term map(TermPairs pairs);                          // sorted; last duplicate wins
  // An Erlang "string" (list of code points) from UTF-8 text is not provided on
  // purpose: Elixir strings are binaries; use binary().

  // ---- inspection ---------------------------------------------------------
  Type type() const noexcept { return static_cast<Type>(value_.index()); }
  bool is_integer() const noexcept { return type() == Type::Integer || type() == Type::BigInteger; }
  bool is_number() const noexcept { return is_integer() || type() == Type::Float; }
  bool is_atom() const noexcept { return type() == Type::Atom; }
  bool is_atom(std::string_view text) const noexcept;
  bool is_nil() const noexcept { return type() == Type::Nil; }
  bool is_list() const noexcept { return type() == Type::List || type() == Type::Nil; }  // incl. improper
  bool is_proper_list() const noexcept;
  bool is_tuple() const noexcept { return type() == Type::Tuple; }
  bool is_tuple(std::size_t arity) const noexcept;
  // A tuple of the given arity whose first element is the given atom.
  bool is_record(std::string_view tag, std::size_t arity) const noexcept;
  bool is_map() const noexcept { return type() == Type::Map; }
  bool is_bitstring() const noexcept { return type() == Type::Bitstring; }
  bool is_binary() const noexcept;
  bool is_pid() const noexcept { return type() == Type::Pid; }
  bool is_port() const noexcept { return type() == Type::Port; }
  bool is_reference() const noexcept { return type() == Type::Reference; }
  bool is_fun() const noexcept { return type() == Type::Fun; }

  // Accessors return nullptr / nullopt when the term has another type; they
  // never throw, so callers validate shapes without exceptions.
  std::optional<std::int64_t> as_int() const noexcept;       // Integer only
  const BigInt* as_bigint() const noexcept;                   // BigInteger only
  std::optional<double> as_float() const noexcept;
  const Atom* as_atom() const noexcept;
  const Pid* as_pid() const noexcept;
  const Port* as_port() const noexcept;
  const Reference* as_reference() const noexcept;
  const Fun* as_fun() const noexcept;
  const Bitstring* as_bitstring() const noexcept;
  // Binary bytes as a string_view (binaries only, not odd bitstrings).
  std::optional<std::string_view> as_binary() const noexcept;
  // Tuple elements; empty span with nullptr data when not a tuple.
  std::span<const Term> tuple_elements() const noexcept;
  // Elements of a list (proper or improper; empty for []). `list_tail` is []
  // for proper lists. Both are empty/[] when not a list.
  std::span<const Term> list_elements() const noexcept;
  const Term& list_tail() const noexcept;
  // Map entries in map key order (empty when not a map).
  std::span<const TermPair> map_entries() const noexcept;
  std::size_t map_size() const noexcept { return map_entries().size(); }
  // Value under `key` (exact match), nullptr when absent or not a map.
  const Term* map_get(const Term& key) const noexcept;
  const Term* map_get(std::string_view atom_key) const;  // key is an atom
  // Element i of a tuple, nullptr when out of range or not a tuple.
  const Term* element(std::size_t index) const noexcept;

  // ---- comparison ---------------------------------------------------------
  // Exact equality (=:=).
  friend bool operator==(const Term& a, const Term& b) noexcept;
  // Exact total order (consistent with =:=; integers before floats of equal
  // value, maps in map key order). Suitable for std::map / sorting.
  friend std::strong_ordering operator<=>(const Term& a, const Term& b) noexcept;

  // ---- misc ----------------------------------------------------------------
  // Fast structural hash for hash tables (not phash2; see phash2.hpp).
  std::size_t hash() const noexcept;

 private:
  using BigPtr = std::shared_ptr<const BigInt>;
  using RefPtr = std::shared_ptr<const Reference>;
  using FunPtr = std::shared_ptr<const Fun>;
  using BitsPtr = std::shared_ptr<const Bitstring>;
  using TuplePtr = std::shared_ptr<const TermVector>;
  using ListPtr = std::shared_ptr<const ListData>;
  using MapPtr = std::shared_ptr<const MapData>;
  struct NilTag {
    bool operator==(const NilTag&) const = default;
  };
  // Alternative order must match `Type`.
  using Value = std::variant<std::int64_t, BigPtr, double, Atom, RefPtr, FunPtr, Port, Pid,
                             TuplePtr, MapPtr, NilTag, ListPtr, BitsPtr>;
  Value value_;

  explicit Term(Value value) noexcept : value_(std::move(value)) {}
  friend struct TermAccess;
};

struct ListData {
  TermVector elements;  // non-empty
  Term tail;            // [] for a proper list
};

struct MapData {
  TermPairs entries;  // sorted by key (exact order), unique keys
};

// Erlang's arithmetic-aware order (`<`, `==`): returns <0, 0, >0. Differs from
// operator<=> only in that integers and floats compare by value (1 == 1.0).
int erlang_compare(const Term& a, const Term& b) noexcept;

// Hash functor for unordered containers.
struct TermHash {
  std::size_t operator()(const Term& t) const noexcept { return t.hash(); }
};

// ---- building helpers ------------------------------------------------------
template <typename... Ts>
Term tuple(Ts&&... elements) {
  return Term::tuple(TermVector{Term(std::forward<Ts>(elements))...});
}
template <typename... Ts>
Term list(Ts&&... elements) {
  return Term::list(TermVector{Term(std::forward<Ts>(elements))...});
}
inline Term binary(std::string_view bytes) { return Term::binary(bytes); }

// ---- Elixir conveniences ---------------------------------------------------
// Elixir module atoms are 'Elixir.'-prefixed: elixir_module("MapSet") is
// 'Elixir.MapSet'.
Atom elixir_module(std::string_view name);
// %Module{field: value, ...}: a map with '__struct__' => Module plus fields.
Term make_struct(Atom module, TermPairs fields);
// The struct's module when `t` is a map with an atom '__struct__' key.
std::optional<Atom> struct_name(const Term& t);
bool is_struct(const Term& t, Atom module);
// Elixir 1.14+ MapSet: %{'__struct__' => 'Elixir.MapSet', map => #{E => []}, version => 2}.
Term make_mapset(TermVector elements);
// Elements of a MapSet in map key order, nullopt when `t` is not a MapSet of
// that shape.
std::optional<TermVector> mapset_elements(const Term& t);

// ---- printing --------------------------------------------------------------
// Erlang syntax, as io:format("~w") would print it (atoms quoted when needed,
// floats as io_lib_format prints them), except: printable UTF-8 binaries as
// <<"text">> (like ~p), pids as #Pid<node.id.serial.creation>, ports as
// #Port<node.id.creation>, refs as #Ref<node.creation.wN...w1>, local funs as
// #Fun<module.arity> (the BEAM shows a local node index instead of the node).
std::string to_string(const Term& t);
std::ostream& operator<<(std::ostream& os, const Term& t);
std::ostream& operator<<(std::ostream& os, const Atom& a);

}  // namespace hc

template <>
struct std::hash<hc::Term> {
  std::size_t operator()(const hc::Term& t) const noexcept { return t.hash(); }
};
