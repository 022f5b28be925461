// The anti-entropy messages of DeltaCrdt.CausalCrdt 0.6.4 as typed values
// (lib/delta_crdt/causal_crdt.ex; horde-wire.md section 3).
//
//   {diff, #CausalDiff}                       Merkle ping-pong
//   {get_diff, #CausalDiff, Keys}             non-originator asks originator for Keys
//   {diff, %DeltaCrdt.AWLWWMap{}, Keys}       the state slice for Keys
//   {ack_diff, Neighbour}                     sync with Neighbour finished
//   {set_neighbours, [Name]}
//
// CausalDiff is `%DeltaCrdt.CausalCrdt.Diff{continuation, dots, originator,
// from, to}`. `dots` is the originator's context when it started the sync
// (sent back verbatim in the slice), `originator` is its pid, `from`/`to`
// are swapped by each receiver.
#pragma once

#include <optional>
#include <string>

#include "crdt/error.hpp"
#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc::crdt {

struct CausalDiff {
  Term continuation;  // %MerkleMap.MerkleTree.Diff{}
  Term dots;          // originator's compressed context, verbatim
  Term originator;
  Term from;
  Term to;
  // Any other fields of the received map, kept so that a reply preserves
  // them as `%Diff{diff | ...}` would.
  TermPairs extra;

  Term to_term() const;
  // CrdtErrc::malformed_diff, with what was wrong as detail, when `t` is not
  // a Diff struct with all five fields.
  static Result<CausalDiff> from_term(const Term& t);
  // reverse_diff/1: swap from and to.
  CausalDiff reversed() const {
    CausalDiff d = *this;
    std::swap(d.from, d.to);
    return d;
  }
};

Atom causal_diff_module();  // 'Elixir.DeltaCrdt.CausalCrdt.Diff'

}  // namespace hc::crdt
