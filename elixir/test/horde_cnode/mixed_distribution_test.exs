defmodule HordeCnode.MixedDistributionTest do
  # The strategy's placement against data recorded from the real Horde 0.10.0
  # (test/horde/data/), the same files the C++ implementation
  # (horde/mixed_distribution.hpp) is checked against in test/horde/hash_ring_test.cpp.
  # Pure: no Horde needed, except for the live comparison tagged :horde.
  use ExUnit.Case, async: false
  import ExUnit.CaptureLog
  import Bitwise
  alias HordeCnode.MixedDistribution
  alias HordeCnode.TestSupport

  doctest HordeCnode.MixedDistribution

  # libring and Horde, for the live comparison (tagged :horde, excluded without them).
  @compile {:no_warn_undefined, [HashRing, Horde.UniformDistribution]}

  defp read_etf(name), do: name |> TestSupport.data_file() |> File.read!() |> :erlang.binary_to_term()

  test "mixed golden: every decision of the shared golden cases (computed with the real Horde per group)" do
    rows = read_etf("mixed_distribution_golden.etf")
    assert length(rows) == 800

    for {{namespaces, spec, members, expected}, i} <- Enum.with_index(rows) do
      assert MixedDistribution.choose_node(spec, members, namespaces) == expected,
             "case #{i}: #{inspect(spec)} #{inspect(namespaces)}"
    end

    errors = Enum.count(rows, &match?({_, _, _, {:error, _}}, &1))
    assert errors > 100 and errors < 700
  end

  test "uniform golden: with BEAM members only, Elixir children go exactly where Horde.UniformDistribution puts them" do
    rows = read_etf("uniform_distribution_golden.etf")
    assert length(rows) == 1000

    for {spec, members, uniform} <- rows do
      %{start: {module, _, _}} = spec

      expected =
        if MixedDistribution.cpp_kind?(module, [CppWorkers]),
          do: {:error, {:no_alive_nodes_providing, module}},
          else: uniform

      assert MixedDistribution.choose_node(spec, members, [CppWorkers]) == expected
      # With no C++ namespace at all the strategy is the uniform one.
      assert MixedDistribution.choose_node(spec, members, []) == uniform
    end
  end

  test "C++ children go to members providing the kind; when every member provides it, exactly as uniform" do
    rows = read_etf("uniform_distribution_golden.etf")
    kinds = [CppWorkers.Counter, CppWorkers.Echo]

    for {%{start: {module, _, _}} = spec, members, uniform} <- rows, module in kinds do
      cpp_members = Enum.map(members, &Map.put(&1, :cpp_worker_kinds, kinds))

      expected =
        case uniform do
          {:ok, m} -> {:ok, Map.put(m, :cpp_worker_kinds, kinds)}
          {:error, :no_alive_nodes} -> {:error, {:no_alive_nodes_providing, module}}
        end

      assert MixedDistribution.choose_node(spec, cpp_members, [CppWorkers]) == expected
    end
  end

  test "namespace membership needs the dot and at least one more character" do
    assert MixedDistribution.cpp_kind?(CppWorkers.Counter, [CppWorkers])
    assert MixedDistribution.cpp_kind?(MyCpp.Deep.Kind, [CppWorkers, MyCpp])
    refute MixedDistribution.cpp_kind?(CppWorkers, [CppWorkers])
    refute MixedDistribution.cpp_kind?(:"Elixir.CppWorkers.", [CppWorkers])
    refute MixedDistribution.cpp_kind?(CppWorkersX.Foo, [CppWorkers])
    refute MixedDistribution.cpp_kind?("CppWorkers.Counter", [CppWorkers])
  end

  test "the namespaces come from the application config" do
    assert MixedDistribution.cpp_namespaces() == [CppWorkers]
    Application.put_env(:horde_cnode, :cpp_namespaces, [MyCpp])

    try do
      cpp = %{name: {S, :c@h}, status: :alive, cpp_worker_kinds: [MyCpp.Thing]}
      spec = %{id: 1, start: {MyCpp.Thing, :start_link, [1]}}
      capture_log(fn -> assert {:ok, ^cpp} = MixedDistribution.choose_node(spec, [cpp]) end)
    after
      Application.put_env(:horde_cnode, :cpp_namespaces, [CppWorkers])
    end
  end

  test "a C++ member advertising a kind outside the configured namespaces is logged once" do
    member = %{
      name: {S, :"foreign_#{System.unique_integer([:positive])}@h"},
      status: :alive,
      cpp_worker_kinds: [Other.Kind]
    }

    beam = %{name: {S, :b@h}, status: :alive}
    spec = %{id: 1, start: {Other.Kind, :start_link, [1]}}

    log = capture_log(fn -> assert {:ok, ^beam} = MixedDistribution.choose_node(spec, [member, beam]) end)
    assert log =~ "provides Other.Kind, which is outside the configured cpp_namespaces [CppWorkers]"
    assert capture_log(fn -> MixedDistribution.choose_node(spec, [member, beam]) end) == ""
  end

  @tag :horde
  test "live, against Horde.UniformDistribution itself: random specs and member sets" do
    :rand.seed(:exsss, {12, 12, 12})

    for i <- 1..500 do
      members =
        for j <- 0..:rand.uniform(9),
            do: %{
              __struct__: Horde.DynamicSupervisor.Member,
              name: {LiveSup, :"m#{i}_#{j}_#{:rand.uniform(1000)}@127.0.0.1"},
              status: Enum.random([:alive, :alive, :dead, :shutting_down])
            }

      spec = %{id: i, start: {MyApp.Worker, :start_link, [:rand.uniform(100_000)]}, restart: :transient}

      assert MixedDistribution.choose_node(spec, members, [CppWorkers]) ==
               Horde.UniformDistribution.choose_node(spec, members)

      ring = HashRing.new() |> HashRing.add_nodes(Enum.map(members, & &1.name))
      mine = HordeCnode.HashRing.new(Enum.map(members, & &1.name))
      key = :rand.uniform(1 <<< 40)
      assert HordeCnode.HashRing.key_to_node(mine, key) == HashRing.key_to_node(ring, key)
    end
  end
end
