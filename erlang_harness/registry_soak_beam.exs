# BEAM-only variant of test/horde/registry_soak_test.cpp: 4 BEAM nodes, all
# with real Horde 0.10.0 (members: :auto), under the soak's load
# (registrations, concurrent conflicting via-registrations on two nodes,
# kills of registrants, unregistrations, node kills and replacements), then
# the same end check: which live registrants have no name.
#
#   ERL_LIBS=/work/erl_libs ERL_EPMD_ADDRESS=127.0.0.1 elixir --hidden \
#     --name soakctl@127.0.0.1 --cookie soak erlang_harness/registry_soak_beam.exs \
#     SECONDS [SEED] [CONFLICTS=1] [CRASHES=0]
#
# Slots 0..3; slot 1 and slot 3 are killed and replaced in turns (as beams[1]
# and cpps[1] in the C++ soak). CRASHES=1 sends {'EXIT', self(), kill} to a
# slot-2/3 node's Crdt (Horde restarts its tree; its registrants die with it).
harness = Path.expand("registry_harness.exs", __DIR__)
[secs | rest] = System.argv()
seconds = String.to_integer(secs)
seed = case rest do [s | _] -> String.to_integer(s); _ -> :erlang.unique_integer([:positive]) end
conflicts = Enum.at(rest, 1, "1") != "0"
crashes = Enum.at(rest, 2, "0") != "0"
:rand.seed(:exsss, {seed, 1, 2})
reg = :"Elixir.SoakTest.Registry"
IO.puts("beam soak: #{seconds} s seed=#{seed} conflicts=#{conflicts} crashes=#{crashes}")

defmodule S do
  def start_node(name, reg, harness, others) do
    paths = Enum.flat_map(:code.get_path(), fn p -> [~c"-pa", p] end)
    {:ok, peer, node} =
      :peer.start(%{name: name, host: ~c"127.0.0.1", longnames: true,
        args: [~c"-setcookie", Atom.to_charlist(Node.get_cookie()) | paths]})
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:elixir])
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:logger])
    :erpc.call(node, Logger, :configure, [[level: :error]])
    :erpc.call(node, Code, :require_file, [harness])
    # As the C++ soak does (Cluster::new_beam): the registry starts first,
    # then the node connects to the others one by one (JOIN_FIRST=1: the
    # other way round, the registry starting with all nodes connected).
    if System.get_env("JOIN_FIRST") == "1", do: for(o <- others, do: :erpc.call(node, :net_adm, :ping, [o]))
    :ok = :erpc.call(node, RegistryDriver.Starter, :start, [reg, :auto, 200])
    if System.get_env("JOIN_FIRST") != "1", do: for(o <- others, do: :erpc.call(node, :net_adm, :ping, [o]))
    {peer, node}
  end

  def call(node, req, t \\ 15_000), do: :gen_server.call({:registry_driver, node}, req, t)
end

n = fn i, gen -> String.to_atom("soakb#{i}g#{gen}x#{:erlang.unique_integer([:positive])}") end
slots0 = for i <- 0..3, reduce: %{} do
  acc ->
    others = Enum.map(Map.values(acc), fn {_, node, _} -> node end)
    {peer, node} = S.start_node(n.(i, 0), reg, harness, others)
    Map.put(acc, i, {peer, node, 0})
end
nodes_of = fn slots -> Enum.map(0..3, fn i -> elem(slots[i], 1) end) end
Process.sleep(3000)

# registrant: %{key, pid, slot, gen, conflict, unregistered}
t0 = System.monotonic_time(:millisecond)
kill_every = max(div(seconds, 6), 20) * 1000
state = %{slots: slots0, regs: [], next: 0, last_kill: t0, victim: 0, ops: %{}, last_crash: t0 - 10_000}
bump = fn st, op -> %{st | ops: Map.update(st.ops, op, 1, &(&1 + 1))} end

alive? = fn pid -> try do :erpc.call(node(pid), Process, :alive?, [pid], 5000) catch _, _ -> false end end

