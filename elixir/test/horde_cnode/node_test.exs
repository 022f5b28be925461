defmodule HordeCnode.NodeTest do
  # HordeCnode.Node with the real horde-cnode built by the project: start,
  # crash, restart, stop, timeout. No Horde needed.
  use ExUnit.Case, async: false
  import ExUnit.CaptureLog
  import HordeCnode.TestSupport
  alias HordeCnode.Node, as: CNode

  @moduletag :cpp
  @moduletag timeout: 60_000

  doctest HordeCnode.Node

  # Every C++ process a test started is gone afterwards, also when it fails.
  setup do
    {:ok, tracker} = Agent.start(fn -> [] end)
    Process.put(:tracker, tracker)

    on_exit(fn ->
      for os_pid <- Agent.get(tracker, & &1), os_alive?(os_pid), do: kill(os_pid)
      Agent.stop(tracker)
    end)

    :ok
  end

  # A C++ node under a one_for_one supervisor of the test.
  defp start_cnode(extra \\ []) do
    name = unique_node("cpp")
    children = [{CNode, node_opts(name, extra)}]

    sup =
      start_supervised!(%{
        id: :sup,
        type: :supervisor,
        start: {Supervisor, :start_link, [children, [strategy: :one_for_one]]}
      })

    pid = child_pid(sup, name)
    os_pid = CNode.os_pid(pid)
    remember(os_pid)
    {name, sup, pid, os_pid}
  end

  defp child_pid(sup, name) do
    Enum.find_value(Supervisor.which_children(sup), fn
      {{CNode, ^name}, pid, _, _} when is_pid(pid) -> pid
      _ -> nil
    end)
  end

  defp remember(os_pid), do: Agent.update(Process.get(:tracker), &[os_pid | &1])

  test "start_link returns once the C++ node is connected; the cookie is not on its command line" do
    {name, _sup, pid, os_pid} = start_cnode()
    assert name in Node.list()
    assert os_alive?(os_pid)
    assert %{node: ^name, os_pid: ^os_pid, args: args} = CNode.info(pid)
    assert "--exit-on-stdin-close" in args

    cookie = Atom.to_string(Node.get_cookie())
    cmdline = File.read!("/proc/#{os_pid}/cmdline")
    refute cmdline =~ cookie
    assert cmdline =~ "--exit-on-stdin-close"
    assert File.read!("/proc/#{os_pid}/environ") =~ "HORDE_CNODE_COOKIE=#{cookie}"

    # The configured C++ namespaces are passed on.
    assert cmdline =~ "--cpp-namespace\0Elixir.CppWorkers"
  end

  test "the node answers: stats, nodes(), and check_config/1 agrees" do
    {name, _sup, _pid, _} = start_cnode(args: ["--supervisor", "NodeTest.Sup", "--distribution", "mixed"])
    assert {:ok, %{node: ^name, supervisors: %{NodeTest.Sup => sup}, registries: regs}} = HordeCnode.stats(name)
    assert sup.distribution == HordeCnode.MixedDistribution
    assert sup.cpp_namespaces == [CppWorkers]
    assert Map.has_key?(regs, HordeCnode.Registry)
    assert name in HordeCnode.nodes()
    assert HordeCnode.check_config(name) == :ok
    assert {:error, :noproc} = HordeCnode.stats(node())
    refute node() in HordeCnode.nodes()
  end

  test "a C++ node with other namespaces is reported as a mismatch (logged)" do
    log =
      capture_log(fn ->
        {name, _sup, _pid, _} =
          start_cnode(
            cpp_namespaces: [CppWorkers, Elsewhere],
            args: ["--supervisor", "NodeTest.MismatchSup", "--distribution", "mixed"]
          )

        assert {:mismatch, [%{supervisor: NodeTest.MismatchSup, cpp_namespaces: theirs}]} =
                 HordeCnode.check_config(name)

        assert Enum.sort(theirs) == [CppWorkers, Elsewhere]
      end)

    assert log =~ "runs NodeTest.MismatchSup with cpp_namespaces"
    assert log =~ "but this node is configured with [CppWorkers]"
  end

  test "its log lines go to Logger with their levels" do
    log =
      capture_log(fn ->
        {name, _sup, pid, _} = start_cnode()
        # An unknown request makes the C++ node log a warning.
        assert {:error, {:unknown_request, :bogus}} = GenServer.call({:horde_cnode, name}, :bogus)
        # The line is logged as it arrives, before it is kept among the recent lines.
        assert eventually(fn -> Enum.any?(CNode.recent_log(pid), &(&1 =~ "unknown request")) end)
      end)

    assert log =~ ~r/\[info\]\s+horde-cnode cpp_\S+: supervisor 'Elixir.HordeCnode.Supervisor' running/
    assert log =~ ~r/\[warning\]\s+horde-cnode cpp_\S+: horde_cnode: unknown request bogus/
  end

  test "stop: the C++ node stops gracefully and leaves the cluster" do
    {name, sup, pid, os_pid} = start_cnode()

    log =
      capture_log(fn ->
        assert :ok = Supervisor.terminate_child(sup, {CNode, name})
      end)

    refute Process.alive?(pid)
    refute os_alive?(os_pid)
    assert eventually(fn -> name not in Node.list() end)
    assert log =~ "signal 15 (Terminated): shutting down"
    assert log =~ "#{name} stopped"
  end

  test "a brutally killed GenServer (no terminate/2) still takes its C++ process along: the Port closes stdin" do
    name = unique_node("cpp_brutal")
    {:ok, pid} = GenServer.start(CNode, node_opts(name))
    os_pid = CNode.os_pid(pid)
    remember(os_pid)

    capture_log(fn ->
      Process.exit(pid, :kill)
      assert eventually(fn -> not os_alive?(os_pid) end, 15_000)
    end)
  end

  test "crash: when the C++ process dies, the GenServer exits and its supervisor restarts it" do
    {name, sup, pid, os_pid} = start_cnode()
    ref = Process.monitor(pid)

    capture_log(fn ->
      kill(os_pid)
      assert_receive {:DOWN, ^ref, :process, ^pid, {:horde_cnode_exited, 137}}, 5_000
    end)

    # The supervisor restarts it: a new OS process, connected again.
    new_pid = eventually(fn -> child_pid(sup, name) not in [nil, pid] && child_pid(sup, name) end)
    assert is_pid(new_pid)
    new_os_pid = CNode.os_pid(new_pid)
    remember(new_os_pid)
    assert new_os_pid != os_pid
    assert name in Node.list()
    refute os_alive?(os_pid)
  end

  test "nodedown: when the connection is lost, the GenServer exits and stops its C++ process" do
    {name, sup, pid, os_pid} = start_cnode()
    ref = Process.monitor(pid)

    capture_log(fn ->
      Node.disconnect(name)
      assert_receive {:DOWN, ^ref, :process, ^pid, {:nodedown, ^name}}, 5_000
    end)

    refute os_alive?(os_pid)
    new_pid = eventually(fn -> child_pid(sup, name) not in [nil, pid] && child_pid(sup, name) end)
    assert is_pid(new_pid)
    remember(CNode.os_pid(new_pid))
  end

  test "timeout: a node that cannot connect (wrong cookie) gives {:error, {:start_timeout, log_lines}}" do
    name = unique_node("cpp_wrong_cookie")
    Process.flag(:trap_exit, true)

    capture_log(fn ->
      assert {:error, {:start_timeout, lines}} =
               CNode.start_link(node_opts(name, cookie: :not_the_cookie, start_timeout: 1_500))

      assert Enum.any?(lines, &(&1 =~ "info  [#{name}]"))
      assert Enum.any?(lines, &(&1 =~ ~r/cookie|handshake|challenge|digest/i)), inspect(lines)
    end)

    refute name in Node.list()
    assert :os.cmd(~c"pgrep -f -- '--name #{name}'") == []
  end

  test "a program that exits at once gives {:error, {:exited, status, log_lines}}" do
    Process.flag(:trap_exit, true)

    capture_log(fn ->
      assert {:error, {:exited, 2, lines}} = CNode.start_link(node_opts(unique_node("cpp"), args: ["--no-such-flag"]))
      assert Enum.any?(lines, &(&1 =~ "unrecognised option '--no-such-flag'"))
    end)
  end

  test "executable: option, then app config, then PATH; missing gives a clear error" do
    Process.flag(:trap_exit, true)
    name = unique_node("cpp")

    assert {:error, {:executable_not_found, "/nonexistent/horde-cnode"}} =
             CNode.start_link(name: name, executable: "/nonexistent/horde-cnode")

    Application.put_env(:horde_cnode, :executable, executable!())

    try do
      {:ok, pid} = CNode.start_link(name: name, args: ["--listen", "127.0.0.1"])
      remember(CNode.os_pid(pid))
      assert CNode.info(pid).executable == executable!()
      capture_log(fn -> CNode.stop(pid) end)
    after
      Application.put_env(:horde_cnode, :executable, nil)
    end

    path = System.get_env("PATH")
    System.put_env("PATH", Path.dirname(executable!()) <> ":" <> path)

    try do
      name = unique_node("cpp")
      {:ok, pid} = CNode.start_link(name: name, args: ["--listen", "127.0.0.1"])
      remember(CNode.os_pid(pid))
      assert CNode.info(pid).executable == executable!()
      capture_log(fn -> CNode.stop(pid) end)
    after
      System.put_env("PATH", path)
    end
  end

  test "connect: false: this node connects to the C++ node (which is not told about us)" do
    {name, _sup, pid, os_pid} = start_cnode(connect: false)
    assert name in Node.list()
    refute "--connect" in CNode.info(pid).args
    refute File.read!("/proc/#{os_pid}/cmdline") =~ "--connect"
  end

  test "--cookie in :args is warned about" do
    log = capture_log(fn -> start_cnode(args: ["--cookie", Atom.to_string(Node.get_cookie())]) end)
    assert log =~ "pass the node name and the cookie as the :name and :cookie options"
  end

  test "child_spec: id per node name, worker, shutdown above the graceful stop time" do
    spec = CNode.child_spec(name: :"x@127.0.0.1")
    assert %{id: {CNode, :"x@127.0.0.1"}, restart: :permanent, shutdown: 15_000, type: :worker} = spec
    assert %{id: :mine, restart: :transient} = CNode.child_spec(name: :x@h, id: :mine, restart: :transient)
  end
end
