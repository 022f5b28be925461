defmodule HordeCnode.Node do
  @moduledoc """
  Runs a horde-cnode (C++) node as a child of the application's supervision
  tree.

      children = [
        {HordeCnode.Node,
         name: :"cpp1@127.0.0.1",
         args: ["--listen", "127.0.0.1", "--registry", "MyApp.Registry"]}
      ]

      Supervisor.start_link(children, strategy: :one_for_one)

  The BEAM must be distributed (`--name`/`--sname`, or `Node.start/2`).

  ## What it guarantees

    * `start_link/1` returns `{:ok, pid}` only once the C++ node is connected
      to this node (it is in `Node.list/0`), so the next child in the tree
      can use it at once. Otherwise `{:error, reason}`, with the node's own
      log lines (see "Errors").
    * The cookie travels in the environment of the C++ process
      (`HORDE_CNODE_COOKIE`), never on its command line, where `ps` would show it.
    * The GenServer monitors the node (`Node.monitor/2`) and the OS process (the
      Port's exit status). If either goes away, it exits with
      `{:nodedown, node}` or `{:horde_cnode_exited, status}`, and the supervisor
      restarts it according to its strategy (a fresh C++ process).
    * When it stops (the supervisor shuts it down, `stop/1`), the C++ node
      stops gracefully (SIGTERM: Horde members hand off their children, then
      the node exits), within `:shutdown_timeout`, after which it is killed.
    * When the BEAM dies, even by `kill -9`, the C++ node exits: it is started
      with `--exit-on-stdin-close` and its standard input is the Port's pipe,
      which the kernel closes with the BEAM.
    * Its log lines (`2026-...Z info  [node] text` on stderr) go to `Logger`
      with their levels (`trace`/`debug` → `:debug`, `info`, `warn` →
      `:warning`, `error`), prefixed with the node name and with the metadata
      `horde_cnode: node`.

  ## Options

    * `:name` (required) - the C++ node's name, e.g. `:"cpp1@127.0.0.1"`.
    * `:executable` - path of the `horde-cnode` program. Default:
      `config :horde_cnode, executable: "..."`, else `horde-cnode` on `PATH`.
    * `:cookie` - default `Node.get_cookie()`.
    * `:args` - more command-line arguments (see `horde-cnode --help`), e.g.
      `["--registry", "MyApp.Registry", "--supervisor", "MyApp.Sup", "--distribution", "mixed"]`.
    * `:cpp_namespaces` - passed as `--cpp-namespace` (one each). Default: the
      application's `cpp_namespaces` (`HordeCnode.MixedDistribution.cpp_namespaces/0`),
      so the C++ node and this node agree.
    * `:connect` - default `true`: the C++ node is given `--connect node()`
      (it keeps that connection up, reconnecting with backoff). With `false`
      this process connects to it instead.
    * `:start_timeout` - ms to wait for the connection, default 10 000.
    * `:shutdown_timeout` - ms to wait for the graceful stop before killing
      the process, default 12 000. The child spec's `:shutdown` (default
      15 000) must be larger.
    * `:env` - extra environment variables, `[{"NAME", "value"}]`.
    * `:id`, `:restart`, `:shutdown` - for the child spec.
    * `:process_name` - register the GenServer under this name.

  ## Errors

  `start_link/1` returns:

    * `{:error, {:start_timeout, log_lines}}` - not connected within `:start_timeout`
      (e.g. a wrong cookie); the C++ process is stopped;
    * `{:error, {:exited, status, log_lines}}` - the program exited before
      connecting (a bad flag, the name already taken, ...);
    * `{:error, {:executable_not_found, path}}`, `{:error, :not_distributed}`.

  `log_lines` are the last lines the program wrote (at most 100), as strings.
  """
  use GenServer
  require Logger

  @default_start_timeout 10_000
  @default_shutdown_timeout 12_000
  @default_child_shutdown 15_000
  @kept_lines 100
  @line_length 16_384
  @nodedown_grace 500

  @type option ::
          {:name, node()}
          | {:executable, Path.t()}
          | {:cookie, atom() | String.t()}
          | {:args, [String.t()]}
          | {:cpp_namespaces, [module()]}
          | {:connect, boolean()}
          | {:start_timeout, non_neg_integer()}
          | {:shutdown_timeout, non_neg_integer()}
          | {:env, [{String.t(), String.t()}]}
          | {:process_name, GenServer.name()}
          | {:id, term()}
          | {:restart, :permanent | :transient | :temporary}
          | {:shutdown, timeout()}

  @doc "The child spec: id `{HordeCnode.Node, name}`, a worker with `shutdown: 15_000`."
  @spec child_spec([option()]) :: Supervisor.child_spec()
  def child_spec(opts) do
    name = Keyword.fetch!(opts, :name)

    %{
      id: Keyword.get(opts, :id, {__MODULE__, name}),
      start: {__MODULE__, :start_link, [opts]},
      restart: Keyword.get(opts, :restart, :permanent),
      shutdown: Keyword.get(opts, :shutdown, @default_child_shutdown),
      type: :worker
    }
  end

  @doc "Starts the C++ node and returns once it is connected (see the module doc)."
  @spec start_link([option()]) :: GenServer.on_start()
  def start_link(opts) do
    start_timeout = Keyword.get(opts, :start_timeout, @default_start_timeout)
    gen_opts = [timeout: start_timeout + @default_shutdown_timeout + 5_000]
    gen_opts = if n = opts[:process_name], do: [{:name, n} | gen_opts], else: gen_opts
    GenServer.start_link(__MODULE__, opts, gen_opts)
  end

  @doc "Stops the C++ node gracefully and the process with `reason`."
  @spec stop(GenServer.server(), term(), timeout()) :: :ok
  def stop(server, reason \\ :normal, timeout \\ :infinity), do: GenServer.stop(server, reason, timeout)

  @doc "The C++ node's name."
  @spec node_name(GenServer.server()) :: node()
  def node_name(server), do: info(server).node

  @doc "The OS pid of the C++ process."
  @spec os_pid(GenServer.server()) :: non_neg_integer()
  def os_pid(server), do: info(server).os_pid

  @doc """
  `%{node: node, os_pid: pid, executable: path, args: args}` (args as given to
  the program; the cookie is not among them).
  """
  @spec info(GenServer.server()) :: map()
  def info(server), do: GenServer.call(server, :info)

  @doc "The last lines (at most 100) the program wrote, oldest first."
  @spec recent_log(GenServer.server()) :: [String.t()]
  def recent_log(server), do: GenServer.call(server, :recent_log)

  # ---- GenServer ---------------------------------------------------------------

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)
    name = Keyword.fetch!(opts, :name)

    with :ok <- check_distributed(),
         {:ok, executable} <- find_executable(opts) do
      if Enum.any?(Keyword.get(opts, :args, []), &(to_string(&1) in ["--cookie", "--name"])) do
        Logger.warning(
          "HordeCnode.Node: pass the node name and the cookie as the :name and :cookie options, " <>
            "not as --name/--cookie in :args (a cookie on the command line is visible to ps)",
          horde_cnode: name
        )
      end

      namespaces = Keyword.get(opts, :cpp_namespaces, HordeCnode.MixedDistribution.cpp_namespaces())
      connect? = Keyword.get(opts, :connect, true)
      args = program_args(name, namespaces, connect?, Keyword.get(opts, :args, []))

      state = %{
        name: name,
        executable: executable,
        args: args,
        namespaces: namespaces,
        port: nil,
        os_pid: nil,
        exited: false,
        exit_status: nil,
        lines: [],
        line_count: 0,
        partial: "",
        shutdown_timeout: Keyword.get(opts, :shutdown_timeout, @default_shutdown_timeout)
      }

      :ok = :net_kernel.monitor_nodes(true, [:nodedown_reason])
      port = open_port(executable, args, cookie(opts), Keyword.get(opts, :env, []))
      {:os_pid, os_pid} = Port.info(port, :os_pid)
      state = %{state | port: port, os_pid: os_pid}
      started = System.monotonic_time(:millisecond)
      deadline = started + Keyword.get(opts, :start_timeout, @default_start_timeout)

      case await_connected(state, deadline, connect?) do
        {:ok, state} ->
          :net_kernel.monitor_nodes(false, [:nodedown_reason])
          flush_node_events()
          true = Node.monitor(name, true)

          Logger.info(
            "HordeCnode.Node: #{name} connected (os pid #{os_pid}, " <>
              "#{System.monotonic_time(:millisecond) - started} ms)",
            horde_cnode: name
          )

          {:ok, state, {:continue, :check_config}}

        {:error, reason, state} ->
          :net_kernel.monitor_nodes(false, [:nodedown_reason])
          flush_node_events()
          state = stop_program(state, 2_000)
          Logger.error("HordeCnode.Node: #{name} did not start: #{inspect(elem(reason, 0))}", horde_cnode: name)
          {:stop, error_with_lines(reason, state)}
      end
    else
      {:error, reason} -> {:stop, reason}
    end
  end

  @impl true
  def handle_continue(:check_config, state) do
    HordeCnode.check_config(state.name, state.namespaces)
    {:noreply, state}
  end

  @impl true
  def handle_call(:recent_log, _from, state), do: {:reply, Enum.reverse(state.lines), state}

  def handle_call(:info, _from, state) do
    {:reply, %{node: state.name, os_pid: state.os_pid, executable: state.executable, args: state.args}, state}
  end

  @impl true
  def handle_info({port, {:data, data}}, %{port: port} = state), do: {:noreply, take_output(state, data)}

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    Logger.error(
      "HordeCnode.Node: #{state.name} (os pid #{state.os_pid}) exited with status #{status}#{signal_note(status)}",
      horde_cnode: state.name
    )

    {:stop, {:horde_cnode_exited, status}, %{state | exited: true}}
  end

  def handle_info({:nodedown, name}, %{name: name} = state) do
    # A dying process also drops its connection: when its exit status follows
    # at once, that is the reason to report.
    case await_exit(state, System.monotonic_time(:millisecond) + @nodedown_grace) do
      %{exited: true, exit_status: status} = state ->
        handle_info({state.port, {:exit_status, status}}, %{state | exited: false})

      state ->
        Logger.error("HordeCnode.Node: lost the connection to #{name}", horde_cnode: name)
        {:stop, {:nodedown, name}, state}
    end
  end

  def handle_info({:EXIT, port, _reason}, %{port: port} = state), do: {:noreply, state}
  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    if state.port != nil and not state.exited do
      state = stop_program(state, state.shutdown_timeout)
      if state.exited, do: Logger.info("HordeCnode.Node: #{state.name} stopped", horde_cnode: state.name)
    end

    :ok
  end

  # ---- starting ----------------------------------------------------------------

  defp check_distributed, do: if(Node.alive?(), do: :ok, else: {:error, :not_distributed})

  defp find_executable(opts) do
    case opts[:executable] || Application.get_env(:horde_cnode, :executable) do
      nil ->
        case System.find_executable("horde-cnode") do
          nil -> {:error, {:executable_not_found, "horde-cnode"}}
          path -> {:ok, path}
        end

      path ->
        path = Path.expand(path)
        if File.regular?(path), do: {:ok, path}, else: {:error, {:executable_not_found, path}}
    end
  end

  defp program_args(name, namespaces, connect?, user_args) do
    connect = if connect?, do: ["--connect", Atom.to_string(node())], else: []
    ns = Enum.flat_map(namespaces, &["--cpp-namespace", Atom.to_string(&1)])
    ["--name", Atom.to_string(name), "--exit-on-stdin-close"] ++ connect ++ ns ++ Enum.map(user_args, &to_string/1)
  end

  defp cookie(opts), do: opts |> Keyword.get_lazy(:cookie, &Node.get_cookie/0) |> to_string()

  defp open_port(executable, args, cookie, env) do
    env = [{"HORDE_CNODE_COOKIE", cookie} | env]

    Port.open({:spawn_executable, executable}, [
      :binary,
      :exit_status,
      :stderr_to_stdout,
      :use_stdio,
      {:line, @line_length},
      args: args,
      env: Enum.map(env, fn {k, v} -> {String.to_charlist(k), String.to_charlist(v)} end)
    ])
  end

  defp await_connected(state, deadline, connect?) do
    remaining = deadline - System.monotonic_time(:millisecond)
    port = state.port
    name = state.name

    if remaining <= 0 do
      {:error, {:start_timeout}, state}
    else
      receive do
        {^port, {:data, data}} -> await_connected(take_output(state, data), deadline, connect?)
        {^port, {:exit_status, status}} -> {:error, {:exited, status}, %{state | exited: true}}
        {:nodeup, ^name, _info} -> {:ok, state}
      after
        min(remaining, 200) ->
          # With connect: false we connect; otherwise the C++ node connects to us.
          if not connect? and Node.connect(name) == true,
            do: {:ok, state},
            else: await_connected(state, deadline, connect?)
      end
    end
  end

  defp flush_node_events do
    receive do
      {:nodeup, _, _} -> flush_node_events()
      {:nodedown, _, _} -> flush_node_events()
    after
      0 -> :ok
    end
  end

  defp error_with_lines({:start_timeout}, state), do: {:start_timeout, Enum.reverse(state.lines)}
  defp error_with_lines({:exited, status}, state), do: {:exited, status, Enum.reverse(state.lines)}

  # ---- stopping ----------------------------------------------------------------

  # SIGTERM (the program's graceful stop), then SIGKILL after `timeout`; drains
  # the output meanwhile.
  defp stop_program(%{exited: true} = state, _timeout), do: state

  defp stop_program(state, timeout) do
    signal(state.os_pid, "TERM")

    state =
      case await_exit(state, System.monotonic_time(:millisecond) + timeout) do
        %{exited: true} = state ->
          state

        state ->
          Logger.warning("HordeCnode.Node: #{state.name} did not stop within #{timeout} ms; killing it",
            horde_cnode: state.name
          )

          signal(state.os_pid, "KILL")
          await_exit(state, System.monotonic_time(:millisecond) + 2_000)
      end

    try do
      Port.close(state.port)
    rescue
      ArgumentError -> :ok
    end

    state
  end

  defp await_exit(state, deadline) do
    port = state.port
    remaining = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {^port, {:data, data}} -> await_exit(take_output(state, data), deadline)
      {^port, {:exit_status, status}} -> %{state | exited: true, exit_status: status}
    after
      remaining -> state
    end
  end

  defp signal(os_pid, sig) do
    System.cmd("kill", ["-" <> sig, Integer.to_string(os_pid)], stderr_to_stdout: true)
    :ok
  end

  defp signal_note(status) when status > 128, do: " (signal #{status - 128})"
  defp signal_note(_), do: ""

  # ---- log lines -----------------------------------------------------------------

  defp take_output(state, {:noeol, chunk}), do: %{state | partial: state.partial <> chunk}

  defp take_output(state, {:eol, chunk}) do
    line = state.partial <> chunk
    {level, text} = parse_log_line(line)
    Logger.log(level, fn -> "horde-cnode #{state.name}: #{text}" end, horde_cnode: state.name)
    lines = [line | state.lines]

    {lines, count} =
      if state.line_count >= @kept_lines,
        do: {Enum.take(lines, @kept_lines), @kept_lines},
        else: {lines, state.line_count + 1}

    %{state | partial: "", lines: lines, line_count: count}
  end

  @doc """
  The Logger level and text of one line of horde-cnode output:

      iex> HordeCnode.Node.parse_log_line("2026-12-01T09:00:00.123Z warn  [cpp@h] slow peer")
      {:warning, "slow peer"}
      iex> HordeCnode.Node.parse_log_line("horde-cnode: unknown option '--x'")
      {:error, "horde-cnode: unknown option '--x'"}
  """
  @spec parse_log_line(String.t()) :: {Logger.level(), String.t()}
  def parse_log_line(line) do
    case Regex.run(~r/^\d{4}-\d\d-\d\dT[\d:.]+Z (trace|debug|info|warn|error)\s+\[[^\]]*\] (.*)$/s, line) do
      [_, level, text] -> {level(level), text}
      nil -> if String.starts_with?(line, "horde-cnode"), do: {:error, line}, else: {:info, line}
    end
  end

  defp level("trace"), do: :debug
  defp level("debug"), do: :debug
  defp level("info"), do: :info
  defp level("warn"), do: :warning
  defp level("error"), do: :error
end
