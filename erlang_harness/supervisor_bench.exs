# BEAM side of bench/supervisor_bench.cpp (loaded by supervisor_peer.exs;
# called through `:sup_harness` as {:bench, fun, args}). Times are measured
# here, on the calling BEAM node, in microseconds.
defmodule HordeCnodeBench do
  @doc "Sequential start_child latencies (us) for `specs`; {latencies, errors}."
  def latency(sup, specs) do
    Enum.reduce(specs, {[], 0}, fn spec, {acc, errs} ->
      t0 = System.monotonic_time(:microsecond)
      r = Horde.DynamicSupervisor.start_child(sup, spec)
      dt = System.monotonic_time(:microsecond) - t0
      case r do
        {:ok, _} -> {[dt | acc], errs}
        _ -> {acc, errs + 1}
      end
    end)
    |> then(fn {l, e} -> {Enum.reverse(l), e} end)
  end

  @doc "`concurrency` callers share `specs`; {elapsed_us, ok_count}."
  def throughput(sup, specs, concurrency) do
    chunks = Enum.chunk_every(specs, max(1, div(length(specs) + concurrency - 1, concurrency)))
    t0 = System.monotonic_time(:microsecond)
    oks =
      chunks
      |> Enum.map(fn chunk ->
        Task.async(fn -> Enum.count(chunk, &match?({:ok, _}, Horde.DynamicSupervisor.start_child(sup, &1))) end)
      end)
      |> Enum.map(&Task.await(&1, :infinity))
      |> Enum.sum()
    {System.monotonic_time(:microsecond) - t0, oks}
  end

  @doc """
  Polls (every 2 ms) until all `n` children are registered on members other
  than `dead_node` and `count_children` reports `n` active; returns the
  elapsed microseconds since the call (the caller kills just before), or
  {:timeout, seen} after `timeout_ms`.
  """
  def wait_failover(sup, dead_node, n, timeout_ms) do
    t0 = System.monotonic_time(:microsecond)
    deadline = t0 + timeout_ms * 1000
    loop = fn loop ->
      entries = for {{:process, _}, {{_, node}, _, _}} <- DeltaCrdt.to_map(:"#{sup}.Crdt"), do: node
      done? = length(entries) == n and not Enum.member?(entries, dead_node) and active(sup) == n
      now = System.monotonic_time(:microsecond)
      cond do
        done? -> now - t0
        now > deadline -> {:timeout, length(entries), Enum.count(entries, &(&1 == dead_node))}
        true -> Process.sleep(2); loop.(loop)
      end
    end
    loop.(loop)
  end

  defp active(sup) do
    case Horde.DynamicSupervisor.count_children(sup) do
      %{active: a} -> a
      _ -> 0
    end
  end

  @doc "Total VM memory (bytes) after a full GC of every process."
  def memory_after_gc do
    for p <- Process.list(), do: :erlang.garbage_collect(p)
    :erlang.memory(:total)
  end

  @doc "Starts `n` children from `spec_fun` locally; {elapsed_us, ok_count}."
  def start_local(sup, module, n) do
    t0 = System.monotonic_time(:microsecond)
    oks = Enum.count(1..n, fn i ->
      match?({:ok, _}, Horde.DynamicSupervisor.start_child(sup, %{id: i, start: {module, :start_link, [i]}}))
    end)
    {System.monotonic_time(:microsecond) - t0, oks}
  end
end