loop = fn loop, st ->
  now = System.monotonic_time(:millisecond)
  cond do
    now - t0 > seconds * 1000 -> st
    now - st.last_kill > kill_every ->
      slot = if st.victim == 0, do: 3, else: 1
      {peer, _node, gen} = st.slots[slot]
      :peer.stop(peer)
      others = for i <- 0..3, i != slot, do: elem(st.slots[i], 1)
      {p2, n2} = S.start_node(n.(slot, gen + 1), reg, harness, others)
      st = bump.(st, "kill_node_slot#{slot}")
      loop.(loop, %{st | slots: Map.put(st.slots, slot, {p2, n2, gen + 1}), last_kill: now, victim: 1 - st.victim})
    true ->
      op = :rand.uniform(100) - 1
      nodes = nodes_of.(st.slots)
      live = fn -> Enum.filter(st.regs, &(not &1.unregistered)) end
      st =
        cond do
          op < 40 ->
            slot = :rand.uniform(4) - 1
            key = {:k, st.next}
            {result, pid} = S.call(Enum.at(nodes, slot), {:register, reg, key, :v})
            unless match?({:ok, _}, result), do: S.call(Enum.at(nodes, slot), {:kill, pid, :kill})
            r = %{key: key, pid: pid, slot: slot, gen: elem(st.slots[slot], 2), conflict: false, unregistered: false}
            bump.(%{st | regs: [r | st.regs], next: st.next + 1}, "register")
          op < 50 and conflicts ->
            key = {:k, st.next}
            a = :rand.uniform(2) - 1
            b = 2 + :rand.uniform(2) - 1
            ta = Task.async(fn -> S.call(Enum.at(nodes, a), {:register_via, reg, key}) end)
            tb = Task.async(fn -> S.call(Enum.at(nodes, b), {:register_via, reg, key}) end)
            rs =
              for {t, slot} <- [{tb, b}, {ta, a}] do
                {res, pid} = Task.await(t, 15_000)
                unless res == :yes, do: S.call(Enum.at(nodes, slot), {:kill, pid, :kill})
                %{key: key, pid: pid, slot: slot, gen: elem(st.slots[slot], 2), conflict: true, unregistered: false}
              end
            bump.(%{st | regs: rs ++ st.regs, next: st.next + 1}, "conflict")
          op < 65 ->
            case live.() do
              [] -> st
              l ->
                r = Enum.random(l)
                try do S.call(node(r.pid), {:kill, r.pid, :kill}) catch _, _ -> :ok end
                bump.(st, "kill_registrant")
            end
          op < 75 ->
            case Enum.filter(live.(), &(&1.slot >= 2 and not &1.conflict)) do
              [] -> st
              l ->
                r = Enum.random(l)
                res = try do S.call(node(r.pid), {:registrant_run, r.pid, {:unregister, reg, r.key}}) catch _, _ -> :err end
                if res == :ok do
                  regs = Enum.map(st.regs, fn x -> if x.pid == r.pid and x.key == r.key, do: %{x | unregistered: true}, else: x end)
                  bump.(%{st | regs: regs}, "unregister")
                else
                  st
                end
            end
          op < 88 and op >= 85 and crashes and now - st.last_crash > 3000 ->
            victim = Enum.at(nodes, 2 + :rand.uniform(2) - 1)
            :erpc.call(victim, :erlang, :send, [:"#{reg}.Crdt", {:EXIT, self(), :kill}])
            bump.(%{st | last_crash: now}, "crdt_exit_message")
          true -> bump.(st, "pause")
        end
      Process.sleep(30)
      loop.(loop, st)
  end
end

st = loop.(loop, state)
IO.puts("ops: #{inspect(st.ops)} registrants=#{length(st.regs)}")

view = fn node ->
  try do
    {:ok, l} = S.call(node, {:select, reg, [{{:"$1", :"$2", :"$3"}, [], [{{:"$1", :"$2"}}]}]})
    Map.new(l)
  catch _, _ -> nil
  end
end

check = fn ->
  nodes = nodes_of.(st.slots)
  views = Enum.map(nodes, view)
  agree = Enum.all?(views, &(&1 == hd(views))) and hd(views) != nil
  ref = hd(views) || %{}
  live = Enum.filter(st.regs, &(not &1.unregistered and alive?.(&1.pid)))
  missing = Enum.reject(live, fn r -> Map.get(ref, r.key) == r.pid end)
  {agree, ref, live, missing}
end

settle = fn settle, deadline, last ->
  {agree, ref, live, missing} = res = check.()
  cond do
    agree and missing == [] -> res
    System.monotonic_time(:millisecond) > deadline -> res
    true ->
      _ = {ref, live, last}
      Process.sleep(2000)
      settle.(settle, deadline, res)
  end
end

{agree, ref, live, missing} = settle.(settle, System.monotonic_time(:millisecond) + 60_000, nil)
IO.puts("views agree: #{agree}; names #{map_size(ref)}; live registrants #{length(live)}; missing #{length(missing)}")
by = Enum.frequencies_by(missing, fn r ->
  held = case Map.fetch(ref, r.key) do
    :error -> :absent
    {:ok, p} -> if Enum.any?(live, &(&1.pid == p)), do: :held_by_other_live, else: :held_by_dead
  end
  {if(r.conflict, do: :conflict, else: :plain), "slot#{r.slot}", if(r.gen == 0, do: :original_node, else: :restarted_node), held}
end)
for {k, v} <- Enum.sort(by), do: IO.puts("  missing #{inspect(k)}: #{v}")
# conflict keys where both contenders are alive
both = live |> Enum.filter(& &1.conflict) |> Enum.group_by(& &1.key) |> Enum.count(fn {_, l} -> length(l) > 1 end)
IO.puts("conflict keys with two live contenders: #{both}")
for {peer, _, _} <- Map.values(st.slots), do: :peer.stop(peer)
