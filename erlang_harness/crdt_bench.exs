# BEAM side of bench/crdt_bench.cpp: the real DeltaCrdt 0.6.4 (from ERL_LIBS)
# joining the same Horde-shaped state slices, sent as the {:diff, slice, keys}
# messages a neighbour sends, and the process memory per key afterwards.
#
#   elixir erlang_harness/crdt_bench.exs [Keys] [Batch]
#
# Prints lines starting with "beam " for the C++ bench to show side by side.
{:ok, _} = Application.ensure_all_started(:delta_crdt)
Logger.configure(level: :warning)

[n, batch] =
  case System.argv() do
    [a, b | _] -> [String.to_integer(a), String.to_integer(b)]
    [a] -> [String.to_integer(a), 1000]
    [] -> [100_000, 1000]
  end

# No neighbours, so no sync traffic; a long interval keeps timers quiet.
{:ok, crdt} = DeltaCrdt.start_link(DeltaCrdt.AWLWWMap, sync_interval: 3_600_000)

node_id = 777
reg = {:"Elixir.Bench.Registry", :"bench@127.0.0.1"}
owner = self()
origin = -576_460_752_303_423_488

batches =
  for b <- 0..(div(n, batch) - 1) do
    first = b * batch
    keys = for i <- first..(first + batch - 1), do: {:key, "name-#{i}"}

    value =
      keys
      |> Enum.with_index(first)
      |> Map.new(fn {k, i} -> {k, %{{{reg, owner, nil}, origin + i} => MapSet.new([{node_id, i + 1}])}} end)

    {%DeltaCrdt.AWLWWMap{dots: %{node_id => first + batch}, value: value}, keys}
  end

:erlang.garbage_collect(crdt)
{:memory, m0} = Process.info(crdt, :memory)
t0 = System.monotonic_time(:microsecond)
Enum.each(batches, fn {slice, keys} -> send(crdt, {:diff, slice, keys}) end)
%{} = GenServer.call(crdt, {:read, []}, :infinity)
t1 = System.monotonic_time(:microsecond)
:erlang.garbage_collect(crdt)
{:memory, m1} = Process.info(crdt, :memory)
secs = (t1 - t0) / 1.0e6
IO.puts("beam join: #{n} keys in #{Float.round(secs * 1000, 1)} ms = #{round(n / secs)} keys/s")
IO.puts("beam memory: #{div(m1 - m0, n)} bytes/key (process_info memory after GC, #{n} keys)")
