# Records the placements HordeCnode.MixedDistribution must make, computed with
# the REAL Horde 0.10.0 / libring 1.7 (not with either implementation of the
# strategy), as test data shared by the C++ test (test/horde/hash_ring_test.cpp)
# and the Elixir test (elixir/test/horde_cnode/mixed_distribution_test.exs).
#
#   ERL_LIBS=/path/to/horde/deps elixir erlang_harness/mixed_distribution_golden.exs OUT_DIR
#
# Writes OUT_DIR/mixed_distribution_golden.etf: term_to_binary of a list of
# {Namespaces, ChildSpec, [Member], Expected}. The expected value follows the
# strategy's definition (horde/mixed_distribution.hpp), with the owner picked
# by Horde.UniformDistribution itself inside the candidate group:
#   C++ child (start module M in a namespace: its text is "Ns." followed by at
#   least one character): candidates = members whose cpp_worker_kinds hold M;
#   Uniform's {:error, :no_alive_nodes} becomes {:error, {:no_alive_nodes_providing, M}}
#   any other child: candidates = members without :cpp_worker_kinds.
# Deterministic: seeded :rand.
[out_dir] = System.argv()

unless Code.ensure_loaded?(Horde.UniformDistribution) and Code.ensure_loaded?(HashRing) do
  IO.puts(:stderr, "libring/Horde not in ERL_LIBS")
  System.halt(77)
end

:rand.seed(:exsss, {20261201, 12, 1})

rand_name = fn prefix ->
  len = 3 + :rand.uniform(10)
  s = for _ <- 1..len, into: "", do: <<Enum.random(~c"abcdefghijklmnopqrstuvwxyz0123456789_")>>
  :"#{prefix}#{s}@127.0.0.#{:rand.uniform(3)}"
end

namespace_sets = [[CppWorkers], [CppWorkers], [CppWorkers, MyCpp], [MyCpp], []]
kinds = [CppWorkers.Counter, CppWorkers.Echo, MyCpp.Thing, MyCpp.Deep.Kind]
modules = kinds ++ [CppWorkers.Nope, MyApp.Worker, :gen_server_mod, CppWorkersX.Foo, CppWorkers, :"Elixir.CppWorkers."]
statuses = [:alive, :alive, :alive, :uninitialized, :shutting_down, :dead]

rand_arg = fn
  0 -> :rand.uniform(1000)
  1 -> "arg#{:rand.uniform(1000)}"
  2 -> {:k, :rand.uniform(100), [1.5, :x]}
  3 -> %{name: "w#{:rand.uniform(50)}", n: :rand.uniform(9)}
end

cpp_child? = fn module, namespaces ->
  is_atom(module) and
    Enum.any?(namespaces, fn ns ->
      prefix = Atom.to_string(ns) <> "."
      text = Atom.to_string(module)
      String.starts_with?(text, prefix) and byte_size(text) > byte_size(prefix)
    end)
end

start_module = fn
  %{start: {m, _f, _a}} when is_atom(m) -> m
  _ -> nil
end

rows =
  for i <- 1..800 do
    namespaces = Enum.random(namespace_sets)
    mod = Enum.random(modules)
    start =
      case rem(i, 17) do
        0 -> {mod, :start_link}
        _ -> {mod, :start_link, [rand_arg.(rem(i, 4))]}
      end
    spec = %{id: Enum.random([mod, i, {:w, i}]), start: start}
    spec = if rem(i, 3) == 0, do: Map.put(spec, :restart, Enum.random([:permanent, :transient, :temporary])), else: spec
    spec = if rem(i, 5) == 0, do: Map.merge(spec, %{shutdown: 1000, type: :worker}), else: spec
    sup = :"Elixir.GoldenSup#{rem(i, 3)}"

    members =
      for _ <- 0..:rand.uniform(7) do
        member = %Horde.DynamicSupervisor.Member{name: {sup, rand_name.("m")}, status: Enum.random(statuses)}
        if :rand.uniform(2) == 1 do
          provided = kinds |> Enum.filter(fn _ -> :rand.uniform(2) == 1 end) |> Enum.sort()
          Map.put(member, :cpp_worker_kinds, provided)
        else
          member
        end
      end

    module = start_module.(spec)
    expected =
      if cpp_child?.(module, namespaces) do
        group = Enum.filter(members, fn m -> module in Map.get(m, :cpp_worker_kinds, []) end)
        case Horde.UniformDistribution.choose_node(spec, group) do
          {:error, :no_alive_nodes} -> {:error, {:no_alive_nodes_providing, module}}
          ok -> ok
        end
      else
        group = Enum.reject(members, &Map.has_key?(&1, :cpp_worker_kinds))
        Horde.UniformDistribution.choose_node(spec, group)
      end

    {namespaces, spec, members, expected}
  end

File.write!(Path.join(out_dir, "mixed_distribution_golden.etf"), :erlang.term_to_binary(rows))
counts = Enum.frequencies_by(rows, fn {_, _, _, r} -> elem(r, 0) end)
IO.puts("wrote #{out_dir}/mixed_distribution_golden.etf: #{length(rows)} cases #{inspect(counts)}")
