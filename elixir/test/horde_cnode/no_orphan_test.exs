defmodule HordeCnode.NoOrphanTest do
  # The no-orphan guarantee: a BEAM that started a C++ node through
  # HordeCnode.Node is killed with SIGKILL (no terminate/2 runs); the C++ OS
  # process must exit by itself (--exit-on-stdin-close: its stdin is the Port's
  # pipe, closed by the kernel with the BEAM).
  use ExUnit.Case, async: false
  import HordeCnode.TestSupport

  @moduletag :cpp
  @moduletag timeout: 60_000

  @outer_script """
  name = String.to_atom(System.fetch_env!("HC_CPP_NAME"))
  exe = System.fetch_env!("HC_EXECUTABLE")
  {:ok, pid} = HordeCnode.Node.start_link(name: name, executable: exe, args: ["--listen", "127.0.0.1"])
  IO.puts("READY beam=\#{System.pid()} cpp=\#{HordeCnode.Node.os_pid(pid)}")
  Process.sleep(:infinity)
  """

  test "kill -9 of the BEAM that started a C++ node: the C++ process exits" do
    outer = unique_node("outer")
    cpp = unique_node("cpp_orphan")
    ebin = Path.join(:code.lib_dir(:horde_cnode), "ebin")

    port =
      Port.open({:spawn_executable, System.find_executable("elixir")}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        {:line, 8192},
        args: [
          "--name",
          Atom.to_string(outer),
          "--cookie",
          "orphan_#{System.unique_integer([:positive])}",
          "--erl",
          "-kernel inet_dist_use_interface {127,0,0,1}",
          "-pa",
          ebin,
          "-e",
          @outer_script
        ],
        env: [
          {~c"HC_CPP_NAME", String.to_charlist(Atom.to_string(cpp))},
          {~c"HC_EXECUTABLE", String.to_charlist(executable!())},
          {~c"ERL_EPMD_ADDRESS", ~c"127.0.0.1"}
        ]
      ])

    {beam_pid, cpp_pid} = await_ready(port, [])
    on_exit(fn -> for p <- [beam_pid, cpp_pid], os_alive?(p), do: kill(p) end)
    assert os_alive?(cpp_pid)

    kill(beam_pid, "KILL")
    assert_receive {^port, {:exit_status, 137}}, 10_000

    assert eventually(fn -> not os_alive?(cpp_pid) end, 15_000),
           "the C++ process #{cpp_pid} outlived the BEAM that started it"
  end

  defp await_ready(port, seen) do
    receive do
      {^port, {:data, {:eol, line}}} ->
        case Regex.run(~r/^READY beam=(\d+) cpp=(\d+)$/, line) do
          [_, beam, cpp] -> {String.to_integer(beam), String.to_integer(cpp)}
          nil -> await_ready(port, [line | seen])
        end

      {^port, {:data, {:noeol, chunk}}} ->
        await_ready(port, [chunk | seen])

      {^port, {:exit_status, status}} ->
        flunk("the outer BEAM exited with #{status}:\n" <> Enum.join(Enum.reverse(seen), "\n"))
    after
      20_000 -> flunk("the outer BEAM did not start its C++ node:\n" <> Enum.join(Enum.reverse(seen), "\n"))
    end
  end
end
