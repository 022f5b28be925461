// The external term format's tag bytes, limits and big-endian readers,
// shared by the decoder (codec_decode.cpp) and the encoder
// (codec_encode.cpp). Internal to interop/: not part of the public API.
// Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
// Pure constants and O(1) functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hc::etf {

// Tags (erl_ext_dist "Introduction" table), prefixed with TAG_ because ei.h
// defines some of the spec names as macros.
enum Tag : std::uint8_t {
  TAG_NEW_FLOAT_EXT = 70,
  TAG_BIT_BINARY_EXT = 77,
  TAG_COMPRESSED = 80,
  TAG_ATOM_CACHE_REF = 82,
  TAG_NEW_PID_EXT = 88,
  TAG_NEW_PORT_EXT = 89,
  TAG_NEWER_REFERENCE_EXT = 90,
  TAG_SMALL_INTEGER_EXT = 97,
  TAG_INTEGER_EXT = 98,
  TAG_FLOAT_EXT = 99,
  TAG_ATOM_EXT = 100,
  TAG_REFERENCE_EXT = 101,
  TAG_PORT_EXT = 102,
  TAG_PID_EXT = 103,
  TAG_SMALL_TUPLE_EXT = 104,
  TAG_LARGE_TUPLE_EXT = 105,
  TAG_NIL_EXT = 106,
  TAG_STRING_EXT = 107,
  TAG_LIST_EXT = 108,
  TAG_BINARY_EXT = 109,
  TAG_SMALL_BIG_EXT = 110,
  TAG_LARGE_BIG_EXT = 111,
  TAG_NEW_FUN_EXT = 112,
  TAG_EXPORT_EXT = 113,
  TAG_NEW_REFERENCE_EXT = 114,
  TAG_SMALL_ATOM_EXT = 115,
  TAG_MAP_EXT = 116,
  TAG_FUN_EXT = 117,
  TAG_ATOM_UTF8_EXT = 118,
  TAG_SMALL_ATOM_UTF8_EXT = 119,
  TAG_V4_PORT_EXT = 120,
  TAG_LOCAL_EXT = 121,
};

inline constexpr std::size_t kMaxAtomChars = 255;
inline constexpr std::size_t kMaxAtomBytes = 255 * 4;  // MAXATOMLEN_UTF8 - 1

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
inline std::uint64_t be64(const std::uint8_t* p) { return static_cast<std::uint64_t>(be32(p)) << 32 | be32(p + 4); }

}  // namespace hc::etf
