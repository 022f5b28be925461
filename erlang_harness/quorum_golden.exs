# Records decisions of the REAL Horde 0.10.0 Horde.UniformQuorumDistribution
# as test data for test/horde/distribution_strategy_test.cpp:
#
#   ERL_LIBS=/path/to/horde/deps elixir erlang_harness/quorum_golden.exs OUT_DIR
#
# Writes OUT_DIR/quorum_distribution_golden.etf: term_to_binary of a list of
# {ChildSpec, [Member], HasQuorum :: boolean() | nil, ChooseNodeResult}.
# Member sets are small (0..8, so even counts and 1-1 splits are frequent),
# with statuses alive / dead / shutting_down / uninitialized, sometimes all
# shutting down, sometimes with duplicate names. Deterministic: seeded :rand.
[out_dir] = System.argv()
unless Code.ensure_loaded?(Horde.UniformQuorumDistribution) do
  IO.puts(:stderr, "Horde not in ERL_LIBS")
  System.halt(77)
end
Application.load(:libring); Application.load(:horde)
:rand.seed(:exsss, {20261201, 14, 2})

rand_name = fn ->
  len = 1 + :rand.uniform(6)
  s = for _ <- 1..len, into: "", do: <<Enum.random(~c"abcdefghijklmnopqrstuvwxyz0123456789_")>>
  :"#{s}@127.0.0.#{:rand.uniform(3)}"
end
statuses = [:alive, :alive, :alive, :dead, :dead, :shutting_down, :uninitialized]

cases =
  for i <- 1..1000 do
    sup = :"Elixir.QuorumSup#{rem(i, 2)}"
    n = :rand.uniform(9) - 1
    names = for _ <- 1..n//1, do: {sup, rand_name.()}
    names = if n > 1 and rem(i, 10) == 0, do: [hd(names) | names], else: names
    all_down = rem(i, 17) == 0
    members =
      for name <- names,
          do: %Horde.DynamicSupervisor.Member{name: name, status: if(all_down, do: :shutting_down, else: Enum.random(statuses))}
    spec = %{id: i, start: {Enum.random([MyApp.Worker, CppWorkers.Echo]), :start_link, [:rand.uniform(1000)]}}
    {spec, members, Horde.UniformQuorumDistribution.has_quorum?(members),
     Horde.UniformQuorumDistribution.choose_node(spec, members)}
  end

File.write!(Path.join(out_dir, "quorum_distribution_golden.etf"), :erlang.term_to_binary(cases))
IO.puts("wrote #{length(cases)} cases to #{out_dir}")
