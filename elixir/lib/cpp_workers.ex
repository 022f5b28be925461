defmodule CppWorkers do
  @moduledoc """
  The Elixir front-ends of the C++ worker kinds built into every horde-cnode
  node: `CppWorkers.Echo` and `CppWorkers.Counter`. `CppWorkers` is the
  default C++ namespace (`config :horde_cnode, cpp_namespaces: [CppWorkers]`,
  `--cpp-namespace CppWorkers` on C++ nodes).

      Horde.DynamicSupervisor.start_child(MyApp.Sup, {CppWorkers.Counter, 5})

  builds the same child spec on every node
  (`%{id: CppWorkers.Counter, start: {CppWorkers.Counter, :start_link, [5]}}`);
  with `HordeCnode.MixedDistribution` it is placed only on C++ members. To
  write front-ends for your own C++ kinds, see `HordeCnode.CppWorker`.
  """

  @doc false
  # Kept for code written against the earlier, undocumented helper.
  defmacro __using__(opts), do: quote(do: use(HordeCnode.CppWorker, unquote(opts)))
end

defmodule CppWorkers.Echo do
  @moduledoc """
  C++ kind `CppWorkers.Echo`: answers every call with the request itself.

      {:ok, pid} = Horde.DynamicSupervisor.start_child(MyApp.Sup, {CppWorkers.Echo, :any})
      CppWorkers.Echo.echo(pid, {:hello, 1})   #=> {:hello, 1}
  """
  use HordeCnode.CppWorker

  @doc "Calls the C++ process with `term`; it answers `term`."
  def echo(pid, term), do: call(pid, term)
end

defmodule CppWorkers.Counter do
  @moduledoc """
  C++ kind `CppWorkers.Counter`: `start_link(initial)` with an integer.

      {:ok, pid} = Horde.DynamicSupervisor.start_child(MyApp.Sup, {CppWorkers.Counter, 5})
      CppWorkers.Counter.add(pid, 10)   #=> 15
      CppWorkers.Counter.get(pid)       #=> 15
  """
  use HordeCnode.CppWorker

  @doc "The current value."
  def get(pid), do: call(pid, :get)

  @doc "Adds `n`; returns the new value."
  def add(pid, n) when is_integer(n), do: call(pid, {:add, n})

  @doc "Replies `:ok` and exits with `reason` (for restart tests)."
  def stop(pid, reason), do: call(pid, {:stop, reason})
end
