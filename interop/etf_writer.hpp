// Writes external term format (https://www.erlang.org/doc/apps/erts/erl_ext_dist.html)
// at the end of a byte vector, a whole Term or piece by piece: the encoder
// behind hc::encode / encode_to (codec.hpp), opened so that a hot path that
// holds its data in another form (the CRDT's packed records) writes the
// same bytes without building a Term first. Every piece is written exactly
// as encode_to writes that kind of term (the integer, atom, pid, binary...
// encodings term_to_binary(T, [{minor_version, 2}]) of OTP 25 chooses); a
// caller that writes headers and pieces in term order gets the bytes of
// the term, with no version byte (131) in front.
//
// The writer sizes the vector ahead of its write position (ei writes
// through a raw pointer); finish() (or the destructor) trims it to the
// bytes written. Until then `out` holds up to max(64, bytes written)
// unspecified bytes past position(): do not read or grow it directly.
// Appending costs amortised O(bytes written), however large `out` is.
//
// Not thread-safe (one writer per vector); any thread.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <vector>

#include "interop/term.hpp"

namespace hc {

class EtfWriter {
 public:
  explicit EtfWriter(std::vector<std::uint8_t>& out) : out_(out), start_(out.size()), len_(start_) {}
  ~EtfWriter() { finish(); }
  EtfWriter(const EtfWriter&) = delete;
  EtfWriter& operator=(const EtfWriter&) = delete;

  // A whole term, as encode_to(out, term) writes it.
  void term(const Term& t);

