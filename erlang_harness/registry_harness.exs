# Test harness for BEAM nodes running a real Horde.Registry (loaded with
# Code.require_file into a test's BEAM node, or by registry_node.exs).
#
# RegistryDriver.start(Registry, Members, SyncMs) starts
#   Horde.Registry (name: Registry, keys: :unique, members: Members,
#   delta_crdt_options: [sync_interval: SyncMs]), unlinked from the caller,
# and the gen_server `:registry_driver` through which the C++ tests act on
# the node with typed terms (calls listed in RegistryDriver below).

defmodule RegistryDriver.Registrant do
  # A process that registers itself, answers GenServer.call(Pid, X) with X
  # (like the C++ echo process), and runs functions on request so that
  # Horde.Registry calls that use self() (unregister, update_value) run in it.
  def start(registry, key, value) do
    parent = self()

    pid =
      spawn(fn ->
        result = Horde.Registry.register(registry, key, value)
        send(parent, {:registered, self(), result})
        loop()
      end)

    receive do
      {:registered, ^pid, result} -> {result, pid}
    after
      5000 -> {{:error, :timeout}, pid}
    end
  end

  def start_idle() do
    spawn(fn -> loop() end)
  end

  def loop() do
    receive do
      {:"$gen_call", from, :stop} ->
        GenServer.reply(from, :ok)
        exit(:normal)

      {:"$gen_call", from, msg} ->
        GenServer.reply(from, msg)
        loop()

      {:run, fun, from} ->
        send(from, {:ran, self(), fun.()})
        loop()

      {from, msg} when is_pid(from) ->
        send(from, msg)
        loop()

      _ ->
        loop()
    end
  end

  def run(pid, fun) do
    send(pid, {:run, fun, self()})

    receive do
      {:ran, ^pid, result} -> result
    after
      5000 -> {:error, :timeout}
    end
  end
end

