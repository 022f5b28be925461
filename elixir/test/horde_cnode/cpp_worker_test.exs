defmodule HordeCnode.CppWorkerTest do
  use ExUnit.Case, async: false
  import ExUnit.CaptureLog

  defmodule Cache do
    # A front-end outside the configured namespaces (warned about).
    use HordeCnode.CppWorker, restart: :transient, shutdown: 1_000
    def get(server, key), do: call(server, {:get, key})
  end

  test "the built-in front-ends build the default child spec every node builds" do
    assert CppWorkers.Counter.child_spec(5) == %{id: CppWorkers.Counter, start: {CppWorkers.Counter, :start_link, [5]}}

    assert Supervisor.child_spec({CppWorkers.Echo, :hi}, []) == %{
             id: CppWorkers.Echo,
             start: {CppWorkers.Echo, :start_link, [:hi]}
           }

    assert HordeCnode.CppWorker.cpp_worker?(CppWorkers.Counter)
    refute HordeCnode.CppWorker.cpp_worker?(Agent)
  end

  test "started on a BEAM node: a clear error, logged" do
    log =
      capture_log(fn ->
        assert {:error, {:cpp_worker_kind, CppWorkers.Counter, :runs_only_on_horde_cnode_members}} =
                 CppWorkers.Counter.start_link(1)
      end)

    assert log =~ "CppWorkers.Counter is a C++ worker kind: it runs only on horde-cnode members"
    assert log =~ "HordeCnode.MixedDistribution"

    # Under a plain supervisor it fails to start, not silently.
    capture_log(fn ->
      assert {:error, {{:cpp_worker_kind, CppWorkers.Echo, _}, _}} = start_supervised({CppWorkers.Echo, 1})
    end)
  end

  test "use options go into the child spec; a module outside the namespaces is warned about once" do
    log =
      capture_log(fn ->
        assert Cache.child_spec(:x) == %{
                 id: Cache,
                 start: {Cache, :start_link, [:x]},
                 restart: :transient,
                 shutdown: 1_000
               }
      end)

    assert log =~
             "HordeCnode.CppWorkerTest.Cache uses HordeCnode.CppWorker but is outside the configured cpp_namespaces [CppWorkers]"

    assert capture_log(fn -> Cache.child_spec(:y) end) == ""
  end

  test "the client helpers call the process" do
    # A stand-in for the C++ process: answers every call with the request.
    echo = spawn_link(fn -> echo_loop() end)
    assert CppWorkers.Echo.echo(echo, {:a, 1}) == {:a, 1}
    assert CppWorkers.Counter.add(echo, 3) == {:add, 3}
    assert Cache.get(echo, :k) == {:get, :k}
  end

  defp echo_loop do
    receive do
      {:"$gen_call", from, request} ->
        GenServer.reply(from, request)
        echo_loop()
    end
  end
end
