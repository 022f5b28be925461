// horde-cnode's one entry point for C++ services: include this header and
// link HordeCnode::horde_cnode (find_package(HordeCnode CONFIG)).
//
//   #include <horde_cnode/sdk/horde_cnode.hpp>
//
// What it brings, by task (each header says which thread its calls run on;
// in short: everything node-side runs on the node's single io thread):
//
// | task                                   | API                                   | header                  |
// |----------------------------------------|---------------------------------------|-------------------------|
// | run a program with every horde-cnode   | hc::sdk::run_node, ApplicationSpec,   | sdk/application.hpp     |
// | flag, the Horde roles and graceful stop| Extension                             |                         |
// | start a node yourself (no CLI)         | hc::cnode::NodeOptions, Node,         | cnode/node.hpp          |
// |                                        | NodeRunner (own io thread)            |                         |
// | write a process / a GenServer          | hc::cnode::Process, GenServer         | cnode/process.hpp,      |
// |                                        |                                       | cnode/gen_server.hpp    |
// | call or cast BEAM processes            | Process::call / cast / send           | cnode/process.hpp       |
// | register, look up, unregister names in | hc::horde::RegistryApi                | horde/registry_api.hpp  |
// | a Horde.Registry                       |                                       |                         |
// | worker kinds for                       | hc::horde::Worker, WorkerKinds        | horde/worker_kinds.hpp  |
// | Horde.DynamicSupervisor.start_child/2  |                                       |                         |
// | Erlang terms                           | hc::Term, hc::Atom, hc::Pid, tuple(), | interop/term.hpp        |
// |                                        | list(), binary(), atom()              |                         |
// | logging                                | HC_LOG(info) << ...                   | cnode/log.hpp           |
//
// The guide with worked examples: docs/cpp-guide.md; complete programs:
// examples/.
#pragma once

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"
#include "cnode/process.hpp"
#include "horde/registry_api.hpp"
#include "horde/supervisor_process.hpp"
#include "horde/worker_kinds.hpp"
#include "interop/term.hpp"
#include "sdk/application.hpp"
#include "sdk/horde_roles.hpp"  // module_atom
#include "sdk/version.hpp"
