# The BEAM side of the examples' tests (test/examples/run-examples), also a
# reading aid for examples/*/README.md. Each mode prints `ok: ...` lines and
# exits 0, or raises.
#
#   elixir --name N@127.0.0.1 --cookie C examples_check.exs kv CPP_NODE
#   elixir ... examples_check.exs greeter CPP_NODE
#   elixir ... examples_check.exs stack CPP_NODE_1 CPP_NODE_2 CPP_OS_PID_1
#
# With Horde in ERL_LIBS the Elixir side uses real Horde (Horde.Registry
# members: :auto, {:via, Horde.Registry, ...}, Horde.DynamicSupervisor
# functions); without it, the same requests go through the plain
# gen_server calls (and the C++ node's horde_cnode control process).
[mode | args] = System.argv()
horde? = Code.ensure_loaded?(Horde.Registry)
registry = HordeCnode.Registry

defmodule Check do
  def wait_for(what, fun, timeout \\ 15_000) do
    deadline = System.monotonic_time(:millisecond) + timeout
    wait(what, fun, deadline)
  end

  defp wait(what, fun, deadline) do
    case fun.() do
      v when v in [nil, false] ->
        if System.monotonic_time(:millisecond) > deadline, do: raise("timed out waiting for #{what}")
        Process.sleep(50)
        wait(what, fun, deadline)

      v ->
        v
    end
  end

  def ok(label, value), do: IO.puts("ok: #{label}: #{inspect(value)}")
  def expect(label, expected, got) do
    if got != expected, do: raise("#{label}: expected #{inspect(expected)}, got #{inspect(got)}")
    ok(label, got)
  end
end

defmodule Check.Greeter do
  use GenServer
  def init({:plain, registry}) do
    {:ok, _} = GenServer.call(registry, {:register, "greeter", nil, self()})
    {:ok, nil}
  end

  def init({:horde, registry}) do
    {:ok, _} = Horde.Registry.register(registry, "greeter", nil)
    {:ok, nil}
  end

  def handle_call({:greet, who}, _from, s), do: {:reply, "hello, " <> who, s}
end

Logger.configure(level: :warning)
if horde?, do: {:ok, _} = Application.ensure_all_started(:horde)
IO.puts("horde: #{horde?}")

