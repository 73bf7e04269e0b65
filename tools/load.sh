#!/usr/bin/env bash
# A bounded redis-benchmark load on 127.0.0.1: tools/load.sh [PORT] [redis-benchmark args...]
# Default args: -t set,get -P 16 -c 50 -n 1000000 -r 1000000. Killed after TIMEOUT seconds (default 300).
# Useful next to `perf top -p PID` or tools/cpu_sample.py while a server runs.
set -euo pipefail
port=${1:-6379}
[[ $port =~ ^[0-9]+$ ]] || { echo "usage: tools/load.sh [PORT] [redis-benchmark args...]" >&2; exit 2; }
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-t set,get -P 16 -c 50 -n 1000000 -r 1000000)
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools" >&2; exit 1; }
exec timeout "${TIMEOUT:-300}" redis-benchmark -h 127.0.0.1 -p "$port" -q "${args[@]}"
