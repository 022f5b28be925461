# The demo run at the end of scripts/setup.sh (started by scripts/demo.sh):
# a BEAM node next to a running horde-cnode node. With Horde in ERL_LIBS it
# joins the C++ node's default registry and supervisor as a real Horde
# member; without Horde it drives the C++ node through its `horde_cnode`
# control process only.
#
#   elixir --name demo@127.0.0.1 --cookie C erlang_harness/demo.exs CPP_NODE
[cpp_text] = System.argv()
cpp = String.to_atom(cpp_text)
registry = HordeCnode.Registry
supervisor = HordeCnode.Supervisor
horde? = Code.ensure_loaded?(Horde.Registry)

defmodule Demo do
  def step(text), do: IO.puts("\n[demo] " <> text)
  def show(label, value), do: IO.puts("       #{label}: #{inspect(value)}")

  # Polls `fun` every 50 ms until it returns something truthy (or `timeout` ms pass).
  def wait_for(fun, timeout \\ 10_000) do
    deadline = System.monotonic_time(:millisecond) + timeout
    Stream.repeatedly(fn -> fun.() end)
    |> Enum.find(fn value ->
      value || System.monotonic_time(:millisecond) > deadline || (Process.sleep(50) && false)
    end)
  end

  def control(cpp, request), do: GenServer.call({:horde_cnode, cpp}, request, 5_000)
end

defmodule Demo.Greeter do
  use GenServer
  def start_link(name), do: GenServer.start_link(__MODULE__, :ok, name: name)
  def init(:ok), do: {:ok, 0}
  def handle_call({:greet, who}, _from, n), do: {:reply, "hello #{who}, from Elixir on #{node()}", n + 1}
end

Logger.configure(level: :warning)
Demo.step("connecting #{node()} to the C++ node #{cpp}")
true = Node.connect(cpp)
Demo.show("Node.list()", Node.list())
Demo.show("net_adm:ping", :net_adm.ping(cpp))

if horde? do
  {:ok, _} = Application.ensure_all_started(:horde)
  for f <- ["hash_ring.ex", "mixed_distribution.ex"],
      do: Code.require_file(Path.join([__DIR__, "..", "elixir", "lib", "horde_cnode", f]))
  Demo.step("starting Horde.Registry #{inspect(registry)} and Horde.DynamicSupervisor #{inspect(supervisor)} (members: :auto)")
  {:ok, _} = Horde.Registry.start_link(name: registry, keys: :unique, members: :auto)
  {:ok, _} =
    Horde.DynamicSupervisor.start_link(name: supervisor, strategy: :one_for_one, members: :auto,
      distribution_strategy: HordeCnode.MixedDistribution)
  Demo.wait_for(fn -> length(Horde.Cluster.members(registry)) == 2 end)
  Demo.show("registry members", Horde.Cluster.members(registry))
  Demo.wait_for(fn -> length(Horde.Cluster.members(supervisor)) == 2 end)
  Demo.show("supervisor members", Horde.Cluster.members(supervisor))
else
  Demo.step("Horde is not in ERL_LIBS: this BEAM node drives the C++ node's registry and supervisor through its control process (set ERL_LIBS to a Horde build to see a real Horde cluster)")
end

Demo.step("the C++ node spawns an echo process and registers it as \"cpp-echo\"")
{:ok, echo} = Demo.control(cpp, {:spawn_echo})
{:ok, _registry_pid} = Demo.control(cpp, {:register, registry, "cpp-echo", %{lang: "C++"}, echo})
Demo.show("C++ pid", echo)

if horde? do
  Demo.step("Elixir looks it up with plain Horde.Registry.lookup/2 and calls it through a via tuple")
  Demo.wait_for(fn -> Horde.Registry.lookup(registry, "cpp-echo") != [] end)
  Demo.show("Horde.Registry.lookup(#{inspect(registry)}, \"cpp-echo\")", Horde.Registry.lookup(registry, "cpp-echo"))
  reply = GenServer.call({:via, Horde.Registry, {registry, "cpp-echo"}}, {:hello, node()})
  Demo.show("GenServer.call({:via, Horde.Registry, ...}, {:hello, node()})", reply)

  Demo.step("Elixir registers a GenServer as \"elixir-greeter\"; the C++ node looks it up and calls it")
  {:ok, _} = Demo.Greeter.start_link({:via, Horde.Registry, {registry, "elixir-greeter"}})
  Demo.wait_for(fn -> Demo.control(cpp, {:lookup, registry, "elixir-greeter"}) != [] end)
  Demo.show("C++ lookup of \"elixir-greeter\"", Demo.control(cpp, {:lookup, registry, "elixir-greeter"}))
  Demo.show("C++ calls it", Demo.control(cpp, {:call, registry, "elixir-greeter", {:greet, "C++"}}))
else
  Demo.step("the C++ registry answers lookups, and the pid is called from Elixir")
  Demo.show("lookup \"cpp-echo\"", Demo.control(cpp, {:lookup, registry, "cpp-echo"}))
  Demo.show("GenServer.call(pid, {:hello, node()})", GenServer.call(echo, {:hello, node()}))
  Demo.show("count", Demo.control(cpp, {:count, registry}))
end

Demo.step("a C++ worker (CppWorkers.Counter) is started under the supervisor #{inspect(supervisor)}")
spec = %{id: :demo_counter, start: {CppWorkers.Counter, :start_link, [41]}}
{:ok, counter} =
  if horde?,
    do: Horde.DynamicSupervisor.start_child(supervisor, spec),
    else: Demo.control(cpp, {:start_child, supervisor, spec})
Demo.show("child pid (on #{node(counter)})", counter)
Demo.show("GenServer.call(counter, {:add, 1})", GenServer.call(counter, {:add, 1}))
Demo.show("count_children", if(horde?, do: Horde.DynamicSupervisor.count_children(supervisor),
  else: Demo.control(cpp, {:count_children, supervisor})))

Demo.step("the echo process exits; its name disappears")
:ok = Demo.control(cpp, {:exit, echo, :normal})
Demo.wait_for(fn -> Demo.control(cpp, {:lookup, registry, "cpp-echo"}) == [] end)
Demo.show("lookup \"cpp-echo\" after exit", Demo.control(cpp, {:lookup, registry, "cpp-echo"}))
if horde? do
  Demo.wait_for(fn -> Horde.Registry.lookup(registry, "cpp-echo") == [] end)
  Demo.show("Horde.Registry.lookup on the BEAM node", Horde.Registry.lookup(registry, "cpp-echo"))
end

Demo.show("C++ node stats", Demo.control(cpp, :stats))
Demo.step("done")
