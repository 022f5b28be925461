#!/usr/bin/env bash
# Runs one part of the ExUnit suite of the Elixir library (elixir/) against the
# horde-cnode built by the project; CTest calls it (test/CMakeLists.txt, label
# "elixir"). Usage:
#   scripts/mix-test.sh PART [mix test arguments, e.g. test files]
# PART "horde" needs Horde on the code path (ERL_LIBS) and exits 77 (reported
# by CTest as skipped) without it; every other part runs either way, with its
# tests tagged :horde excluded (and said so) when Horde is absent.
# Nothing is fetched from Hex: HORDE_CNODE_HORDE=code_path makes the Mix
# project take Horde from ERL_LIBS, if at all.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
part=${1:?usage: scripts/mix-test.sh PART [mix test args]}
shift
binary_dir=${HC_BINARY_DIR:-$root/build}

if ! command -v mix >/dev/null 2>&1; then
  echo "SKIPPED elixir/$part: mix (Elixir) is not installed"
  exit 77
fi
if ERL_LIBS="${ERL_LIBS:-}" timeout 60 elixir -e 'System.halt(if Code.ensure_loaded?(Horde.DynamicSupervisor) and Code.ensure_loaded?(DeltaCrdt), do: 0, else: 1)' >/dev/null 2>&1; then
  horde=horde
else
  horde=no_horde
fi
if [ "$part" = horde ] && [ "$horde" = no_horde ]; then
  echo "SKIPPED elixir/$part: Horde is not on the code path (ERL_LIBS='${ERL_LIBS:-}'); the app-shaped test needs Horde 0.10.0"
  exit 77
fi

export HORDE_CNODE_HORDE=code_path
export HORDE_CNODE_EXECUTABLE="$binary_dir/app/horde-cnode"
export MIX_ENV=test
# One build directory per mode: the Mix project's deps and applications differ.
export MIX_BUILD_PATH="$binary_dir/elixir/_build/$horde"
export ERL_EPMD_ADDRESS=127.0.0.1
cd "$root/elixir" || exit 1
echo "elixir/$part: mix test $* (Horde: $horde, program: $HORDE_CNODE_EXECUTABLE)"
exec mix test "$@"
