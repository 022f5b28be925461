defmodule HordeCnode.MixedRandomDistribution do
  @moduledoc """
  `HordeCnode.MixedDistribution`'s groups with the choice of
  `Horde.UniformRandomDistribution`: a uniformly random alive member of the
  child's group (C++ members providing its kind, or BEAM members). No quorum.
  Use a `proxy_message_ttl` as Horde advises for random placement.

  C++ nodes: `--distribution mixed_random`. All members must use the same strategy.
  """
  if Code.ensure_loaded?(Horde.DistributionStrategy) do
    @behaviour Horde.DistributionStrategy
  end

  @impl true
  def choose_node(child_spec, members) do
    case HordeCnode.MixedDistribution.alive_group(child_spec, members) do
      {:ok, group} -> {:ok, group |> Map.values() |> Enum.random()}
      error -> error
    end
  end

  @impl true
  def has_quorum?(_members), do: true
end
