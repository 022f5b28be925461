#!/usr/bin/env bash
# The README's first command. On a fresh Debian machine: installs every
# dependency from Debian's packages, builds horde-cnode, then runs the demo
# (a C++ node with its default registry and supervisor next to a local BEAM
# node, names registered, looked up and called across them).
#
#   scripts/setup.sh            install + build + demo
#   scripts/setup.sh --no-demo  install + build only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")/.."

run_demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) run_demo=0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

packages=(erlang-nox erlang-dev elixir libboost-dev libboost-test-dev libboost-program-options-dev libssl-dev openssl cmake g++ make)
# clang and its fuzzer runtime are optional: the fuzz smoke test uses them.
optional_packages=(clang libclang-rt-14-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}" "${optional_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional_packages[@]}" \
    || echo "==> optional packages (${optional_packages[*]}) not installed: the fuzz smoke test will be skipped"
fi

echo "==> building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "==> built build/app/horde-cnode (log: build.log)"

if [ "$run_demo" -eq 1 ]; then
  exec scripts/demo.sh
fi
