# A standalone BEAM node with a real Horde.Registry and the test driver
# (erlang_harness/registry_harness.exs):
#
#   ERL_LIBS=/work/erl_libs elixir --name a@127.0.0.1 --cookie C \
#     erlang_harness/registry_node.exs REGISTRY MEMBERS [SYNC_MS]
#
# REGISTRY: the registry atom's full text (e.g. Elixir.HordeCnode.Registry).
# MEMBERS: "auto" (members: :auto, NodeListener), "none" (just this node;
#   join later with Horde.Cluster.set_members) or a comma separated list of
#   node names (explicit members; this node is added).
# Prints "registry_node ready NODE" once running; halts when stdin closes.
Code.require_file("registry_harness.exs", __DIR__)

[reg_text, members_text | rest] = System.argv()
sync_ms = case rest do
  [ms | _] -> String.to_integer(ms)
  [] -> 300
end

registry = String.to_atom(reg_text)

members =
  case members_text do
    "auto" -> :auto
    "none" -> []
    list -> list |> String.split(",", trim: true) |> Enum.map(&{registry, String.to_atom(&1)})
  end

Logger.configure(level: :warning)
:ok = RegistryDriver.Starter.start(registry, members, sync_ms)
IO.puts("registry_node ready #{node()}")

# Halt when the test (our parent) closes stdin.
IO.read(:stdio, :line)
System.halt(0)
