// The supervisor role's requests on the `horde_cnode` control process
// (control_process.hpp):
//
//   {start_child, Sup, ChildSpec}  -> exactly what Horde.DynamicSupervisor.start_child/2
//                                     returns ({ok, Pid} | {error, Reason} | ...).
//                                     ChildSpec: a child spec map, or for C++ kinds
//                                     also {Module, Arg} / Module (the default
//                                     `use GenServer` child spec, as Elixir builds it)
//   {which_children, Sup}          -> Horde.DynamicSupervisor.which_children/1
//   {count_children, Sup}          -> Horde.DynamicSupervisor.count_children/1 (a map)
//   {terminate_child, Sup, Pid}    -> Horde.DynamicSupervisor.terminate_child/2
//   {stop_supervisor, Sup}         -> ok once Sup stopped gracefully (children handed off)
//   {supervisor_members, Sup}      -> [#{name, status, cpp_worker_kinds}] as this node sees them
// plus `supervisors => #{Sup => #{...}}` in `stats`.
// Errors Horde has no shape for: {error, {no_supervisor, Sup}},
// {error, {invalid_child_spec, Spec}}.
//
// Runs on the node's io thread.
#pragma once

#include <chrono>

#include "horde/control_process.hpp"

namespace hc::horde {

// `call_timeout`: how long the control process waits for N (Horde waits
// forever; a BEAM caller of the control process should not).
void install_supervisor_handlers(ControlProcess& control,
                                 std::chrono::milliseconds call_timeout = std::chrono::seconds(30));

// The child spec map the control request's ChildSpec stands for, or the
// error reason ({invalid_child_spec, Spec}).
std::variant<Term, Term> normalize_child_spec(const Term& spec);

}  // namespace hc::horde
