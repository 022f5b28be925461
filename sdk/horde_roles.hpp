// The built-in Horde roles of run_node, as one Extension:
//
//   --registry NAME          run a Horde.Registry named NAME (repeatable)
//   --supervisor NAME        run a Horde.DynamicSupervisor named NAME (repeatable)
//   --no-default-roles       no default role (below)
//   --members NODE[,NODE]    member nodes of every role (repeatable); `auto`: every
//                            connected visible node, like Horde's members: :auto
//   --sync-interval MS       CRDT sync interval (Horde's default 300)
//   --distribution STRATEGY  supervisor placement (horde/strategy_by_name.hpp): uniform,
//                            uniform_quorum, uniform_random, mixed, mixed_quorum, mixed_random
//   --cpp-namespace NS       module namespace of the C++ worker kinds for the mixed
//                            strategy (repeatable; default CppWorkers)
//
// Without --registry, HordeCnode.Registry runs; without --supervisor,
// HordeCnode.Supervisor runs (unless --no-default-roles). A NAME starting with an upper-case letter is an
// Elixir alias ('Elixir.' is prepended); any other NAME is the atom's text.
// Configured members also become connection peers (like --connect). Every
// role's requests are installed on the `horde_cnode` control process.
//
// Threading: configure() on the calling thread before the node runs;
// start()/before_stop() on the io thread.
#pragma once

#include <memory>

#include "horde/worker_kinds.hpp"
#include "sdk/application.hpp"

namespace hc::sdk {

// Elixir alias text -> module atom ("MyApp.Sup" -> 'Elixir.MyApp.Sup').
Atom module_atom(std::string_view text);

// The roles' extension; supervisors start `kinds`.
std::shared_ptr<Extension> make_horde_roles(horde::WorkerKinds kinds);

}  // namespace hc::sdk
