// The Keys of a received sync message, read a piece at a time: a proper
// list of Terms, or the encoded part (merkle_map.hpp) in which the node's
// decoder leaves a large one (sync_decode.hpp). A continuation's `keys`
// and a slice's Keys hold as many keys as names differ (1 000 000 at
// 1 000 000 names): decoded into Terms on the worker, then copied into the
// walk or the join and freed, each pass over them was 35-60 ms of one turn
// in reference counts and cache misses. Read from the bytes, each key is
// decoded once, when its step needs it, into a Term nothing else shares.
//
// Not thread-safe; holds a reference to the list (or its bytes) until
// release() or destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "interop/term.hpp"

namespace hc::crdt {

class KeyListReader {
 public:
  // nullopt when `keys` is neither a proper list nor an encoded part that
  // starts as a list (LIST_EXT or NIL_EXT). O(1).
  static std::optional<KeyListReader> open(const Term& keys);
  // Over terms the caller keeps alive until the last read.
  static KeyListReader over(std::span<const Term> keys);
  // Whether `keys` is a list for open() (what a handler checks first).
  static bool is_key_list(const Term& keys);

  std::size_t size() const noexcept { return count_; }
  std::size_t read_so_far() const noexcept { return next_; }
  bool done() const noexcept { return next_ == count_; }
  // Appends the next keys, at most `n`, to `out`. False when the encoded
  // list proves malformed (a key that does not decode, or an improper
  // tail); error() says what, and nothing more is read. A Term list is
  // copied (reference counts); an encoded one decoded.
  bool read(std::size_t n, std::vector<Term>& out);
  const std::string& error() const noexcept { return error_; }
  // Drops the reference to the list (its bytes are freed unless shared).
  void release();

 private:
  KeyListReader() = default;
  Term held_;                            // the list or the encoded part
  std::span<const Term> terms_;          // a Term list's elements
  std::span<const std::uint8_t> bytes_;  // or the encoded list's bytes
  std::size_t pos_ = 0;                  // the next element's position in bytes_
  std::size_t count_ = 0, next_ = 0;
  std::string error_;
};

}  // namespace hc::crdt
