// The decoder of a large received sync message that leaves the bulk of it
// encoded: `{diff, %DeltaCrdt.CausalCrdt.Diff{continuation:
// %MerkleMap.MerkleTree.Diff{trees: Trees, ...}, ...}}` is decoded with
// Trees kept as an encoded part (merkle_map.hpp), which PartialDiffWalk
// reads in place. At 300 000 names a cold peer's continuation is ~67 MB:
// decoding it into Terms took 0.2-0.8 s of the decode worker and 3-4x its
// size in memory, and the tree then had to be freed, a piece per turn.
// The rest of the message (dots, pids, the continuation's keys) is decoded
// as usual.
//
// A node runs it, through Node::add_payload_decoder, on every message it
// receives, whatever process it is for: the shape is DeltaCrdt's own and
// nothing else sends it. Anything else is declined after a look at its
// first bytes. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

// `body`: one term's external format, no version byte. nullopt when it is
// not a `{diff, Map}` whose `continuation` holds a `trees` list, or when any
// part of it is malformed (the caller's general decoder then decodes it, or
// says what is wrong, exactly as for any other message). Cost: a skip over
// the trees (no allocation but one copy of their bytes) and the decode of
// the rest.
std::optional<Result<Term>> decode_sync_message(std::span<const std::uint8_t> body);

}  // namespace hc::crdt
