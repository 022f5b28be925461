// Distribution capability flags, with the names and values of
// https://www.erlang.org/doc/apps/erts/erl_dist_protocol.html#dflags
// (= kernel/include/dist.hrl of OTP 25).
#pragma once

#include <cstdint>
#include <string>

namespace hc::cnode::dflag {

inline constexpr std::uint64_t PUBLISHED = 0x1;
inline constexpr std::uint64_t ATOM_CACHE = 0x2;
inline constexpr std::uint64_t EXTENDED_REFERENCES = 0x4;
inline constexpr std::uint64_t DIST_MONITOR = 0x8;
inline constexpr std::uint64_t FUN_TAGS = 0x10;
inline constexpr std::uint64_t DIST_MONITOR_NAME = 0x20;
inline constexpr std::uint64_t HIDDEN_ATOM_CACHE = 0x40;
inline constexpr std::uint64_t NEW_FUN_TAGS = 0x80;
inline constexpr std::uint64_t EXTENDED_PIDS_PORTS = 0x100;
inline constexpr std::uint64_t EXPORT_PTR_TAG = 0x200;
inline constexpr std::uint64_t BIT_BINARIES = 0x400;
inline constexpr std::uint64_t NEW_FLOATS = 0x800;
inline constexpr std::uint64_t UNICODE_IO = 0x1000;
inline constexpr std::uint64_t DIST_HDR_ATOM_CACHE = 0x2000;
inline constexpr std::uint64_t SMALL_ATOM_TAGS = 0x4000;
inline constexpr std::uint64_t UTF8_ATOMS = 0x10000;
inline constexpr std::uint64_t MAP_TAG = 0x20000;
inline constexpr std::uint64_t BIG_CREATION = 0x40000;
inline constexpr std::uint64_t SEND_SENDER = 0x80000;
inline constexpr std::uint64_t BIG_SEQTRACE_LABELS = 0x100000;
inline constexpr std::uint64_t EXIT_PAYLOAD = 0x400000;
inline constexpr std::uint64_t FRAGMENTS = 0x800000;
inline constexpr std::uint64_t HANDSHAKE_23 = 0x1000000;
inline constexpr std::uint64_t UNLINK_ID = 0x2000000;
inline constexpr std::uint64_t MANDATORY_25_DIGEST = 0x4000000;
inline constexpr std::uint64_t SPAWN = 1ull << 32;
inline constexpr std::uint64_t NAME_ME = 1ull << 33;
inline constexpr std::uint64_t V4_NC = 1ull << 34;
inline constexpr std::uint64_t ALIAS = 1ull << 35;

// Flags an OTP 25 node requires of its peer (MANDATORY_DFLAGS_25).
inline constexpr std::uint64_t MANDATORY_25 = EXTENDED_REFERENCES | FUN_TAGS | EXTENDED_PIDS_PORTS |
                                              NEW_FUN_TAGS | EXPORT_PTR_TAG | BIT_BINARIES | NEW_FLOATS |
                                              UTF8_ATOMS | MAP_TAG | BIG_CREATION | HANDSHAKE_23;

// What horde-cnode advertises: the mandatory set, visible (PUBLISHED), remote
// monitors (by pid and by name), spawn requests, UNLINK_ID, aliases, and the
// payload-carrying EXIT/SEND_SENDER variants, and FRAGMENTS: the BEAM then
// sends every message after a distribution header without atom-cache
// references (131,68,0) and splits large ones into fragments that other
// frames interleave with (dist_fragments.hpp); we still send pass-through
// frames, which every OTP node reads. Deliberately NOT DIST_HDR_ATOM_CACHE
// (the codec does not resolve ATOM_CACHE_REF).
inline constexpr std::uint64_t HC_ADVERTISED = MANDATORY_25 | MANDATORY_25_DIGEST | PUBLISHED |
                                               DIST_MONITOR | DIST_MONITOR_NAME | SPAWN | UNLINK_ID |
                                               ALIAS | SEND_SENDER | EXIT_PAYLOAD | BIG_SEQTRACE_LABELS |
                                               UNICODE_IO | SMALL_ATOM_TAGS | V4_NC | FRAGMENTS;

// What we require of a peer: the mandatory set (or its OTP 25 digest bit).
inline bool has_mandatory(std::uint64_t flags) noexcept {
  return (flags & MANDATORY_25) == MANDATORY_25 || (flags & MANDATORY_25_DIGEST) != 0;
}

std::string to_string(std::uint64_t flags);  // "PUBLISHED|EXTENDED_REFERENCES|..."

}  // namespace hc::cnode::dflag