  // ---- pieces -------------------------------------------------------------
  // Inline: the pieces a registry entry is made of run a few million times
  // for one large slice.
  void integer(std::int64_t v) {  // SMALL_INTEGER / INTEGER / SMALL_BIG
    // What term_to_binary writes (and ei_encode_longlong for 0..255 and the
    // old 28-bit range; ei goes to SMALL_BIG_EXT past 28 bits, where the
    // BEAM uses INTEGER_EXT up to 32).
    if (v >= 0 && v < 256) {
      reserve(2);
      out_[len_++] = kSmallIntegerExt;
      out_[len_++] = static_cast<std::uint8_t>(v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      u8(kIntegerExt);
      u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {
      small_big(v);
    }
  }
  void big(bool negative, std::span<const std::uint8_t> magnitude);     // outside int64 (little-endian digits)
  void floating(double d);                                              // NEW_FLOAT_EXT
  void atom(const Atom& a);                                             // SMALL_ATOM_UTF8 / ATOM_UTF8
  void pid(const Pid& p) {  // NEW_PID_EXT, by hand: ei_encode_pid masks ID/Serial to 15/13 bits
    u8(kNewPidExt);
    atom(p.node);
    u32(p.id);
    u32(p.serial);
    u32(p.creation);
  }
  void port(const Port& p);                                             // NEW_PORT_EXT / V4_PORT_EXT
  void reference(const Atom& node, std::uint32_t creation, std::span<const std::uint32_t> ids);  // NEWER_REFERENCE_EXT
  void bits(std::span<const std::uint8_t> bytes, std::size_t bit_size); // BINARY_EXT / BIT_BINARY_EXT
  // A proper list of 1..65535 integers in 0..255, as STRING_EXT (what the
  // codec writes for such a list).
  void byte_list(std::span<const std::uint8_t> bytes);
  // The headers as ei_encode_tuple_header / map_header / list_header write them.
  void tuple_header(std::size_t arity) {
    if (arity <= 0xFF) {
      reserve(2);
      out_[len_++] = kSmallTupleExt;
      out_[len_++] = static_cast<std::uint8_t>(arity);
    } else {
      u8(kLargeTupleExt);
      u32(static_cast<std::uint32_t>(arity));
    }
  }
  void map_header(std::size_t size) {
    u8(kMapExt);
    u32(static_cast<std::uint32_t>(size));
  }
  // LIST_EXT header: `n` elements then the tail follow (n = 0: NIL_EXT, as ei).
  void list_header(std::size_t n) {
    if (n == 0) return nil();
    u8(kListExt);
    u32(static_cast<std::uint32_t>(n));
  }
  void nil() { u8(kNilExt); }
  // The proper list of `elems`, as term(Term::list(elems)) writes it (a
  // STRING_EXT for 1..65535 integers in 0..255), without building the list.
  // Not from inside term().
  void list_of(std::span<const Term> elems);
  // Writes `elems` as that STRING_EXT and returns true when they can be one;
  // else writes nothing and returns false (a caller writing a long list in
  // pieces: list_header, the elements, nil).
  bool as_byte_list(std::span<const Term> elems);
  // Bytes that already are external format (a Fun's encoding, a cached piece).
  void raw(std::span<const std::uint8_t> bytes) { put(bytes.data(), bytes.size()); }

  // Room for `n` more bytes, allocated now (a caller that knows about how
  // much it will write saves the regrowth copies).
  void expect(std::size_t n) {
    if (out_.capacity() < len_ + n) out_.reserve(len_ + n);
  }
  // The same for an estimate (a stepped writer sizing a large message): a
  // reservation refused (std::bad_alloc) is no error; the vector then
  // grows as it is written.
  void expect_if_possible(std::size_t n) noexcept {
    try {
      expect(n);
    } catch (const std::bad_alloc&) {
    }
  }
  // Bytes written since construction.
  std::size_t written() const noexcept { return len_ - start_; }
  // The write position in `out` (an index that stays valid for later
  // writers of the same vector), and rewriting the size of a map header
  // written there (a caller that learns the size after the entries).
  std::size_t position() const noexcept { return len_; }
  void set_map_size(std::size_t at, std::size_t size) {
    std::uint8_t* p = out_.data() + at + 1;  // past MAP_EXT
    for (int s = 24; s >= 0; s -= 8) *p++ = static_cast<std::uint8_t>(size >> s);
  }
  // Trim `out` to the bytes written; the writer may go on afterwards.
  void finish() { out_.resize(len_); }

 private:
  // Tags (erl_ext_dist; interop/codec_tags.hpp names them all, checked there).
  static constexpr std::uint8_t kNewPidExt = 88, kSmallIntegerExt = 97, kIntegerExt = 98, kSmallTupleExt = 104,
                                kLargeTupleExt = 105, kNilExt = 106, kListExt = 108, kMapExt = 116;
  void small_big(std::int64_t v);  // an int64 outside int32, as SMALL_BIG_EXT
  // Inlined at every write: out of line GCC stopped inlining it (measured
  // by term_bench: encode ~15% slower than with it inlined).
  [[gnu::always_inline]] void reserve(std::size_t n) {
    if (out_.size() - len_ >= n) return;
    // The size runs ahead by at most max(64, bytes written so far) beyond
    // the current write and the capacity grows geometrically. (Sizing
    // ahead relative to the whole vector would copy and zero-fill
    // O(out.size()) bytes per appended term: quadratic for a caller
    // appending many small terms to one buffer.)
    const std::size_t want = len_ + std::max(n, std::max<std::size_t>(64, len_ - start_));
    if (want > out_.capacity()) out_.reserve(std::max(want, 2 * out_.capacity()));
    out_.resize(want);  // within capacity now: only zero-fills the new bytes
  }
  // Run an ei_encode_* call that writes at most `max` bytes at the end.
  template <typename F>
  void ei(std::size_t max, F&& f) {
    reserve(max);
    // ei takes its write position as an `int`; a position past 2 GiB (a
    // send buffer holding a few large sync messages) overflowed it and ei
    // wrote before the buffer. ei gets a pointer at the write position.
    int index = 0;
    f(reinterpret_cast<char*>(out_.data() + len_), &index);
    len_ += static_cast<std::size_t>(index);
  }
  void put(const std::uint8_t* p, std::size_t n) {
    reserve(n);
    if (n) std::memcpy(out_.data() + len_, p, n);
    len_ += n;
  }
  void u8(std::uint8_t v) {
    reserve(1);
    out_[len_++] = v;
  }
  void u16(std::uint16_t v) {
    reserve(2);
    out_[len_++] = static_cast<std::uint8_t>(v >> 8);
    out_[len_++] = static_cast<std::uint8_t>(v);
  }
  void u32(std::uint32_t v) {
    reserve(4);
    for (int s = 24; s >= 0; s -= 8) out_[len_++] = static_cast<std::uint8_t>(v >> s);
  }
  void list(const Term& t);
  void write_atom(const Atom& a);  // atom() without its cache

  std::vector<std::uint8_t>& out_;
  std::size_t start_;  // out_.size() on entry
  std::size_t len_;    // bytes of out_ in use (the write position)
  std::vector<const Term*> todo_;  // term()'s explicit stack, kept across calls
};

}  // namespace hc
