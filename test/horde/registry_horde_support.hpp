// The real-Horde registry tier's helpers: BEAM nodes running Horde.Registry
// through erlang_harness/registry_harness.exs, and the driver calls the
// tests make to them. Shared by registry_horde_test and the soak test.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "registry_test_support.hpp"

namespace hc::test::reg {

// ERL_LIBS for the BEAM nodes: the caller's (Horde and its deps) plus
// Elixir's lib dir. Exits 77 when Horde.Registry cannot be loaded.
inline const std::string& horde_erl_libs() {
  static const std::string libs = erl_libs_or_skip("Elixir.Horde.Registry", "horde, delta_crdt, merkle_map, libring and telemetry");
  return libs;
}

// A BEAM node with Horde.Registry `reg` and the registry driver.
struct BeamRegistryNode {
  std::unique_ptr<BeamNode> beam;
  Atom name;
  Atom reg;
  std::chrono::milliseconds sync;
  BeamRegistryNode(const std::string& cookie, Atom registry, std::chrono::milliseconds sync_interval)
      : reg(registry), sync(sync_interval) {
    beam = std::make_unique<BeamNode>(BeamNodeOptions{unique_name("hb"), cookie, horde_erl_libs(), {}, false});
    name = Atom(beam->node_name());
    beam->eval("logger:set_primary_config(level, warning), {ok, _} = application:ensure_all_started(elixir), ok.");
    beam->eval("_ = 'Elixir.Code':require_file(<<\"" + std::string(HC_SOURCE_DIR) +
                   "/erlang_harness/registry_harness.exs\">>), ok.",
               std::chrono::seconds(60));
  }
  // members: "auto" or an Erlang list of member tuples.
  void start(const std::string& members) {
    BOOST_REQUIRE_EQUAL(beam->eval("'Elixir.RegistryDriver.Starter':start('" + std::string(reg.text()) + "', " +
                                   members + ", " + std::to_string(sync.count()) + ")."),
                        "ok");
  }
};

// The test's hands on BEAM nodes: driver calls from a C++ node.
struct Driver {
  cnode::NodeRunner* via;
  Atom reg;
  Term call(const BeamRegistryNode& b, Term request) {
    auto r = hc::test::reg::call(*via, cnode::Dest(atom("registry_driver"), b.name), std::move(request));
    BOOST_REQUIRE_MESSAGE(r.ok(), "driver call failed: " << r.reason());
    return r.value();
  }
  // Horde.Registry.lookup on `b`: the pid, or nullopt for [].
  std::optional<Pid> lookup(const BeamRegistryNode& b, const Term& key) {
    Term r = call(b, tuple(atom("lookup"), reg, key));
    if (!r.is_tuple(2) || !r.element(0)->is_atom("ok")) return std::nullopt;
    auto l = r.element(1)->list_elements();
    if (l.empty()) return std::nullopt;
    return *l[0].element(0)->as_pid();
  }
  std::int64_t count(const BeamRegistryNode& b) { return call(b, tuple(atom("count"), reg)).as_int().value_or(-1); }
  // {Result, Pid} of a fresh registrant process on `b`.
  std::pair<Term, Pid> register_name(const BeamRegistryNode& b, const Term& key, const Term& value) {
    Term r = call(b, tuple(atom("register"), reg, key, value));
    return {*r.element(0), *r.element(1)->as_pid()};
  }
  std::size_t members(const BeamRegistryNode& b) {
    return call(b, tuple(atom("members"), reg)).list_elements().size();
  }
};

}  // namespace hc::test::reg
