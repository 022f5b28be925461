defmodule HordeCnode.CppWorker do
  @moduledoc """
  `use HordeCnode.CppWorker` makes a module the Elixir front-end of a C++
  worker kind: the processes run on horde-cnode nodes, the module gives BEAM
  code the usual child spec and client API.

  ## Example

  A C++ kind registered under `MyApp.Cpp.Cache` (C++: `WorkerKinds::add`, see
  `horde/worker_kinds.hpp`) that answers `{:get, key}` and `{:put, key, value}`:

      defmodule MyApp.Cpp.Cache do
        use HordeCnode.CppWorker, restart: :transient

        def get(server, key), do: call(server, {:get, key})
        def put(server, key, value), do: call(server, {:put, key, value})
      end

      # config/config.exs: the kind's namespace is a C++ namespace
      config :horde_cnode, cpp_namespaces: [CppWorkers, MyApp.Cpp]

      {:ok, pid} = Horde.DynamicSupervisor.start_child(MyApp.Sup, {MyApp.Cpp.Cache, %{size: 100}})
      MyApp.Cpp.Cache.put(pid, :k, 1)

  ## What `use` defines

    * `child_spec/1`: `%{id: __MODULE__, start: {__MODULE__, :start_link, [arg]}}`,
      plus the `use` options `:restart`, `:shutdown`, `:type` and `:id` when
      given. Every node builds the same spec, so every node places it the same
      way (`HordeCnode.MixedDistribution`). C++ nodes build exactly the default
      spec when asked with `{Module, arg}` through their control process, so
      prefer the default when starting through both.
    * `start_link/1`: refuses to run on a BEAM node, with
      `{:error, {:cpp_worker_kind, __MODULE__, :runs_only_on_horde_cnode_members}}`
      and an error log explaining why (the child was placed on a BEAM member:
      use `HordeCnode.MixedDistribution` and keep the module in a configured
      C++ namespace).
    * `call/2`, `call/3` (private helpers): `GenServer.call/3` to the C++ process.
    * `__cpp_worker__/0`: `true`, to recognise front-ends.

  `child_spec/1` logs a warning (once) when the module is not in a configured
  C++ namespace, since the mixed strategy would then place it on BEAM members.
  `child_spec/1` and `start_link/1` are overridable.
  """

  @spec_keys [:id, :restart, :shutdown, :type]

  defmacro __using__(opts) do
    overrides = Keyword.take(opts, @spec_keys)

    quote location: :keep do
      @doc """
      The child spec of this C++ worker kind for `arg`
      (`%{id: #{inspect(__MODULE__)}, start: {#{inspect(__MODULE__)}, :start_link, [arg]}}`).
      """
      def child_spec(arg) do
        HordeCnode.CppWorker.check_namespace(__MODULE__)
        Map.merge(%{id: __MODULE__, start: {__MODULE__, :start_link, [arg]}}, Map.new(unquote(overrides)))
      end

      @doc "Always an error on a BEAM node: the processes of this kind run on horde-cnode nodes."
      def start_link(arg), do: HordeCnode.CppWorker.refuse_start(__MODULE__, arg)

      @doc false
      def __cpp_worker__, do: true

      @compile {:nowarn_unused_function, [call: 2, call: 3]}
      defp call(server, request, timeout \\ 5000), do: GenServer.call(server, request, timeout)

      defoverridable child_spec: 1, start_link: 1
    end
  end

  require Logger

  @doc "True when `module` was defined with `use HordeCnode.CppWorker`."
  def cpp_worker?(module) when is_atom(module) do
    Code.ensure_loaded?(module) and function_exported?(module, :__cpp_worker__, 0)
  end

  @doc false
  def refuse_start(module, _arg) do
    Logger.error(
      "#{inspect(module)} is a C++ worker kind: it runs only on horde-cnode members, not on #{node()}. " <>
        "Use distribution_strategy: HordeCnode.MixedDistribution (and --distribution mixed on the C++ " <>
        "nodes) with #{inspect(module)} in a configured cpp_namespace."
    )

    {:error, {:cpp_worker_kind, module, :runs_only_on_horde_cnode_members}}
  end

  @doc false
  def check_namespace(module) do
    namespaces = HordeCnode.MixedDistribution.cpp_namespaces()

    if not HordeCnode.MixedDistribution.cpp_kind?(module, namespaces) do
      key = {__MODULE__, :outside_namespaces, module}

      if :persistent_term.get(key, false) == false do
        :persistent_term.put(key, true)

        Logger.warning(
          "#{inspect(module)} uses HordeCnode.CppWorker but is outside the configured cpp_namespaces " <>
            "#{inspect(namespaces)}: HordeCnode.MixedDistribution will place it on BEAM members. " <>
            "Add its namespace to config :horde_cnode, cpp_namespaces: [...]."
        )
      end
    end

    :ok
  end
end
