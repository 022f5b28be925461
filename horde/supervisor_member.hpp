// A Horde.DynamicSupervisor member as it appears in the CRDT under
// `{member_node_info, {N, Node}}`: `%Horde.DynamicSupervisor.Member{name: {N, Node}, status: S}`
// (Horde 0.10.0 lib/horde/dynamic_supervisor_impl.ex; see
// /work/shared/docs/horde-wire.md section 6).
//
// C++ members add one key to that struct, `cpp_worker_kinds`: the sorted list
// of start-module atoms of the C++ worker kinds they run. Horde itself only
// ever matches `%{status: _}` and `%{name: _}` on a member, so the extra key is
// invisible to Horde.UniformDistribution and Horde.DynamicSupervisorImpl; the
// mixed strategy (mixed_distribution.hpp, elixir/lib/horde_cnode/mixed_distribution.ex)
// reads it to know which members provide which kinds. A BEAM member never has
// the key (Horde writes `%Member{name, status}` only, also when it marks any
// member dead), so "is a C++ member" is a property of the replicated member
// info itself: every node decides it from the same CRDT value, never from
// connection state or timing.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "interop/term.hpp"

namespace hc::horde {

enum class MemberStatus { uninitialized, alive, shutting_down, dead };

std::string_view to_string(MemberStatus status) noexcept;
std::optional<MemberStatus> member_status_from_atom(const Term& atom) noexcept;

struct Member {
  Term name;  // {N, Node}
  MemberStatus status = MemberStatus::uninitialized;
  // Present only on C++ members: the kinds they provide (sorted, unique).
  std::optional<std::vector<Atom>> cpp_worker_kinds;

  bool is_alive() const noexcept { return status == MemberStatus::alive; }
  bool is_cpp() const noexcept { return cpp_worker_kinds.has_value(); }
  bool provides(const Atom& module) const noexcept;

  // The CRDT value: %Horde.DynamicSupervisor.Member{...} (+ cpp_worker_kinds).
  Term to_term() const;
  // Accepts any map with a valid `status` atom and a `name`; nullopt otherwise.
  // Unknown keys are ignored (forward compatible with newer Horde structs).
  static std::optional<Member> from_term(const Term& value);

  bool operator==(const Member&) const = default;
};

Atom member_struct_atom();                       // 'Elixir.Horde.DynamicSupervisor.Member'
inline constexpr std::string_view kCppWorkerKindsKey = "cpp_worker_kinds";

}  // namespace hc::horde