case mode do
  "kv" ->
    [cpp_text] = args
    cpp = String.to_atom(cpp_text)
    Check.wait_for("connect to #{cpp}", fn -> Node.connect(cpp) end)

    kv =
      if horde? do
        {:ok, _} = Horde.Registry.start_link(name: registry, keys: :unique, members: :auto)
        Check.wait_for("\"kv\" in Horde.Registry", fn -> Horde.Registry.lookup(registry, "kv") != [] end)
        {:via, Horde.Registry, {registry, "kv"}}
      else
        [{pid, nil}] = GenServer.call({:horde_cnode, cpp}, {:lookup, registry, "kv"})
        pid
      end

    Check.expect("put", :ok, GenServer.call(kv, {:put, :a, 1}))
    Check.expect("put", :ok, GenServer.call(kv, {:put, "b", %{x: [1, 2.5]}}))
    Check.expect("get", {:ok, 1}, GenServer.call(kv, {:get, :a}))
    Check.expect("get", {:ok, %{x: [1, 2.5]}}, GenServer.call(kv, {:get, "b"}))
    Check.expect("get missing", :not_found, GenServer.call(kv, {:get, :zz}))
    Check.expect("size", 2, GenServer.call(kv, :size))
    Check.expect("local name", {:ok, 1}, GenServer.call({:kv, cpp}, {:get, :a}))

  "greeter" ->
    [cpp_text] = args
    cpp = String.to_atom(cpp_text)
    Check.wait_for("connect to #{cpp}", fn -> Node.connect(cpp) end)

    if horde? do
      {:ok, _} = Horde.Registry.start_link(name: registry, keys: :unique, members: :auto)
      Check.wait_for("2 registry members", fn -> length(Horde.Cluster.members(registry)) == 2 end)
      # Horde.Registry.register/3 registers the caller: the greeter registers itself.
      {:ok, _} = GenServer.start(Check.Greeter, {:horde, registry})
    else
      # What Horde.Registry.register/3 sends to a registry: here straight to
      # the C++ node's registry process.
      {:ok, _} = GenServer.start(Check.Greeter, {:plain, {registry, cpp}})
    end

    ref = Process.monitor({:horde_cnode, cpp})
    # The C++ client prints the reply and stops (--once): its node goes down.
    receive do
      {:DOWN, ^ref, _, _, reason} -> Check.ok("C++ client node stopped", reason)
    after
      20_000 -> raise "the C++ client did not stop within 20 s"
    end

  "stack" ->
    [cpp1_text, cpp2_text, cpp1_os_pid] = args
    [cpp1, cpp2] = Enum.map([cpp1_text, cpp2_text], &String.to_atom/1)
    Enum.each([cpp1, cpp2], fn n -> Check.wait_for("connect to #{n}", fn -> Node.connect(n) end) end)
    sup1 = {HordeCnode.Supervisor, cpp1}
    sup2 = {HordeCnode.Supervisor, cpp2}
    members = fn sup -> GenServer.call(sup, :members) end
    both = fn sup -> Enum.all?([cpp1, cpp2], fn n -> {HordeCnode.Supervisor, n} in members.(sup) end) end
    Check.wait_for("both C++ supervisors in each other's members", fn -> both.(sup1) and both.(sup2) end)

    spec = %{id: :s1, start: {MyCpp.Stack, :start_link, [[1, 2]]}, restart: :permanent}
    start_child = fn sup, spec ->
      if horde?, do: Horde.DynamicSupervisor.start_child(sup, spec), else: GenServer.call(sup, {:start_child, spec})
    end
    which_children = fn sup ->
      if horde?, do: Horde.DynamicSupervisor.which_children(sup), else: GenServer.call(sup, :which_children)
    end

    # Start children until one lands on cpp1 (placement hashes the child id).
    pids =
      Enum.reduce_while(1..100, [], fn i, acc ->
        # Horde's uniform placement hashes the spec without its id: vary the args.
        {:ok, pid} = start_child.(sup2, %{spec | id: {:s, i}, start: {MyCpp.Stack, :start_link, [[1, 2, i]]}})
        acc = [pid | acc]
            if node(pid) == cpp1 and length(acc) >= 2, do: {:halt, acc}, else: (Process.sleep(100); {:cont, acc})
      end)
    Check.ok("children", Enum.map(pids, &node/1))
    [p1 | _] = on1 = Enum.filter(pids, &(node(&1) == cpp1))
    Check.expect("push", :ok, GenServer.call(p1, {:push, 3}))
    Check.expect("pop", {:ok, 3}, GenServer.call(p1, :pop))
    Check.expect("size", 3, GenServer.call(p1, :size))
    # cpp2 can only restart what its CRDT view holds: wait until every child
    # (also those cpp1 started) has been synced to it.
    n = length(pids)
    Check.wait_for("#{n} children in #{cpp2}'s view", fn ->
      GenServer.call({:horde_cnode, cpp2}, :stats).supervisors[HordeCnode.Supervisor].global_children == n
    end)
    System.cmd("kill", ["-9", cpp1_os_pid])
    # Every child that lived on cpp1 comes back on cpp2.
    Check.wait_for("#{n} children on #{cpp2}", fn ->
      kids = which_children.(sup2)
      length(kids) == n and Enum.all?(kids, fn {_, pid, _, _} -> is_pid(pid) and node(pid) == cpp2 end)
    end, 30_000)
    Check.ok("moved to #{cpp2}", length(on1))
    [{_, p, _, _} | _] = which_children.(sup2)
    Check.expect("restarted child answers", 3, GenServer.call(p, :size))
end

IO.puts("ok: done")
