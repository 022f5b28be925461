defmodule HordeCnode.AppTest do
  # An app-shaped supervision tree: Horde.Registry + Horde.DynamicSupervisor
  # (mixed strategy) + HordeCnode.Node running a C++ member of both. C++
  # workers are started from Elixir and C++ names looked up, with the plain
  # Horde API. Needs Horde (tagged :horde) and the program (:cpp).
  use ExUnit.Case, async: false
  import ExUnit.CaptureLog
  import HordeCnode.TestSupport

  @moduletag :horde
  @moduletag :cpp
  @moduletag timeout: 90_000

  # Horde's modules are only there when the tier runs.
  @compile {:no_warn_undefined, [Horde.Registry, Horde.DynamicSupervisor, Horde.Cluster]}

  defmodule App do
    # What an application's start/2 would hold.
    def children(cpp, executable) do
      [
        {Horde.Registry, name: HordeCnode.AppTest.Registry, keys: :unique, members: :auto},
        {Horde.DynamicSupervisor,
         name: HordeCnode.AppTest.Sup,
         strategy: :one_for_one,
         members: :auto,
         distribution_strategy: HordeCnode.MixedDistribution},
        {HordeCnode.Node,
         name: cpp,
         executable: executable,
         args: [
           "--listen",
           "127.0.0.1",
           "--registry",
           "HordeCnode.AppTest.Registry",
           "--supervisor",
           "HordeCnode.AppTest.Sup",
           "--distribution",
           "mixed",
           "--members",
           "auto"
         ]}
      ]
    end
  end

  @reg HordeCnode.AppTest.Registry
  @sup HordeCnode.AppTest.Sup

  setup do
    cpp = unique_node("cpp_app")

    app =
      start_supervised!(%{
        id: :app,
        type: :supervisor,
        start: {Supervisor, :start_link, [App.children(cpp, executable!()), [strategy: :one_for_one]]}
      })

    [{_, node_pid, _, _}] = for {{HordeCnode.Node, _}, _, _, _} = c <- Supervisor.which_children(app), do: c
    os_pid = HordeCnode.Node.os_pid(node_pid)

    on_exit(fn -> if os_alive?(os_pid), do: kill(os_pid) end)

    # Both sides see each other as members of both roles.
    assert eventually(
             fn -> length(Horde.Cluster.members(@sup)) == 2 and length(Horde.Cluster.members(@reg)) == 2 end,
             10_000
           )

    assert eventually(fn -> HordeCnode.nodes(@sup) == [cpp] end, 10_000)

    %{app: app, cpp: cpp, node_pid: node_pid, os_pid: os_pid}
  end

  test "C++ workers start on the C++ member, Elixir children on the BEAM, from the same supervisor", %{cpp: cpp} do
    counters =
      for i <- 1..5 do
        assert {:ok, pid} = Horde.DynamicSupervisor.start_child(@sup, {CppWorkers.Counter, i})
        assert node(pid) == cpp
        assert CppWorkers.Counter.add(pid, 10) == i + 10
        pid
      end

    assert {:ok, echo} = Horde.DynamicSupervisor.start_child(@sup, {CppWorkers.Echo, :hi})
    assert CppWorkers.Echo.echo(echo, {:hello, node()}) == {:hello, node()}

    assert {:ok, agent} =
             Horde.DynamicSupervisor.start_child(@sup, %{id: :a, start: {Agent, :start_link, [fn -> 1 end]}})

    assert node(agent) == node()

    assert {:error, {:no_alive_nodes_providing, CppWorkers.Nope}} =
             Horde.DynamicSupervisor.start_child(@sup, %{id: :x, start: {CppWorkers.Nope, :start_link, [1]}})

    # The C++ member's view agrees (it counts its own children).
    assert eventually(fn -> match?(%{active: 7}, Horde.DynamicSupervisor.count_children(@sup)) end, 5_000)
    assert {:ok, %{supervisors: %{@sup => %{local_children: 6, cpp_namespaces: [CppWorkers]}}}} = HordeCnode.stats(cpp)
    assert HordeCnode.nodes() == [cpp]

    assert [{^cpp, %{cpp_worker_kinds: [CppWorkers.Counter, CppWorkers.Echo], status: :alive}}] =
             HordeCnode.cpp_members(@sup)

    assert Enum.all?(counters, &(node(&1) == cpp))

    capture_log(fn -> assert :ok = stop_supervised(:app) end)
  end

  test "names registered on either side are found on the other", %{cpp: cpp} do
    # A C++ process registered by the C++ node (here through its control process).
    {:ok, echo} = GenServer.call({:horde_cnode, cpp}, {:spawn_echo})
    assert {:ok, _} = GenServer.call({:horde_cnode, cpp}, {:register, @reg, "cpp-echo", %{lang: "C++"}, echo})
    assert eventually(fn -> Horde.Registry.lookup(@reg, "cpp-echo") == [{echo, %{lang: "C++"}}] end, 5_000)
    assert GenServer.call({:via, Horde.Registry, {@reg, "cpp-echo"}}, :ping) == :ping

    # An Elixir name, seen by the C++ node (registered by a process of its own:
    # the registry links to it).
    test_pid = self()

    elixir_pid =
      spawn(fn ->
        {:ok, _} = Horde.Registry.register(@reg, "elixir-test", :v)
        send(test_pid, :registered)
        Process.sleep(:infinity)
      end)

    assert_receive :registered, 5_000

    assert eventually(
             fn -> GenServer.call({:horde_cnode, cpp}, {:lookup, @reg, "elixir-test"}) == [{elixir_pid, :v}] end,
             5_000
           )

    capture_log(fn -> assert :ok = stop_supervised(:app) end)
  end

  test "a killed C++ node is restarted by the app's supervisor and rejoins", %{
    app: app,
    cpp: cpp,
    node_pid: node_pid,
    os_pid: os_pid
  } do
    capture_log(fn ->
      kill(os_pid)

      new_pid =
        eventually(
          fn ->
            Enum.find_value(Supervisor.which_children(app), fn
              {{HordeCnode.Node, ^cpp}, pid, _, _} when is_pid(pid) and pid != node_pid -> pid
              _ -> nil
            end)
          end,
          10_000
        )

      assert is_pid(new_pid)
      new_os = HordeCnode.Node.os_pid(new_pid)
      on_exit(fn -> if os_alive?(new_os), do: kill(new_os) end)

      assert eventually(
               fn ->
                 match?(
                   {:ok, pid} when node(pid) == cpp,
                   Horde.DynamicSupervisor.start_child(@sup, {CppWorkers.Counter, 1})
                 )
               end,
               10_000
             )

      assert :ok = stop_supervised(:app)
      refute os_alive?(new_os)
    end)
  end
end
