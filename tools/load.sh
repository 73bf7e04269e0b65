#!/usr/bin/env bash
# A bounded redis-benchmark load against a port: tools/load.sh PORT [redis-benchmark args...]
# (default: -t set,get -P 16 -c 50 -n 1000000 -r 1000000). Stops after 300 s at most.
set -euo pipefail
port=${1:-6379}
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-t set,get -P 16 -c 50 -n 1000000 -r 1000000)
exec timeout 300 redis-benchmark -p "$port" -q "${args[@]}"
