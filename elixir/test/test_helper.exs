# The tests need a distributed BEAM bound to 127.0.0.1 (started here), the
# horde-cnode program (HORDE_CNODE_EXECUTABLE, default ../build/app/horde-cnode)
# and, for the tests tagged :horde, Horde on the code path (ERL_LIBS). What is
# missing is excluded, and said so.
alias HordeCnode.TestSupport

TestSupport.start_distribution!()

excluded = []

excluded =
  case TestSupport.executable() do
    {:ok, path} ->
      IO.puts("horde-cnode: #{path}")
      excluded

    {:error, why} ->
      IO.puts("SKIPPED tests tagged :cpp (they need the horde-cnode program): #{why}")
      [:cpp | excluded]
  end

excluded =
  if HordeCnode.horde_available?() do
    {:ok, _} = Application.ensure_all_started(:horde)
    IO.puts("Horde: #{Application.spec(:horde, :vsn)} from #{:code.lib_dir(:horde)}")
    excluded
  else
    IO.puts(
      "SKIPPED tests tagged :horde (they need Horde 0.10.0): Horde is not on the code path " <>
        "(ERL_LIBS=#{inspect(System.get_env("ERL_LIBS", ""))}); the Horde-free tests run"
    )

    [:horde | excluded]
  end

ExUnit.start(exclude: excluded, capture_log: true)
