#!/usr/bin/env bash
# The README's second command: builds if needed and runs the whole test suite.
# Tiers (CTest labels):
#   unit  - self-contained C++ tests (always)
#   beam  - tests against real `erl`/`elixir` nodes from Debian (always)
#   fuzz  - a short libFuzzer run of the term decoder (when clang is installed)
#   horde - tests against real Horde 0.10.0; they run when ERL_LIBS provides
#           Horde and report "Skipped" otherwise.
#   elixir - the ExUnit suite of the Elixir library (elixir/, scripts/mix-test.sh):
#           placement, HordeCnode.Node, no orphan after kill -9 (always); the
#           app-shaped test elixir/horde_app and the :horde-tagged tests only
#           with Horde in ERL_LIBS (skipped, and said so, otherwise).
# Extra arguments go to ctest (e.g. -L unit, -R registry).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
fi
cmake --build build -j"$(nproc)" > build.log 2>&1 || { tail -50 build.log; exit 1; }

if ERL_LIBS="${ERL_LIBS:-}" timeout 60 elixir -e 'System.halt(if Code.ensure_loaded?(Horde.Registry), do: 0, else: 1)' >/dev/null 2>&1; then
  horde_tier="runs (Horde found in ERL_LIBS=${ERL_LIBS})"
else
  horde_tier="SKIPPED (no Horde in ERL_LIBS; set ERL_LIBS to a directory holding horde, delta_crdt, merkle_map, libring, telemetry)"
fi
if ! command -v mix >/dev/null 2>&1; then
  elixir_tier="SKIPPED (mix not installed)"
elif [[ "$horde_tier" == runs* ]]; then
  elixir_tier="runs: placement, HordeCnode.Node, no-orphan, and with Horde: the app-shaped test (elixir/horde_app) and the live strategy comparison"
else
  elixir_tier="runs: placement, HordeCnode.Node, no-orphan; SKIPPED without Horde: the app-shaped test (elixir/horde_app) and the :horde-tagged ExUnit tests"
fi
echo "==> tier unit: runs"
echo "==> tier beam: runs ($(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'))"
echo "==> tier horde: ${horde_tier}"
echo "==> tier elixir: ${elixir_tier}"

# Every epmd a test starts listens on loopback only.
export ERL_EPMD_ADDRESS=127.0.0.1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir build --output-on-failure --timeout 900 -j2 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

total=$(sed -n 's/.*tests failed out of \([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/.*, \([0-9][0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
skipped=$(grep -c '(Skipped)$' "$log" || true)
total=${total:-0}; failed=${failed:-0}
passed=$(( total - failed - skipped ))
echo
echo "==> horde tier: ${horde_tier}"
echo "==> elixir tier: ${elixir_tier}"
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
