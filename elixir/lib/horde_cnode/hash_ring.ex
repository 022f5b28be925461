defmodule HordeCnode.HashRing do
  @moduledoc """
  A consistent-hash ring with exactly the semantics of libring 1.7's `HashRing`,
  which `Horde.UniformDistribution` (and so `HordeCnode.MixedDistribution`)
  builds for every placement decision.

  It is a copy of libring's algorithm on plain OTP (`:gb_trees`,
  `:erlang.phash2/2`), so the placement can be computed, and tested, without
  libring or Horde loaded. It is checked against golden data recorded from the
  real libring (`test/horde/data/hash_ring_golden.txt`, shared with the C++
  implementation `horde/hash_ring.hpp`).

    * each node gets 128 points, point `i` being `:erlang.phash2({node, i}, 4294967295)`;
    * a point already taken keeps its first owner (so on a collision the node
      added first wins);
    * a key is hashed with `:erlang.phash2(key, 4294967295)` (an atom key as
      its `term_to_binary/1`), and belongs to the node of the first point at or
      above the hash, wrapping around to the smallest point.

  ## Example

      iex> ring = HordeCnode.HashRing.new([:a, :b, :c])
      iex> HordeCnode.HashRing.key_to_node(ring, 42) in [:a, :b, :c]
      true
      iex> HordeCnode.HashRing.key_to_node(HordeCnode.HashRing.new(), 42)
      {:error, {:invalid_ring, :no_nodes}}
  """

  @hash_range 4_294_967_295
  @weight 128

  defstruct ring: :gb_trees.empty(), nodes: []

  @type t :: %__MODULE__{ring: :gb_trees.tree(), nodes: [term()]}

  @doc "A ring holding `nodes`, added in the given order (libring's `add_nodes/2`)."
  @spec new([term()]) :: t()
  def new(nodes \\ []), do: add_nodes(%__MODULE__{}, nodes)

  @doc "Adds `nodes` in order; a node already present is ignored."
  @spec add_nodes(t(), [term()]) :: t()
  def add_nodes(ring, nodes), do: Enum.reduce(nodes, ring, &add_node(&2, &1))

  @doc "Adds one node with 128 points; ignored when already present."
  @spec add_node(t(), term()) :: t()
  def add_node(%__MODULE__{nodes: nodes, ring: tree} = ring, node) do
    if node in nodes do
      ring
    else
      tree =
        Enum.reduce(1..@weight, tree, fn i, acc ->
          point = :erlang.phash2({node, i}, @hash_range)
          if :gb_trees.is_defined(point, acc), do: acc, else: :gb_trees.insert(point, node, acc)
        end)

      %{ring | nodes: [node | nodes], ring: tree}
    end
  end

  @doc "The owner of `key`, or `{:error, {:invalid_ring, :no_nodes}}` for an empty ring."
  @spec key_to_node(t(), term()) :: term() | {:error, {:invalid_ring, :no_nodes}}
  def key_to_node(%__MODULE__{nodes: []}, _key), do: {:error, {:invalid_ring, :no_nodes}}
  def key_to_node(ring, key) when is_atom(key), do: key_to_node(ring, :erlang.term_to_binary(key))

  def key_to_node(%__MODULE__{ring: tree}, key) do
    hash = :erlang.phash2(key, @hash_range)

    case :gb_trees.next(:gb_trees.iterator_from(hash, tree)) do
      {_point, node, _iter} -> node
      :none -> elem(:gb_trees.smallest(tree), 1)
    end
  end

  @doc "The ring's points as `{point, node}` in point order."
  @spec points(t()) :: [{non_neg_integer(), term()}]
  def points(%__MODULE__{ring: tree}), do: :gb_trees.to_list(tree)
end
