# A BEAM member of a Horde.DynamicSupervisor cluster, driven by the C++ tests
# and benchmarks (test/horde/supervisor_horde_test.cpp, bench/supervisor_bench.cpp).
#
#   ERL_LIBS=... elixir --name beam1@127.0.0.1 --cookie C erlang_harness/supervisor_peer.exs \
#       SUP STRATEGY MEMBER_NODE... 
#
# SUP: supervisor name (Elixir alias text, e.g. "HordeTest.Sup1"); STRATEGY:
# "uniform" | "mixed"; MEMBER_NODE: every member node (this one included).
# Registers `:sup_harness`, a GenServer the C++ side calls (requests below),
# prints "READY" once the supervisor runs, and runs until killed.
# Exits with 77 when Horde is not in ERL_LIBS.
unless Code.ensure_loaded?(Horde.DynamicSupervisor) do
  IO.puts("SKIP: Horde not found in ERL_LIBS")
  System.halt(77)
end

{:ok, _} = Application.ensure_all_started(:telemetry)
root = Path.expand("..", __DIR__)
for f <- ["lib/horde_cnode/mixed_distribution.ex", "lib/cpp_workers.ex"], do: Code.require_file(Path.join([root, "elixir", f]))

defmodule HordeCnodeTest.ElixirWorker do
  @moduledoc "An Elixir child for placement tests: answers :whoami with its node."
  use GenServer
  def start_link(arg), do: GenServer.start_link(__MODULE__, arg)
  @impl true
  def init(arg), do: {:ok, arg}
  @impl true
  def handle_call(:whoami, _from, arg), do: {:reply, {node(), arg}, arg}
  def handle_call(:get, _from, arg), do: {:reply, arg, arg}
end

defmodule HordeCnodeTest.Harness do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: :sup_harness)
  @impl true
  def init(_), do: {:ok, nil}

  @impl true
  def handle_call(req, from, state) do
    # Horde calls block (infinity); run them off the harness process so the
    # C++ side can have several outstanding.
    spawn(fn -> GenServer.reply(from, handle(req)) end)
    {:noreply, state}
  end

  defp handle({:start_child, sup, spec}), do: Horde.DynamicSupervisor.start_child(sup, spec)
  defp handle({:start_children, sup, specs}) do
    t0 = System.monotonic_time(:microsecond)
    results = Enum.map(specs, &Horde.DynamicSupervisor.start_child(sup, &1))
    {System.monotonic_time(:microsecond) - t0, results}
  end
  defp handle({:timed_start_child, sup, spec}) do
    t0 = System.monotonic_time(:microsecond)
    r = Horde.DynamicSupervisor.start_child(sup, spec)
    {System.monotonic_time(:microsecond) - t0, r}
  end
  defp handle({:which_children, sup}), do: timed(fn -> Horde.DynamicSupervisor.which_children(sup) end)
  defp handle({:count_children, sup}), do: timed(fn -> Horde.DynamicSupervisor.count_children(sup) end)
  defp handle({:terminate_child, sup, pid}), do: Horde.DynamicSupervisor.terminate_child(sup, pid)
  defp handle({:members, sup}), do: Horde.Cluster.members(sup)
  defp handle({:member_infos, sup}), do: Map.values(:sys.get_state(sup).members_info)
  defp handle({:processes, sup}) do
    for {{:process, id}, value} <- DeltaCrdt.to_map(:"#{sup}.Crdt"), do: {id, value}
  end
  defp handle({:local_children, sup}), do: Horde.ProcessesSupervisor.which_children(:"#{sup}.ProcessesSupervisor")
  defp handle({:choose_node, strategy, spec, members}), do: strategy.choose_node(spec, members)
  defp handle({:choose_many, strategy, cases}), do: Enum.map(cases, fn {s, m} -> strategy.choose_node(s, m) end)
  defp handle({:call, pid, req}), do: GenServer.call(pid, req, 5000)
  defp handle({:stop_sup, sup}), do: Horde.DynamicSupervisor.stop(sup)
  defp handle({:memory}), do: :erlang.memory()
  defp handle({:process_memory, sup}) do
    # Bytes attributable to supervised children on this node: each child's
    # process memory plus the supervisor bookkeeping growth is measured by the caller.
    children = Horde.ProcessesSupervisor.which_children(:"#{sup}.ProcessesSupervisor")
    Enum.reduce(children, 0, fn {_, pid, _, _}, acc ->
      case Process.info(pid, :memory) do
        {:memory, m} -> acc + m
        _ -> acc
      end
    end)
  end
  defp handle({:eval, code}), do: elem(Code.eval_string(code), 0)
  defp handle(:ping), do: :pong
  defp handle(other), do: {:error, {:unknown, other}}

  defp timed(f) do
    t0 = System.monotonic_time(:microsecond)
    r = f.()
    {System.monotonic_time(:microsecond) - t0, r}
  end
end

[sup_text, strategy | member_nodes] = System.argv()
sup = Module.concat([sup_text])
strategy_mod = if strategy == "mixed", do: HordeCnode.MixedDistribution, else: Horde.UniformDistribution
members = Enum.map(member_nodes, fn n -> {sup, String.to_atom(n)} end)

{:ok, _} = GenServer.start(HordeCnodeTest.Harness, nil, name: :sup_harness)

{:ok, _} =
  Horde.DynamicSupervisor.start_link(
    name: sup,
    strategy: :one_for_one,
    members: members,
    distribution_strategy: strategy_mod,
    delta_crdt_options: [sync_interval: String.to_integer(System.get_env("HC_SYNC_INTERVAL", "100"))]
  )

IO.puts("READY")
# The driver kills us (RAII guard) or calls {:eval, "System.halt()"}.
Process.sleep(:infinity)
