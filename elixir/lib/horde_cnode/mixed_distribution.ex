defmodule HordeCnode.MixedDistribution do
  @moduledoc """
  A `Horde.DistributionStrategy` for Horde.DynamicSupervisor clusters that mix
  BEAM nodes and horde-cnode (C++) nodes.

  Under `Horde.UniformDistribution` any child may land on any member, so an
  Elixir child can be assigned to a C++ node (which cannot run it) and a C++
  worker kind to a BEAM node (which has no such module). This strategy keeps
  the two apart:

    * a child whose start module lies in a C++ namespace (default
      `CppWorkers`, i.e. `CppWorkers.Echo`, `CppWorkers.Counter`, ...) is placed
      only on alive members that advertise that module in their member info;
    * every other child is placed only on alive BEAM members;
    * inside each group the owner is chosen exactly as
      `Horde.UniformDistribution` does (libring hash ring of the group's member
      names, key `:erlang.phash2(Map.drop(child_spec, [:id]))`).

  The decision depends only on the child spec, the replicated member infos and
  static configuration, so every node (BEAM or C++) computes the same owner:

    * C++ members write `%Horde.DynamicSupervisor.Member{name: ..., status: ...,
      cpp_worker_kinds: [module]}` into the CRDT; BEAM members never carry
      `:cpp_worker_kinds`. Horde itself only matches `:name` and `:status`.
    * The namespaces are configuration and MUST be identical on every node:

          config :horde_cnode, cpp_namespaces: [CppWorkers]

      and `--cpp-namespace CppWorkers` on the C++ nodes (the default on both).

  Use it with

      Horde.DynamicSupervisor.start_link(
        name: MyApp.Sup, strategy: :one_for_one, members: :auto,
        distribution_strategy: HordeCnode.MixedDistribution)

  and the C++ nodes with `--distribution mixed`. All members of one supervisor
  must use the same strategy.
  """
  @behaviour Horde.DistributionStrategy

  @impl true
  def choose_node(child_spec, members) do
    identifier = :erlang.phash2(Map.drop(child_spec, [:id]))

    case alive_group(child_spec, members) do
      {:error, reason} ->
        {:error, reason}

      {:ok, group} ->
        chosen =
          HashRing.new()
          |> HashRing.add_nodes(Map.keys(group))
          |> HashRing.key_to_node(identifier)

        {:ok, Map.get(group, chosen)}
    end
  end

  @doc """
  The alive members that may run `child_spec`, as a map name => member
  (`{:ok, group}`), or the error when there are none. Shared by the mixed
  strategies (`HordeCnode.MixedQuorumDistribution`, `HordeCnode.MixedRandomDistribution`).
  """
  def alive_group(child_spec, members) do
    {candidates, no_candidates} =
      case cpp_module(child_spec) do
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

  @impl true
  def has_quorum?(_members), do: true

  @doc "The configured C++ namespaces (module atoms)."
  def cpp_namespaces, do: Application.get_env(:horde_cnode, :cpp_namespaces, [CppWorkers])

  @doc "True when `module` lies in a C++ namespace (so only C++ members run it)."
  def cpp_kind?(module) when is_atom(module) do
    text = Atom.to_string(module)
    Enum.any?(cpp_namespaces(), fn ns -> String.starts_with?(text, Atom.to_string(ns) <> ".") end)
  end

  def cpp_kind?(_), do: false

  defp cpp_module(%{start: {module, _fun, _args}}) when is_atom(module) do
    if cpp_kind?(module), do: module, else: nil
  end

  defp cpp_module(_), do: nil

  defp beam_member?(member), do: not Map.has_key?(member, :cpp_worker_kinds)

  defp provides?(%{cpp_worker_kinds: kinds}, module) when is_list(kinds), do: module in kinds
  defp provides?(_, _), do: false
end
