defmodule MyCpp.Stack do
  @moduledoc """
  Elixir front end of the C++ worker kind `MyCpp.Stack` (examples/worker_kind).

      {:ok, pid} = Horde.DynamicSupervisor.start_child(MyApp.Supervisor, {MyCpp.Stack, id: :s1, items: [1, 2]})
      MyCpp.Stack.push(pid, 3)   #=> :ok
      MyCpp.Stack.pop(pid)       #=> {:ok, 3}

  The child spec's `start: {MyCpp.Stack, :start_link, [items]}` is what a C++
  member recognises; the process itself runs in C++. On a BEAM member there
  is nothing to start, so `start_link/1` returns an error there: use
  `HordeCnode.MixedDistribution` so that C++ kinds land on C++ members only.
  """

  def child_spec(opts) do
    %{
      id: Keyword.get(opts, :id, __MODULE__),
      start: {__MODULE__, :start_link, [Keyword.get(opts, :items, [])]},
      restart: Keyword.get(opts, :restart, :permanent)
    }
  end

  def start_link(_items), do: {:error, {:cpp_worker_kind, __MODULE__, :runs_on_cpp_nodes_only}}

  def push(stack, item), do: GenServer.call(stack, {:push, item})
  def pop(stack), do: GenServer.call(stack, :pop)
  def peek(stack), do: GenServer.call(stack, :peek)
  def size(stack), do: GenServer.call(stack, :size)
end
