defmodule HordeCnode.TestSupport do
  @moduledoc false
  # Shared by the tests: the distributed test node, the program, unique names,
  # OS process checks and a deadline-bounded wait.

  @repo_root Path.expand("../../..", __DIR__)

  def repo_root, do: @repo_root

  def data_file(name), do: Path.join([@repo_root, "test", "horde", "data", name])

  def executable do
    path = System.get_env("HORDE_CNODE_EXECUTABLE") || Path.join(@repo_root, "build/app/horde-cnode")

    if File.regular?(path),
      do: {:ok, path},
      else: {:error, "#{path} not found (build it, or set HORDE_CNODE_EXECUTABLE)"}
  end

  def executable!, do: elem(executable(), 1)

  # A distributed node on 127.0.0.1 only, with its own name and cookie.
  def start_distribution! do
    unless Node.alive?() do
      System.cmd("epmd", ["-daemon"], env: [{"ERL_EPMD_ADDRESS", System.get_env("ERL_EPMD_ADDRESS", "127.0.0.1")}])
      Application.put_env(:kernel, :inet_dist_use_interface, {127, 0, 0, 1})
      name = :"hc_exunit_#{System.pid()}@127.0.0.1"

      case :net_kernel.start([name, :longnames]) do
        {:ok, _} -> :ok
        {:error, reason} -> raise "cannot start distribution as #{name}: #{inspect(reason)} (is epmd running?)"
      end

      Node.set_cookie(:"hc_cookie_#{System.unique_integer([:positive])}_#{System.pid()}")
    end

    :ok
  end

  def unique_node(prefix),
    do: :"#{prefix}_#{System.unique_integer([:positive])}_#{System.pid()}@127.0.0.1"

  # Options for HordeCnode.Node: the program built by the project, loopback only.
  def node_opts(name, extra \\ []) do
    {args, extra} = Keyword.pop(extra, :args, [])
    [name: name, executable: executable!(), args: ["--listen", "127.0.0.1" | args]] ++ extra
  end

  def os_alive?(os_pid) do
    case File.read("/proc/#{os_pid}/stat") do
      {:ok, stat} ->
        # "pid (comm) S ...": a zombie (Z) or dead (X) process has exited.
        [_, state] = Regex.run(~r/\) (\S)/, stat)
        state not in ["Z", "X"]

      {:error, _} ->
        false
    end
  end

  def kill(os_pid, signal \\ "KILL") do
    System.cmd("kill", ["-" <> signal, to_string(os_pid)], stderr_to_stdout: true)
    :ok
  end

  # Polls `fun` until it returns a truthy value or `timeout` ms pass; returns
  # the last value. Polling against a deadline, not sleeping to synchronise.
  def eventually(fun, timeout \\ 5_000, interval \\ 25) do
    deadline = System.monotonic_time(:millisecond) + timeout
    do_eventually(fun, deadline, interval)
  end

  defp do_eventually(fun, deadline, interval) do
    case fun.() do
      result when result not in [nil, false] ->
        result

      result ->
        if System.monotonic_time(:millisecond) >= deadline do
          result
        else
          Process.sleep(interval)
          do_eventually(fun, deadline, interval)
        end
    end
  end
end
