// UTF-8 helpers of the term layer: encoding one code point (the term printer
// and the term-text reader write atom and string text as UTF-8) and
// validating/counting atom text (the codec's decoder).
// Threading: pure functions. Cost: O(1) / O(n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace hc {

// Appends code point `cp` (at most U+10FFFF; not checked) to `out` as UTF-8.
inline void put_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Validates UTF-8 and counts code points; false when invalid (overlongs,
// surrogates and values above U+10FFFF included).
inline bool utf8_count(const std::uint8_t* s, std::size_t n, std::size_t& chars) {
  chars = 0;
  std::size_t i = 0;
  // ASCII fast path, 8 bytes at a time (nearly every atom on the wire).
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ULL) break;
    chars += 8;
  }
  while (i < n) {
    std::uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      ++chars;
      continue;
    }
    std::size_t len;
    char32_t cp;
    if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    static constexpr char32_t mins[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < mins[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
    ++chars;
  }
  return true;
}

}  // namespace hc
