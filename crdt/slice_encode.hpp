// The state slice DeltaCrdt sends, `{diff, %DeltaCrdt.AWLWWMap{dots, value}, Keys}`
// (horde-wire.md section 3), written as external term format straight from
// the replica's packed records (AWLWWMap::encode_slice) instead of through
// a Term tree: the answer to a get_diff and the last step of a peer's
// round, up to the whole registry in one message (issue 13: building the
// Terms of a 100 000-key slice and encoding them took 110-200 ms in one
// turn).
//
// The bytes are exactly interop's encoding of the Term message
// (`tuple(diff, state.slice_term(keys, dots), keys)`): the same map key
// order (Erlang term order, the last of equal keys kept), the same
// integer, atom and binary encodings. Checked by
// test/crdt/slice_encode_test.cpp over random states.
//
// Thread safety: pure functions of their arguments (the state is read).
#pragma once

#include <cstdint>
#include <vector>

#include "crdt/aw_lww_map.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

// Appends the body (no version byte 131: the distribution frame writer
// adds it where the frame format wants one) of
// `{diff, state.slice_term(Keys, dots), Keys}`; `keys` is the list Keys as
// it goes on the wire (a proper list). Cost: O(bytes) plus sorting the keys.
void encode_slice_message(const AWLWWMap& state, const Term& keys, const Term& dots, std::vector<std::uint8_t>& out);

}  // namespace hc::crdt
