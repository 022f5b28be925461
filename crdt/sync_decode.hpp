// The decoder of a received sync message that leaves the bulk of it
// encoded, for the engine to read in place:
//   {diff, %DeltaCrdt.CausalCrdt.Diff{continuation:
//      %MerkleMap.MerkleTree.Diff{trees: Trees, keys: Keys}, ...}}
//                                                   Trees and Keys kept
//   {diff, %DeltaCrdt.AWLWWMap{value: Value, dots: _}, Keys}
//                                                   Value and Keys kept
// each as an encoded part (merkle_map.hpp) when it is a non-empty list
// (LIST_EXT) or map: PartialDiffWalk reads the trees in place, SliceJoin
// decodes a key's element map when it joins that key, and both read the
// Keys a piece a step (KeyListReader, key_list.hpp). At 300 000 names a
// cold peer's continuation is ~67 MB and a slice ~60 MB: decoded into
// Terms, each took 0.4-1.5 s of the decode worker and 3-4x its size in
// memory, and then had to be freed; a Keys list of 1 000 000 keys then
// cost 35-60 ms of one turn each time it was copied or dropped. The rest
// of the message (dots, pids) is decoded as usual.
//
// A node runs it, through Node::add_payload_decoder, on every message it
// receives, whatever process it is for: the shapes are DeltaCrdt's own
// and nothing else sends them. Anything else is declined after a look at
// its first bytes. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

// `body`: one term's external format, no version byte. nullopt when it is
// not one of the two shapes above with something to keep,
// or when any part of it is malformed (the caller's general decoder then
// decodes it, or says what is wrong, exactly as for any other message).
// Cost: a skip over the kept part (no allocation but one copy of its
// bytes) and the decode of the rest.
std::optional<Result<Term>> decode_sync_message(std::span<const std::uint8_t> body);

}  // namespace hc::crdt
