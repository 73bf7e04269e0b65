#!/usr/bin/env bash
# Profiles the release server under a redis-benchmark load and renders a flamegraph; prints the SVG's path.
# perf samples the software cpu-clock event (VMs often have no hardware counters) with DWARF call
# graphs (the release profile keeps debug=1 line tables; frame pointers are not kept); inferno folds
# the stacks and draws the SVG. The server is always stopped on exit, Ctrl-C included.
#   PORT=16399 SECONDS_TO_PROFILE=8 OUT=flamegraph.svg THREADS= LOAD="-t get -P 64 -c 50 -n 2000000" \
#     bash tools/flamegraph.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-16399}
OUT=${OUT:-flamegraph.svg}
THREADS=${THREADS:-}          # empty: the server's own default (one worker per core)
LOAD=${LOAD:--t set,get -P 16 -c 50 -n 2000000 -r 100000}
SECONDS_TO_PROFILE=${SECONDS_TO_PROFILE:-8}
CALL_GRAPH=${CALL_GRAPH:-dwarf,16384}   # or: fp (smaller perf.data, shallower stacks)

command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools" >&2; exit 1; }
if ! command -v perf >/dev/null; then
  echo "perf missing; installing linux-perf" >&2
  { apt-get install -y -qq linux-perf || { apt-get update -qq && apt-get install -y -qq linux-perf; }; } >/dev/null ||
    { echo "install perf first: apt-get install linux-perf (Debian) or linux-tools-\$(uname -r) (Ubuntu)" >&2; exit 1; }
fi
if ! command -v inferno-flamegraph >/dev/null || ! command -v inferno-collapse-perf >/dev/null; then
  echo "inferno missing; installing it with cargo (one time)" >&2
  cargo install --quiet inferno
fi
[ -x target/release/rustis ] || cargo build --release
if redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
  echo "port $PORT is taken; choose another with PORT=..." >&2; exit 1
fi

tmp=$(mktemp -d)
server= perf_pid=
cleanup() {
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

./target/release/rustis --save "" --port "$PORT" --bind 127.0.0.1 --loglevel warning ${THREADS:+--threads "$THREADS"} &
server=$!
for _ in $(seq 100); do
  kill -0 "$server" 2>/dev/null || { echo "rustis exited at start" >&2; exit 1; }
  redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
# Warm up (fills the keyspace), then record for a fixed time while the load runs.
timeout 120 redis-benchmark -h 127.0.0.1 -p "$PORT" -t set -P 16 -c 50 -n 500000 -r 100000 -q >/dev/null
perf record -e cpu-clock -F 999 --call-graph "$CALL_GRAPH" -p "$server" -o "$tmp/perf.data" \
  -- sleep "$SECONDS_TO_PROFILE" >"$tmp/perf.log" 2>&1 &
perf_pid=$!
# shellcheck disable=SC2086  # LOAD is a list of arguments
timeout 120 redis-benchmark -h 127.0.0.1 -p "$PORT" $LOAD -q >/dev/null || true
wait "$perf_pid" || { echo "perf record failed:" >&2; cat "$tmp/perf.log" >&2; exit 1; }
perf_pid=
perf script -i "$tmp/perf.data" 2>/dev/null | inferno-collapse-perf > "$tmp/stacks.folded"
[ -s "$tmp/stacks.folded" ] || { echo "no samples recorded:" >&2; cat "$tmp/perf.log" >&2; exit 1; }
inferno-flamegraph --title "rustis under redis-benchmark $LOAD" < "$tmp/stacks.folded" > "$OUT"
realpath "$OUT"
