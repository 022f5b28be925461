// Error codes of the CRDT layer, wired into std::error_code under the
// category "hc.crdt". Every code is hc::errc::protocol_violation
// (interop/error_condition.hpp): it names a message from another replica
// (or a caller's cast/call to the CRDT) whose shape DeltaCrdt would not
// send. The detail of which field was wrong rides in hc::Error::what.
#pragma once

#include <system_error>

namespace hc::crdt {

enum class CrdtErrc {
  // 0 is success in std::error_code; never used.
  malformed_diff = 1,     // a %DeltaCrdt.CausalCrdt.Diff{} without its fields, or not that struct
  malformed_slice,        // a %DeltaCrdt.AWLWWMap{} slice (dots, value, an element set) of a bad shape
  malformed_continuation, // a %MerkleMap.MerkleTree.Diff{} continuation of a bad shape
  malformed_operation,    // an {:operation, Op} whose Op is not {Function, Args}
  unsupported_operation,  // an operation AWLWWMap does not have (or with the wrong arguments)
};

// Thread-safe (a static category).
const std::error_category& crdt_category() noexcept;
std::error_code make_error_code(CrdtErrc e) noexcept;

}  // namespace hc::crdt

template <>
struct std::is_error_code_enum<hc::crdt::CrdtErrc> : std::true_type {};
