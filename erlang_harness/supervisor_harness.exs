# Modules for BEAM members of Horde.DynamicSupervisor clusters in the C++
# tests and benchmarks (loaded with Code.require_file/1; defines, runs nothing):
#   HordeCnodeTest.ElixirWorker  an Elixir child (start_link(arg); :whoami -> {node(), arg})
#   HordeCnodeTest.Harness       GenServer `:sup_harness`: Horde calls on behalf of C++ drivers
#   HordeCnodeTest.Peer          start/4: a Horde.DynamicSupervisor member + the harness
# It also loads this repo's Elixir side (elixir/lib: HordeCnode.MixedDistribution,
# CppWorkers.*). Needs Horde in ERL_LIBS.
root = Path.expand("..", __DIR__)
# In dependency order (a Mix project would compile them as one app).
for f <- ~w(lib/horde_cnode/hash_ring.ex lib/horde_cnode/mixed_distribution.ex
            lib/horde_cnode/mixed_quorum_distribution.ex lib/horde_cnode/mixed_random_distribution.ex
            lib/horde_cnode/cpp_worker.ex lib/cpp_workers.ex),
    do: Code.require_file(Path.join([root, "elixir", f]))

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
  # has_quorum? as Horde's callers see it (nil is falsy).
  defp handle({:quorum_many, strategy, member_lists}), do: Enum.map(member_lists, &(!!strategy.has_quorum?(&1)))
  defp handle({:wait_for_quorum, sup, timeout}), do: timed(fn -> Horde.DynamicSupervisor.wait_for_quorum(sup, timeout) end)
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
  defp handle({:bench, fun, args}), do: apply(HordeCnodeBench, fun, args)
  defp handle(:ping), do: :pong
  defp handle(other), do: {:error, {:unknown, other}}

  defp timed(f) do
    t0 = System.monotonic_time(:microsecond)
    r = f.()
    {System.monotonic_time(:microsecond) - t0, r}
  end
end

defmodule HordeCnodeTest.Peer do
  @doc """
  Starts (unlinked, so it outlives the caller) Horde.DynamicSupervisor `sup`
  with `strategy` (:uniform | :mixed | :uniform_quorum | :uniform_random |
  :mixed_quorum | :mixed_random), explicit `members` (node atoms) and the
  CRDT `sync_interval`, plus the `:sup_harness` server. Returns :ok.
  """
  def start(sup, strategy, member_nodes, sync_interval) do
    {:ok, _} = Application.ensure_all_started(:telemetry)
    strategy_mod =
      case strategy do
        :mixed -> HordeCnode.MixedDistribution
        :mixed_quorum -> HordeCnode.MixedQuorumDistribution
        :mixed_random -> HordeCnode.MixedRandomDistribution
        :uniform_quorum -> Horde.UniformQuorumDistribution
        :uniform_random -> Horde.UniformRandomDistribution
        _ -> Horde.UniformDistribution
      end
    members = Enum.map(member_nodes, &{sup, &1})
    unless Process.whereis(:sup_harness), do: {:ok, _} = GenServer.start(HordeCnodeTest.Harness, nil, name: :sup_harness)
    {:ok, pid} =
      Horde.DynamicSupervisor.start_link(
        name: sup, strategy: :one_for_one, members: members,
        distribution_strategy: strategy_mod,
        delta_crdt_options: [sync_interval: sync_interval])
    Process.unlink(pid)
    :ok
  end
end
