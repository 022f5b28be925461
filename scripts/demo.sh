#!/usr/bin/env bash
# The demo: starts the C++ node (its default registry HordeCnode.Registry and
# supervisor HordeCnode.Supervisor), starts a local BEAM node, and registers,
# looks up and calls names across them. With Horde in ERL_LIBS the BEAM node
# is a real Horde member; without, it drives the C++ node's control process.
# Everything listens on 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/app/horde-cnode
[ -x "$bin" ] || { echo "demo.sh: $bin is missing; run scripts/setup.sh first" >&2; exit 1; }

suffix="$$"
cookie="hc_demo_cookie_${suffix}"
cpp_node="hc_demo_cpp_${suffix}@127.0.0.1"
beam_node="hc_demo_beam_${suffix}@127.0.0.1"
log=$(mktemp /tmp/hc-demo-cpp.XXXXXX.log)

export ERL_EPMD_ADDRESS=127.0.0.1   # every epmd and node of the demo on loopback only
epmd -daemon
cleanup() { [ -n "${cpp_pid:-}" ] && kill "$cpp_pid" 2>/dev/null && wait "$cpp_pid" 2>/dev/null; true; }
trap cleanup EXIT

echo "==> starting the C++ node: $bin --name $cpp_node --cookie $cookie --distribution mixed"
"$bin" --name "$cpp_node" --cookie "$cookie" --listen 127.0.0.1 --distribution mixed >"$log" 2>&1 &
cpp_pid=$!
for _ in $(seq 1 100); do
  epmd -names 2>/dev/null | grep -q "name hc_demo_cpp_${suffix} " && break
  kill -0 "$cpp_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done

if ERL_LIBS="${ERL_LIBS:-}" elixir -e 'System.halt(if Code.ensure_loaded?(Horde.Registry), do: 0, else: 1)' >/dev/null 2>&1; then
  echo "==> Horde found in ERL_LIBS: the BEAM node joins as a real Horde member"
else
  echo "==> no Horde in ERL_LIBS: the BEAM node uses the C++ node's control process"
fi
echo "==> starting the BEAM node $beam_node"
elixir --name "$beam_node" --cookie "$cookie" --erl "-kernel inet_dist_use_interface {127,0,0,1}" erlang_harness/demo.exs "$cpp_node"
status=$?
echo
echo "==> the C++ node's log ($log):"
tail -n 15 "$log"
exit $status
