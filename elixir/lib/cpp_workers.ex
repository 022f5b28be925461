defmodule CppWorkers do
  @moduledoc """
  Elixir front-ends of the C++ worker kinds that horde-cnode nodes run.

  The processes themselves run on C++ nodes; these modules only give BEAM code
  the usual child-spec and client API, so that

      Horde.DynamicSupervisor.start_child(MyApp.Sup, {CppWorkers.Counter, 5})

  builds the same child spec on every node
  (`%{id: CppWorkers.Counter, start: {CppWorkers.Counter, :start_link, [5]}}`).
  `start_link/1` refuses to run on a BEAM node: use
  `HordeCnode.MixedDistribution` so these children are only placed on C++
  members.
  """

  @doc false
  defmacro __using__(_opts) do
    quote do
      def child_spec(arg), do: %{id: __MODULE__, start: {__MODULE__, :start_link, [arg]}}

      def start_link(_arg),
        do: {:error, {:cpp_worker_kind, __MODULE__, :runs_only_on_horde_cnode_members}}
    end
  end
end

defmodule CppWorkers.Echo do
  @moduledoc "C++ kind `CppWorkers.Echo`: answers every call with the request."
  use CppWorkers
  def echo(pid, term), do: GenServer.call(pid, term)
end

defmodule CppWorkers.Counter do
  @moduledoc "C++ kind `CppWorkers.Counter`: `start_link(initial)`; `get` and `{:add, n}`."
  use CppWorkers
  def get(pid), do: GenServer.call(pid, :get)
  def add(pid, n) when is_integer(n), do: GenServer.call(pid, {:add, n})
end
