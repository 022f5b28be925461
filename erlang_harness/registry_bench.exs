# BEAM side of bench/registry_bench.cpp: a node with real Horde and the
# `:registry_bench` server, through which the C++ bench starts registries,
# registers names and measures what the BEAM sees (all times are
# :os.system_time(:microsecond), comparable with the C++ side's system clock
# because both run on one host).
#
#   ERL_LIBS=/work/erl_libs elixir --name b@127.0.0.1 --cookie C erlang_harness/registry_bench.exs
#
# Prints "registry_bench ready" and halts when stdin closes.

defmodule RegistryBench do
  use GenServer

  def start_link(), do: GenServer.start(__MODULE__, nil, name: :registry_bench)
  def init(nil), do: {:ok, %{}}

  defp now_us(), do: :os.system_time(:microsecond)

  # A registrant that just waits (one process per name, as an app would have).
  defp idle(), do: spawn(fn -> receive do: (:stop -> :ok) end)

  # {start, Reg, MemberNodes, SyncMs}: Horde.Registry with explicit members.
  def handle_call({:start, reg, nodes, sync_ms}, _from, state) do
    parent = self()

    spawn(fn ->
      r =
        Horde.Registry.start_link(
          name: reg,
          keys: :unique,
          members: Enum.map(nodes, &{reg, &1}),
          delta_crdt_options: [sync_interval: sync_ms]
        )

      send(parent, {:started, r})
      Process.flag(:trap_exit, true)
      receive do: (:never -> :ok)
    end)

    receive do
      {:started, {:ok, _}} -> {:reply, :ok, state}
      {:started, other} -> {:reply, {:error, other}, state}
    end
  end

  # {register_many, Reg, Prefix, N}: spawns N processes (untimed), then
  # registers "Prefix<i>" for each with the registry's call (what
  # Horde.Registry.register/3 and via-tuples do). -> {ok, StartUs, EndUs}
  def handle_call({:register_many, reg, prefix, n}, _from, state) do
    pids = for _ <- 1..n, do: idle()
    :erlang.garbage_collect()
    t0 = now_us()

    Enum.with_index(pids, fn pid, i ->
      {:ok, _} = GenServer.call(reg, {:register, prefix <> Integer.to_string(i), nil, pid}, :infinity)
    end)

    {:reply, {:ok, t0, now_us()}, state}
  end

  # {register_one, Reg, Key} -> {ok, UsBeforeTheCall}
  def handle_call({:register_one, reg, key}, _from, state) do
    pid = idle()
    t0 = now_us()
    {:ok, _} = GenServer.call(reg, {:register, key, nil, pid}, :infinity)
    {:reply, {:ok, t0}, state}
  end

  # {await_count, Reg, N, TimeoutMs} -> {ok, UsWhenReached} | timeout
  def handle_call({:await_count, reg, n, timeout}, _from, state) do
    deadline = now_us() + timeout * 1000
    {:reply, await(fn -> :ets.info(:"keys_#{reg}", :size) >= n end, deadline, 1000), state}
  end

  # {await_key, Reg, Key, TimeoutMs} -> {ok, UsWhenSeen} | timeout (reads the
  # keys table directly, as lookup does before its liveness check).
  def handle_call({:await_key, reg, key, timeout}, _from, state) do
    deadline = now_us() + timeout * 1000
    {:reply, await(fn -> :ets.lookup(:"keys_#{reg}", key) != [] end, deadline, 1000), state}
  end

  # {memory} -> bytes (after a GC of every process)
  def handle_call({:memory}, _from, state) do
    for p <- Process.list(), do: :erlang.garbage_collect(p)
    {:reply, :erlang.memory(:total), state}
  end

  # {lookup_rate, Reg, Prefix, N, Iterations} -> lookups per second
  def handle_call({:lookup_rate, reg, prefix, n, iterations}, _from, state) do
    keys = for i <- 0..(n - 1), do: prefix <> Integer.to_string(i)
    keys = List.to_tuple(keys)
    t0 = now_us()

    for i <- 1..iterations do
      [_] = Horde.Registry.lookup(reg, elem(keys, rem(i * 7919, n)))
    end

    {:reply, iterations * 1_000_000 / max(now_us() - t0, 1), state}
  end

  def handle_call({:count, reg}, _from, state), do: {:reply, Horde.Registry.count(reg), state}

  # {os_stats} -> {CpuMs, PeakRssKb, RssKb} of this OS process (every
  # scheduler and dirty thread), read from /proc as for the C++ node.
  def handle_call({:os_stats}, _from, state) do
    [_, rest] = String.split(File.read!("/proc/self/stat"), ") ", parts: 2)
    fields = String.split(rest)
    # utime, stime: fields 14 and 15 of stat(5), 12 and 13 after "pid (comm) "
    ticks = String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))
    status = File.read!("/proc/self/status")
    kb = fn key -> String.to_integer(hd(Regex.run(~r/#{key}:\s+(\d+)/, status, capture: :all_but_first))) end
    # clock ticks are 10 ms (CLK_TCK 100 on Linux)
    {:reply, {ticks * 10, kb.("VmHWM"), kb.("VmRSS")}, state}
  end

  defp await(check, deadline, sleep_us) do
    cond do
      check.() -> {:ok, now_us()}
      now_us() > deadline -> :timeout
      true ->
        if sleep_us > 0, do: Process.sleep(div(sleep_us, 1000))
        await(check, deadline, sleep_us)
    end
  end
end

Logger.configure(level: :warning)
{:ok, _} = Application.ensure_all_started(:horde)
{:ok, _} = RegistryBench.start_link()
IO.puts("registry_bench ready #{node()}")
IO.read(:stdio, :line)
System.halt(0)
