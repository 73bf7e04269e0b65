#!/usr/bin/env bash
# Profiles the release server under a redis-benchmark load with perf (software cpu-clock event: these VMs
# have no hardware counters) and renders a flamegraph with inferno. Prints the SVG's path.
#   PORT=16399 SECONDS_TO_PROFILE=10 OUT=flamegraph.svg bash tools/flamegraph.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-16399}
OUT=${OUT:-flamegraph.svg}
LOAD=${LOAD:--t set,get -P 16 -c 50 -n 3000000 -r 1000000}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools" >&2; exit 1; }
if ! command -v perf >/dev/null; then
  echo "perf missing; installing linux-perf" >&2
  apt-get install -y -qq linux-perf >/dev/null || { echo "install perf: apt-get install linux-perf" >&2; exit 1; }
fi
if ! command -v inferno-flamegraph >/dev/null; then
  echo "inferno missing; installing it with cargo (one time)" >&2
  cargo install --quiet inferno
fi
[ -x target/release/rustis ] || cargo build --release
tmp=$(mktemp -d)
./target/release/rustis --port "$PORT" --loglevel warning & server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# Warm up (fills the keyspace), then record while the load runs.
redis-benchmark -p "$PORT" -t set -P 16 -c 50 -n 1000000 -r 1000000 -q >/dev/null
perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$server" -o "$tmp/perf.data" -- sleep "${SECONDS_TO_PROFILE:-8}" >/dev/null 2>&1 &
perf_pid=$!
# shellcheck disable=SC2086
timeout 120 redis-benchmark -p "$PORT" $LOAD -q >/dev/null || true
wait $perf_pid || true
perf script -i "$tmp/perf.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph --title "rustis: $LOAD" > "$OUT"
echo "$(pwd)/$OUT"
