defmodule HordeCnode do
  @moduledoc """
  Helpers for apps whose cluster holds horde-cnode (C++) nodes.

    * `HordeCnode.Node` runs a C++ node in a supervision tree;
    * `HordeCnode.MixedDistribution` places Horde children on BEAM or C++
      members as their kind requires;
    * `HordeCnode.CppWorker` writes Elixir front-ends of C++ worker kinds
      (`CppWorkers.Echo`, `CppWorkers.Counter` are built in).

  ## Examples

      HordeCnode.nodes()
      #=> [:"cpp1@127.0.0.1"]

      {:ok, stats} = HordeCnode.stats(:"cpp1@127.0.0.1")
      stats.registries[MyApp.Registry].keys

      HordeCnode.nodes(MyApp.Sup)   # C++ members of a Horde.DynamicSupervisor
      #=> [:"cpp1@127.0.0.1"]
  """
  require Logger

  @compile {:no_warn_undefined, [DeltaCrdt]}

  @doc """
  The statistics of a C++ node, from its `horde_cnode` control process: a map
  with `:node`, `:processes`, `:registries` (per registry: keys, CRDT memory,
  sync counters) and `:supervisors` (per supervisor: members, children,
  counters, `:distribution` and, with the mixed strategy, `:cpp_namespaces`).

  Returns `{:ok, map}`, or `{:error, reason}` when `node` does not answer
  (`{:error, :noproc}` from a BEAM node, `{:error, :nodedown}`, `{:error, :timeout}`).
  """
  @spec stats(node(), timeout()) :: {:ok, map()} | {:error, term()}
  def stats(node, timeout \\ 5_000) when is_atom(node) do
    {:ok, GenServer.call({:horde_cnode, node}, :stats, timeout)}
  catch
    :exit, {reason, _} -> {:error, reason}
  end

  @doc """
  The C++ nodes among the connected nodes: those whose `horde_cnode` control
  process answers (asked in parallel, at most 2 s each).
  """
  @spec nodes() :: [node()]
  def nodes do
    timeout = 2_000

    Node.list()
    |> Task.async_stream(fn n -> {n, stats(n, timeout)} end, timeout: timeout + 1_000, on_timeout: :kill_task)
    |> Enum.flat_map(fn
      {:ok, {n, {:ok, %{node: n}}}} -> [n]
      _ -> []
    end)
    |> Enum.sort()
  end

  @doc """
  The alive C++ members of the `Horde.DynamicSupervisor` named `supervisor`,
  from the member infos in its CRDT (C++ members advertise their
  `cpp_worker_kinds`; BEAM members never do). Needs Horde.
  """
  @spec nodes(atom()) :: [node()]
  def nodes(supervisor) when is_atom(supervisor) do
    for {member_node, %{status: :alive}} <- cpp_members(supervisor), do: member_node
  end

  @doc """
  `{node, member_info}` for every C++ member of the `Horde.DynamicSupervisor`
  `supervisor`, whatever its status; `member_info` is the replicated
  `%Horde.DynamicSupervisor.Member{}` with `:cpp_worker_kinds`. Needs Horde.
  """
  @spec cpp_members(atom()) :: [{node(), map()}]
  def cpp_members(supervisor) when is_atom(supervisor) do
    unless horde_available?(), do: raise(ArgumentError, "HordeCnode.cpp_members/1 needs Horde (not loadable)")

    DeltaCrdt.to_map(:"#{supervisor}.Crdt")
    |> Enum.flat_map(fn
      {{:member_node_info, {_, member_node}}, %{cpp_worker_kinds: kinds} = info} when is_list(kinds) ->
        [{member_node, info}]

      _ ->
        []
    end)
    |> Enum.sort()
  end

  @doc """
  Checks that the C++ node `node` uses the C++ namespaces `namespaces`
  (default: the configured ones) for every supervisor it runs with the mixed
  strategy. Logs a warning and returns `{:mismatch, details}` when they differ;
  `:ok` otherwise, and also when the node cannot be asked.
  """
  @spec check_config(node(), [module()]) :: :ok | {:mismatch, [map()]}
  def check_config(node, namespaces \\ HordeCnode.MixedDistribution.cpp_namespaces()) do
    ours = namespaces |> Enum.uniq() |> Enum.sort()

    with {:ok, %{supervisors: sups}} when is_map(sups) <- stats(node) do
      mismatches =
        for {sup, %{cpp_namespaces: theirs}} <- sups, Enum.sort(Enum.uniq(theirs)) != ours do
          %{node: node, supervisor: sup, cpp_namespaces: theirs, configured: ours}
        end

      case mismatches do
        [] ->
          :ok

        _ ->
          for m <- mismatches do
            Logger.warning(
              "HordeCnode: C++ node #{node} runs #{inspect(m.supervisor)} with cpp_namespaces " <>
                "#{inspect(m.cpp_namespaces)}, but this node is configured with #{inspect(ours)}: " <>
                "the two sides will place C++ children differently. Use the same namespaces " <>
                "(config :horde_cnode, cpp_namespaces: [...]; --cpp-namespace on C++ nodes)."
            )
          end

          {:mismatch, mismatches}
      end
    else
      _ -> :ok
    end
  end

  @doc "True when Horde (and DeltaCrdt) can be loaded on this node."
  @spec horde_available?() :: boolean()
  def horde_available?, do: Code.ensure_loaded?(Horde.DynamicSupervisor) and Code.ensure_loaded?(DeltaCrdt)
end
