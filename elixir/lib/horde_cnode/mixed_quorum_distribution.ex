defmodule HordeCnode.MixedQuorumDistribution do
  @moduledoc """
  `HordeCnode.MixedDistribution` with the quorum of
  `Horde.UniformQuorumDistribution`: without quorum over all members (a
  netsplit minority) nothing is placed (`{:error, :quorum_not_met}`) and a
  member that loses quorum shuts its children down, as Horde does; with
  quorum, C++ kinds go to the C++ members providing them and everything else
  to BEAM members, on the ring of the group.

  C++ nodes: `--distribution mixed_quorum`. All members must use the same strategy.
  """
  if Code.ensure_loaded?(Horde.DistributionStrategy) do
    @behaviour Horde.DistributionStrategy
  end

  @impl true
  def choose_node(child_spec, members) do
    if has_quorum?(members) do
      HordeCnode.MixedDistribution.choose_node(child_spec, members)
    else
      {:error, :quorum_not_met}
    end
  end

  @impl true
  def has_quorum?(members), do: Horde.UniformQuorumDistribution.has_quorum?(members)
end
