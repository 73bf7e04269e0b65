#!/usr/bin/env bash
# Installs what the tests and benchmarks need when it is missing: redis-server (differential tests) and
# redis-tools (redis-cli, redis-benchmark). Runs as root on Debian; elsewhere it says what to install.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${need[*]}; install them (Debian: apt-get install -y ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq "${need[@]}"
# Debian's package starts a service on 6379; the tests start their own servers on free ports.
(service redis-server stop || systemctl stop redis-server || pkill -x redis-server) >/dev/null 2>&1 || true
