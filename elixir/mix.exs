defmodule HordeCnode.MixProject do
  use Mix.Project

  # The Elixir side of horde-cnode: HordeCnode.Node (runs a C++ node in a
  # supervision tree), the mixed distribution strategy, the C++ worker
  # front-ends. Add it to an app with
  #
  #     {:horde_cnode, path: "path/to/horde-cnode/elixir"}
  #
  # Horde is an ordinary Hex dependency. On machines without Hex access it can
  # come from the code path instead: when ERL_LIBS holds a compiled horde
  # (horde-0.10.0/ebin and its dependencies), or when HORDE_CNODE_HORDE=code_path
  # is set, nothing is declared and nothing is fetched; the parts that need
  # Horde are then used only if Horde is loadable (see HordeCnode.horde_available?/0).
  def project do
    [
      app: :horde_cnode,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      # HordeCnode.cpp_members/1 reads the member infos from the supervisor's CRDT
      # (DeltaCrdt comes with Horde).
      xref: [exclude: [DeltaCrdt]],
      elixirc_paths: elixirc_paths(Mix.env()),
      docs: [main: "readme", extras: ["README.md"]],
      description:
        "Run horde-cnode (C++ Horde peers) from Elixir apps: HordeCnode.Node, " <>
          "HordeCnode.MixedDistribution, C++ worker front-ends"
    ]
  end

  def application do
    [
      extra_applications: [:logger | if(horde_on_code_path?(), do: [:horde], else: [])],
      # The one place the C++ worker namespaces are configured (see HordeCnode.MixedDistribution).
      env: [cpp_namespaces: [CppWorkers], executable: nil]
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp deps do
    if horde_from_code_path?(), do: [], else: [{:horde, "~> 0.10.0"}]
  end

  defp horde_from_code_path?,
    do: System.get_env("HORDE_CNODE_HORDE") == "code_path" or horde_on_code_path?()

  defp horde_on_code_path? do
    System.get_env("ERL_LIBS", "")
    |> String.split(":", trim: true)
    |> Enum.any?(fn dir ->
      Path.wildcard(Path.join(dir, "horde-*/ebin/horde.app")) != [] or
        File.exists?(Path.join(dir, "horde/ebin/horde.app"))
    end)
  end
end
