// `horde-cnode phash2 FILE`: erlang:phash2 of every term in a file.
//
// FILE holds the external term format of one list, as written by
// `file:write_file(F, term_to_binary([T1, T2, ...]))`; "-" reads standard
// input. For each element, in order, one line is printed:
//
//   phash2(T) phash2(T, 4294967296) phash2(T, 4294967295)
//
// which is what Horde and its dependencies use (placement, MerkleMap keys,
// libring points; see interop/phash2.hpp). Exit status: 0 on success, 1 when
// the file cannot be read or is not the encoding of a proper list (message on
// `err`), 2 for a usage error.
#pragma once

#include <iosfwd>
#include <span>
#include <string_view>

namespace hc::app {

// One-line summary for the program's usage text.
inline constexpr std::string_view kPhash2Synopsis = "phash2 FILE    print erlang:phash2/1,2 of each term in FILE";

// Runs the subcommand; `args` are the arguments after "phash2".
int run_phash2_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace hc::app
