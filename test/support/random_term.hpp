// Random terms for property tests: every kind the codec writes, in the
// encodings that matter (SMALL/LARGE bigs, STRING_EXT lists, improper
// lists, long UTF-8 atoms, odd bitstrings), and Horde-like keys and values.
// Deterministic for a given generator state. Used by tests only.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "interop/term.hpp"

namespace hc::test {

using Rng = std::mt19937_64;


inline std::int64_t random_int(Rng& rng) {
  switch (rng() % 6) {
    case 0: return static_cast<std::int64_t>(rng() % 256);                  // SMALL_INTEGER_EXT
    case 1: return -static_cast<std::int64_t>(rng() % 1000);                 // INTEGER_EXT via ei
    case 2: return static_cast<std::int64_t>(rng() % (std::int64_t{1} << 31)) + (std::int64_t{1} << 27);  // 28..32 bits
    case 3: return static_cast<std::int64_t>(rng());                         // SMALL_BIG_EXT, either sign
    case 4: return -(std::int64_t{1} << 59) + static_cast<std::int64_t>(rng() % 1000000);  // a BEAM monotonic Ts
    default: return INT64_MIN + static_cast<std::int64_t>(rng() % 3);
  }
}

inline Term random_big(Rng& rng) {
  BigInt b;
  b.negative = rng() % 2;
  b.magnitude.resize(9 + rng() % (rng() % 8 == 0 ? 300 : 8));  // now and then LARGE_BIG_EXT
  for (auto& d : b.magnitude) d = static_cast<std::uint8_t>(rng());
  b.magnitude.back() |= 1;  // no trailing zero digit
  return Term(std::move(b));
}

inline Atom random_atom(Rng& rng) {
  switch (rng() % 5) {
    case 0: return Atom("key");
    case 1: return Atom("Elixir.MyApp.Registry");
    case 2: return Atom("n" + std::to_string(rng() % 4) + "@127.0.0.1");
    case 3: {  // > 255 bytes of UTF-8, <= 255 characters: ATOM_UTF8_EXT
      std::string s;
      for (int i = 0; i < 130; ++i) s += "\xc3\xa9";
      return Atom(s);
    }
    default: return Atom("");
  }
}

inline Pid random_pid(Rng& rng) {
  return Pid{random_atom(rng), static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng() % 3),
             static_cast<std::uint32_t>(rng())};
}

inline Term random_term(Rng& rng, int depth) {
  const unsigned kinds = depth > 0 ? 17 : 10;
  switch (rng() % kinds) {
    case 0: return Term(random_int(rng));
    case 1: return random_big(rng);
    case 2: {
      const double d[] = {0.0, -0.0, 1.5, -2.25e300, 1e-310};
      return Term(d[rng() % 5]);
    }
    case 3: return Term(random_atom(rng));
    case 4: return Term(random_pid(rng));
    case 5: return binary(std::string(rng() % 12, static_cast<char>('a' + rng() % 26)));
    case 6: {
      std::uint8_t b[3] = {static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()), 0xE0};
      return Term::bitstring(b, 16 + rng() % 7 + 1);  // not a whole number of bytes
    }
    case 7: {
      Reference r{random_atom(rng), static_cast<std::uint32_t>(rng()), {}};
      r.ids.resize(1 + rng() % 5);
      for (auto& id : r.ids) id = static_cast<std::uint32_t>(rng());
      return Term(std::move(r));
    }
    case 8: return Term(Port{random_atom(rng), rng() % 2 ? rng() : rng() % 1000, static_cast<std::uint32_t>(rng())});
    case 9: return Term();
    case 10:
    case 11: {
      TermVector el(rng() % 4);
      for (auto& e : el) e = random_term(rng, depth - 1);
      return Term::tuple(std::move(el));
    }
    case 12: {  // a string: STRING_EXT
      TermVector el(1 + rng() % 5);
      for (auto& e : el) e = Term(static_cast<std::int64_t>(rng() % 256));
      return Term::list(std::move(el));
    }
    case 13: {  // proper, or improper
      TermVector el(1 + rng() % 3);
      for (auto& e : el) e = random_term(rng, depth - 1);
      return Term::list(std::move(el), rng() % 3 == 0 ? random_term(rng, 0) : Term());
    }
    case 14: {
      TermPairs p(rng() % 4);
      for (auto& [k, v] : p) k = random_term(rng, depth - 1), v = random_term(rng, depth - 1);
      return Term::map(std::move(p));
    }
    case 15: {  // a Horde registry key / value
      return tuple(Atom("key"), binary("name-" + std::to_string(rng() % 50)));
    }
    default:
      return tuple(tuple(Atom("Elixir.MyApp.Registry"), random_atom(rng)), Term(random_pid(rng)), random_term(rng, 0));
  }
}

}  // namespace hc::test