defmodule RegistryDriver do
  use GenServer

  def start_link(_), do: GenServer.start(__MODULE__, nil, name: :registry_driver)

  def init(nil), do: {:ok, %{downs: %{}}}

  defp safely(fun) do
    try do
      {:ok, fun.()}
    catch
      kind, reason -> {:error, {kind, reason}}
    end
  end

  # {register, Reg, Key, Value} -> {Result, Pid}: a fresh process registers itself.
  def handle_call({:register, reg, key, value}, _from, state) do
    {result, pid} = RegistryDriver.Registrant.start(reg, key, value)
    Process.monitor(pid)
    {:reply, {result, pid}, state}
  end

  # {register_via, Reg, Key} -> {ok, Pid} | error: GenServer-style via-tuple registration.
  def handle_call({:register_via, reg, key}, _from, state) do
    pid = RegistryDriver.Registrant.start_idle()
    Process.monitor(pid)
    # GenServer.call's 5 s timeout (a loaded machine) is an answer, not a
    # crash of the driver: the request stays queued at the registry and is
    # served later, so the caller keeps the process alive and tracked.
    result =
      try do
        Horde.Registry.register_name({reg, key}, pid)
      catch
        :exit, {:timeout, _} -> {:error, :timeout}
      end

    {:reply, {result, pid}, state}
  end

  def handle_call({:registrant_run, pid, {:unregister, reg, key}}, _from, state) do
    {:reply, RegistryDriver.Registrant.run(pid, fn -> Horde.Registry.unregister(reg, key) end), state}
  end

  def handle_call({:registrant_run, pid, {:update_value, reg, key, value}}, _from, state) do
    {:reply,
     RegistryDriver.Registrant.run(pid, fn ->
       Horde.Registry.update_value(reg, key, fn _ -> value end)
     end), state}
  end

  def handle_call({:lookup, reg, key}, _from, state),
    do: {:reply, safely(fn -> Horde.Registry.lookup(reg, key) end), state}

  def handle_call({:whereis, reg, key}, _from, state),
    do: {:reply, safely(fn -> GenServer.whereis({:via, Horde.Registry, {reg, key}}) end), state}

  def handle_call({:via_call, reg, key, msg}, _from, state),
    do: {:reply, safely(fn -> GenServer.call({:via, Horde.Registry, {reg, key}}, msg, 2000) end), state}

  def handle_call({:count, reg}, _from, state), do: {:reply, Horde.Registry.count(reg), state}

  def handle_call({:select, reg, spec}, _from, state),
    do: {:reply, safely(fn -> Horde.Registry.select(reg, spec) end), state}

  def handle_call({:keys, reg, pid}, _from, state), do: {:reply, Horde.Registry.keys(reg, pid), state}

  def handle_call({:meta, reg, key}, _from, state), do: {:reply, Horde.Registry.meta(reg, key), state}

  def handle_call({:put_meta, reg, key, value}, _from, state),
    do: {:reply, Horde.Registry.put_meta(reg, key, value), state}

  def handle_call({:delete_meta, reg, key}, _from, state),
    do: {:reply, Horde.Registry.delete_meta(reg, key), state}

  def handle_call({:members, reg}, _from, state), do: {:reply, Horde.Cluster.members(reg), state}

  def handle_call({:set_members, reg, members}, _from, state),
    do: {:reply, safely(fn -> Horde.Cluster.set_members(reg, members) end), state}

  def handle_call({:kill, pid, reason}, _from, state) do
    Process.exit(pid, reason)
    {:reply, :ok, state}
  end

  # {down_reason, Pid} -> alive | {down, Reason}: how a registrant ended.
  def handle_call({:down_reason, pid}, _from, state) do
    case Map.fetch(state.downs, pid) do
      {:ok, reason} -> {:reply, {:down, reason}, state}
      :error -> {:reply, if(Process.alive?(pid), do: :alive, else: {:down, :unknown}), state}
    end
  end

  def handle_call(:nodes, _from, state), do: {:reply, {Node.list(), Node.list(:hidden)}, state}

  def handle_call({:connect, node}, _from, state), do: {:reply, Node.connect(node), state}

  def handle_call({:disconnect, node}, _from, state), do: {:reply, Node.disconnect(node), state}

  def handle_call({:ets_keys, reg}, _from, state),
    do: {:reply, :ets.tab2list(:"keys_#{reg}"), state}

  def handle_call({:stop_registry, reg}, _from, state) do
    {:reply, safely(fn -> Supervisor.stop(:"#{reg}.Supervisor") end), state}
  end

  def handle_call(:halt, _from, state) do
    spawn(fn ->
      Process.sleep(50)
      System.halt(0)
    end)

    {:reply, :ok, state}
  end

  def handle_call(other, _from, state), do: {:reply, {:error, {:unknown, other}}, state}

  def handle_info({:DOWN, _ref, :process, pid, reason}, state) do
    {:noreply, %{state | downs: Map.put(state.downs, pid, reason)}}
  end

  def handle_info(_, state), do: {:noreply, state}
end


defmodule RegistryDriver.Starter do
  def start(registry, members, sync_ms) do
    {:ok, _} = Application.ensure_all_started(:horde)
    parent = self()

    # Owned by a process that never exits, so the registry outlives the
    # caller (an rpc/eval process).
    spawn(fn ->
      result =
        Horde.Registry.start_link(
          name: registry,
          keys: :unique,
          members: members,
          delta_crdt_options: [sync_interval: sync_ms]
        )

      unless Process.whereis(:registry_driver), do: RegistryDriver.start_link(nil)
      send(parent, {:started, result})
      Process.flag(:trap_exit, true)

      receive do
        :never -> :ok
      end
    end)

    receive do
      {:started, {:ok, _}} -> :ok
      {:started, other} -> {:error, other}
    after
      10_000 -> {:error, :timeout}
    end
  end
end
