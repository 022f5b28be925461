#include "cnode/flags.hpp"

namespace hc::cnode::dflag {

std::string to_string(std::uint64_t flags) {
  static constexpr struct {
    std::uint64_t bit;
    const char* name;
  } kNames[] = {{PUBLISHED, "PUBLISHED"}, {ATOM_CACHE, "ATOM_CACHE"}, {EXTENDED_REFERENCES, "EXTENDED_REFERENCES"},
                {DIST_MONITOR, "DIST_MONITOR"}, {FUN_TAGS, "FUN_TAGS"}, {DIST_MONITOR_NAME, "DIST_MONITOR_NAME"},
                {HIDDEN_ATOM_CACHE, "HIDDEN_ATOM_CACHE"}, {NEW_FUN_TAGS, "NEW_FUN_TAGS"},
                {EXTENDED_PIDS_PORTS, "EXTENDED_PIDS_PORTS"}, {EXPORT_PTR_TAG, "EXPORT_PTR_TAG"},
                {BIT_BINARIES, "BIT_BINARIES"}, {NEW_FLOATS, "NEW_FLOATS"}, {UNICODE_IO, "UNICODE_IO"},
                {DIST_HDR_ATOM_CACHE, "DIST_HDR_ATOM_CACHE"}, {SMALL_ATOM_TAGS, "SMALL_ATOM_TAGS"},
                {UTF8_ATOMS, "UTF8_ATOMS"}, {MAP_TAG, "MAP_TAG"}, {BIG_CREATION, "BIG_CREATION"},
                {SEND_SENDER, "SEND_SENDER"}, {BIG_SEQTRACE_LABELS, "BIG_SEQTRACE_LABELS"},
                {EXIT_PAYLOAD, "EXIT_PAYLOAD"}, {FRAGMENTS, "FRAGMENTS"}, {HANDSHAKE_23, "HANDSHAKE_23"},
                {UNLINK_ID, "UNLINK_ID"}, {MANDATORY_25_DIGEST, "MANDATORY_25_DIGEST"}, {SPAWN, "SPAWN"},
                {NAME_ME, "NAME_ME"}, {V4_NC, "V4_NC"}, {ALIAS, "ALIAS"}};
  std::string out;
  for (const auto& n : kNames) {
    if (flags & n.bit) {
      if (!out.empty()) out += '|';
      out += n.name;
    }
  }
  return out;
}

}  // namespace hc::cnode::dflag
