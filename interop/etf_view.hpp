// Reading external-format bytes in place: where a term starts and ends, the
// headers of tuples, lists and maps, binaries as spans of the input, without
// building hc::Term trees. For walking a large received message whose most
// parts are only compared or skipped (issue 13: a Merkle continuation of
// 67 MB, of which a sync round compares a few nodes per subtree): decoding
// it whole into Terms cost 0.2-0.8 s of CPU and 3-4x its size in memory,
// and freeing that tree was a cost of its own.
//
// Positions are byte offsets into the viewed span, at a term's tag (no
// version byte). Every length is checked against the input before it is
// used; nothing here trusts the bytes, throws, or recurses (skip() counts
// the terms still to pass instead of nesting).
//
// skip() checks structure only (tags, lengths, element counts), not the
// contents the full decoder also checks (UTF-8 of atoms, float text, the
// shape of a fun's environment, duplicate map keys): what a walk passes
// over unread is not validated further. decode() of a part is the full
// decoder (codec.hpp).
//
// Not owning: the bytes must outlive the view. Any thread; pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc {

class EtfView {
 public:
  explicit EtfView(std::span<const std::uint8_t> bytes) noexcept : b_(bytes) {}
  std::span<const std::uint8_t> bytes() const noexcept { return b_; }
  std::size_t size() const noexcept { return b_.size(); }

  // The tag byte at `pos`, nullopt past the end.
  std::optional<std::uint8_t> tag(std::size_t pos) const noexcept {
    return pos < b_.size() ? std::optional<std::uint8_t>(b_[pos]) : std::nullopt;
  }

  // Where the term at `pos` ends (one past its last byte). TermError as the
  // decoder would report it for a truncated or structurally bad term
  // (truncated, unknown_tag, unsupported_tag, bad_length, absurd_length).
  // Cost: linear in the term's bytes, no allocation.
  Result<std::size_t> skip(std::size_t pos) const noexcept;

  // A compound term's element count and where its first element starts.
  struct Header {
    std::size_t count = 0;  // tuple: arity; list: elements before the tail; map: pairs
    std::size_t first = 0;  // position of the first element (list: of the tail when count is 0)
  };
  // SMALL_TUPLE_EXT / LARGE_TUPLE_EXT at `pos`.
  std::optional<Header> tuple(std::size_t pos) const noexcept;
  // MAP_EXT at `pos` (elements alternate key, value).
  std::optional<Header> map(std::size_t pos) const noexcept;
  // LIST_EXT at `pos` (its tail follows the last element), or NIL_EXT as a
  // list of count 0 whose `first` is the end of the term. STRING_EXT is
  // not a list here (its elements are bytes, not terms): nullopt.
  std::optional<Header> list(std::size_t pos) const noexcept;

  // BINARY_EXT or BIT_BINARY_EXT at `pos`: the data bytes (a view into the
  // input) and the size in bits.
  struct Bits {
    std::span<const std::uint8_t> data;
    std::size_t bit_size = 0;
    std::size_t end = 0;
  };
  std::optional<Bits> bitstring(std::size_t pos) const noexcept;

  // Whether the term at `pos` is the atom `ascii` (any of the four atom
  // encodings; `ascii` is plain ASCII, the same bytes in Latin-1 and UTF-8).
  bool is_atom(std::size_t pos, std::string_view ascii) const noexcept;

  // The full decoder (codec.hpp) on the term at `pos`; `end` is set past it.
  Result<Term> decode(std::size_t pos, std::size_t& end) const;

 private:
  bool has(std::size_t pos, std::size_t n) const noexcept { return pos <= b_.size() && n <= b_.size() - pos; }
  std::span<const std::uint8_t> b_;
};

}  // namespace hc
