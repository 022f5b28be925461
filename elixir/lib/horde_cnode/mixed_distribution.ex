defmodule HordeCnode.MixedDistribution do
  @moduledoc """
  A `Horde.DistributionStrategy` for `Horde.DynamicSupervisor` clusters that
  mix BEAM nodes and horde-cnode (C++) nodes.

  Under `Horde.UniformDistribution` any child may land on any member, so an
  Elixir child can be assigned to a C++ node (which cannot run it) and a C++
  worker kind to a BEAM node (which has no such module). This strategy keeps
  the two apart:

    * a child whose start module lies in a C++ namespace (default
      `CppWorkers`, i.e. `CppWorkers.Echo`, `CppWorkers.Counter`, ...) is placed
      only on alive members that advertise that module in their member info;
      none: `{:error, {:no_alive_nodes_providing, module}}`;
    * every other child is placed only on alive BEAM members; none:
      `{:error, :no_alive_nodes}`;
    * inside each group the owner is chosen exactly as
      `Horde.UniformDistribution` does (libring hash ring of the group's member
      names, key `:erlang.phash2(Map.drop(child_spec, [:id]))`; see
      `HordeCnode.HashRing`).

  ## Usage

      children = [
        {Horde.DynamicSupervisor,
         name: MyApp.Sup, strategy: :one_for_one, members: :auto,
         distribution_strategy: HordeCnode.MixedDistribution},
        {HordeCnode.Node,
         name: :"cpp1@127.0.0.1",
         args: ["--supervisor", "MyApp.Sup", "--distribution", "mixed", "--members", "auto"]}
      ]

      {:ok, pid} = Horde.DynamicSupervisor.start_child(MyApp.Sup, {CppWorkers.Counter, 5})
      node(pid)   #=> :"cpp1@127.0.0.1"

  All members of one supervisor must use the same strategy: C++ members with
  `--distribution mixed`.

  ## Configuration: the C++ namespaces, in one place

      # config/config.exs
      config :horde_cnode, cpp_namespaces: [CppWorkers, MyApp.Cpp]

  Every node must agree on them. `HordeCnode.Node` passes them to the C++
  nodes it starts (`--cpp-namespace`), so nodes started that way cannot
  disagree. Disagreement with C++ nodes started elsewhere is detected at run
  time and logged as a warning:

    * here, when a C++ member advertises a worker kind outside the configured
      namespaces (that kind would be placed on BEAM members);
    * by `HordeCnode.check_config/1` (run by `HordeCnode.Node` once its node is
      connected), which compares the namespaces a C++ node reports in its
      `stats` with the configured ones.

  ## How every node reaches the same answer

  The decision depends only on the child spec, the replicated member infos and
  static configuration. C++ members write
  `%Horde.DynamicSupervisor.Member{name: ..., status: ..., cpp_worker_kinds: [module]}`
  into the CRDT; BEAM members never carry `:cpp_worker_kinds`. Horde itself
  only matches `:name` and `:status`. The strategy's decisions are checked
  against Horde's own placement, as are those of the C++ implementation
  (`horde/mixed_distribution.hpp`), with the same golden data
  (`test/horde/data/mixed_distribution_golden.etf`).

  The module needs neither Horde nor libring to compute a placement, so
  `choose_node/3` can be used (and is tested) without them.
  """
  require Logger

  if Code.ensure_loaded?(Horde.DistributionStrategy) do
    @behaviour Horde.DistributionStrategy
  end

  @doc """
  `Horde.DistributionStrategy` callback: the member that runs `child_spec`,
  with the namespaces of `cpp_namespaces/0`.
  """
  def choose_node(child_spec, members) do
    namespaces = cpp_namespaces()
    warn_on_foreign_kinds(members, namespaces)
    choose_node(child_spec, members, namespaces)
  end

  @doc """
  The placement with explicit namespaces (a pure function).

      iex> beam = %{name: {S, :"a@h"}, status: :alive}
      iex> cpp = %{name: {S, :"c@h"}, status: :alive, cpp_worker_kinds: [CppWorkers.Echo]}
      iex> spec = %{id: 1, start: {CppWorkers.Echo, :start_link, [:x]}}
      iex> HordeCnode.MixedDistribution.choose_node(spec, [beam, cpp], [CppWorkers])
      {:ok, %{name: {S, :"c@h"}, status: :alive, cpp_worker_kinds: [CppWorkers.Echo]}}
      iex> HordeCnode.MixedDistribution.choose_node(%{spec | start: {CppWorkers.Nope, :start_link, []}}, [beam, cpp], [CppWorkers])
      {:error, {:no_alive_nodes_providing, CppWorkers.Nope}}
  """
  def choose_node(child_spec, members, namespaces) do
    identifier = :erlang.phash2(Map.drop(child_spec, [:id]))

    case alive_group(child_spec, members, namespaces) do
      {:error, reason} ->
        {:error, reason}

      {:ok, group} ->
        chosen = group |> Map.keys() |> HordeCnode.HashRing.new() |> HordeCnode.HashRing.key_to_node(identifier)
        {:ok, Map.fetch!(group, chosen)}
    end
  end

  @doc """
  The alive members that may run `child_spec`, as a map name => member
  (`{:ok, group}`), or the error when there are none. Shared by the mixed
  strategies (`HordeCnode.MixedQuorumDistribution`, `HordeCnode.MixedRandomDistribution`).
  """
  def alive_group(child_spec, members, namespaces \\ cpp_namespaces()) do
    {candidates, no_candidates} =
      case cpp_module(child_spec, namespaces) do
        nil -> {Enum.filter(members, &beam_member?/1), :no_alive_nodes}
        module -> {Enum.filter(members, &provides?(&1, module)), {:no_alive_nodes_providing, module}}
      end

    candidates
    |> Enum.filter(&match?(%{status: :alive}, &1))
    |> Map.new(fn member -> {member.name, member} end)
    |> case do
      group when map_size(group) == 0 -> {:error, no_candidates}
      group -> {:ok, group}
    end
  end

  @doc "`Horde.DistributionStrategy` callback: always true (as for the uniform strategy)."
  def has_quorum?(_members), do: true

  @doc """
  The configured C++ namespaces (module atoms): `config :horde_cnode, cpp_namespaces: [...]`,
  default `[CppWorkers]`.
  """
  def cpp_namespaces, do: Application.get_env(:horde_cnode, :cpp_namespaces, [CppWorkers])

  @doc """
  True when `module` lies in a C++ namespace (so only C++ members run it): its
  name is a namespace followed by `.` and at least one more character.

      iex> HordeCnode.MixedDistribution.cpp_kind?(CppWorkers.Counter)
      true
      iex> HordeCnode.MixedDistribution.cpp_kind?(MyApp.Worker)
      false
  """
  def cpp_kind?(module, namespaces \\ cpp_namespaces())

  def cpp_kind?(module, namespaces) when is_atom(module) do
    text = Atom.to_string(module)

    Enum.any?(namespaces, fn ns ->
      prefix = Atom.to_string(ns) <> "."
      byte_size(text) > byte_size(prefix) and String.starts_with?(text, prefix)
    end)
  end

  def cpp_kind?(_, _), do: false

  defp cpp_module(%{start: {module, _fun, _args}}, namespaces) when is_atom(module) do
    if cpp_kind?(module, namespaces), do: module, else: nil
  end

  defp cpp_module(_, _), do: nil

  defp beam_member?(member), do: not Map.has_key?(member, :cpp_worker_kinds)

  defp provides?(%{cpp_worker_kinds: kinds}, module) when is_list(kinds), do: module in kinds
  defp provides?(_, _), do: false

  # A C++ member advertising a kind outside our namespaces means the two sides
  # disagree: we would place that kind on BEAM members. Logged once per kind
  # and member.
  defp warn_on_foreign_kinds(members, namespaces) do
    for %{cpp_worker_kinds: kinds, name: name} <- members,
        is_list(kinds),
        kind <- kinds,
        not cpp_kind?(kind, namespaces) do
      key = {__MODULE__, :foreign_kind, name, kind}

      if :persistent_term.get(key, false) == false do
        :persistent_term.put(key, true)

        Logger.warning(
          "HordeCnode.MixedDistribution: C++ member #{inspect(name)} provides #{inspect(kind)}, " <>
            "which is outside the configured cpp_namespaces #{inspect(namespaces)}; such children " <>
            "will be placed on BEAM members. Configure the same namespaces on every node " <>
            "(config :horde_cnode, cpp_namespaces: [...] and --cpp-namespace on C++ nodes)."
        )
      end
    end

    :ok
  end
end
