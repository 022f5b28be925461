defmodule HordeCnode.MixProject do
  use Mix.Project

  # Elixir side of horde-cnode: the mixed distribution strategy and the
  # front-ends of the C++ worker kinds. Add it to an app with
  #   {:horde_cnode, path: "path/to/horde-cnode/elixir"}
  def project do
    [app: :horde_cnode, version: "0.1.0", elixir: "~> 1.14", deps: deps()]
  end

  def application, do: [extra_applications: [:logger]]

  defp deps, do: [{:horde, "~> 0.10.0"}]
end
