# A BEAM member of a Horde.DynamicSupervisor cluster, standalone (for the
# benchmark and by hand):
#
#   ERL_LIBS=... elixir --name beam1@127.0.0.1 --cookie C erlang_harness/supervisor_peer.exs \
#       SUP STRATEGY MEMBER_NODE...
#
# SUP: supervisor name (Elixir alias text, e.g. "HordeTest.Sup1"); STRATEGY:
# "uniform" | "mixed"; MEMBER_NODE: every member node (this one included).
# Runs HordeCnodeTest.Peer.start/4 (erlang_harness/supervisor_harness.exs),
# prints "READY" and runs until killed. Exits with 77 when Horde is not in ERL_LIBS.
unless Code.ensure_loaded?(Horde.DynamicSupervisor) do
  IO.puts("SKIP: Horde not found in ERL_LIBS")
  System.halt(77)
end

Logger.configure(level: :warning)
Code.require_file(Path.join(__DIR__, "supervisor_harness.exs"))
Code.require_file(Path.join(__DIR__, "supervisor_bench.exs"))
[sup_text, strategy | member_nodes] = System.argv()
:ok =
  HordeCnodeTest.Peer.start(Module.concat([sup_text]), String.to_atom(strategy),
    Enum.map(member_nodes, &String.to_atom/1),
    String.to_integer(System.get_env("HC_SYNC_INTERVAL", "100")))
IO.puts("READY")
Process.sleep(:infinity)
