#!/usr/bin/env python3
"""Server efficiency: requests per server CPU-second, Rustis against redis-server, A B A B.

    python3 tools/efficiency.py [--repeat 3] [--requests 2000000]

Three comparisons, each on fresh servers started on free ports, alternating the two sides:
  pipelined      redis-benchmark -t set,get -c 50 -P 64 -r 1000000   rustis (default threads) vs redis
  non-pipelined  redis-benchmark -t set,get -c 50 -r 1000000          rustis (default threads) vs redis
  forwarding     the pipelined load on rustis --threads 2 vs rustis --threads 1
Server CPU is utime+stime from /proc/PID/stat read before and after each run; each run is preceded
by a warm-up run that fills the keyspace. Prints medians and ratios.
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmark  # noqa: E402


def measure(argv: list, load: list) -> float:
    """Starts a server, warms it up, runs the load; returns requests per server CPU-second."""
    port = benchmark.free_port()
    srv = benchmark.start_server(argv[0], [a.replace("{port}", str(port)) for a in argv], port)
    try:
        base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q"]
        subprocess.run(base + load, capture_output=True, timeout=900, check=True)
        before = benchmark.cpu_seconds(srv.pid)
        subprocess.run(base + load, capture_output=True, timeout=900, check=True)
        used = benchmark.cpu_seconds(srv.pid) - before
        n = int(load[load.index("-n") + 1]) * len(load[load.index("-t") + 1].split(","))
        return n / used if used > 0 else float("inf")
    finally:
        srv.stop()


def compare(title: str, a: tuple, b: tuple, load: list, repeat: int) -> None:
    ra, rb = [], []
    for _ in range(repeat):
        ra.append(measure(a[1], load))
        rb.append(measure(b[1], load))
    ma, mb = statistics.median(ra), statistics.median(rb)
    print(f"{title:<14} {a[0]:<18} {ma:>12,.0f} req/cpu-s   {b[0]:<18} {mb:>12,.0f} req/cpu-s   ratio {ma / mb:5.2f}"
          f"   (runs: {', '.join(f'{x:,.0f}' for x in ra)} | {', '.join(f'{x:,.0f}' for x in rb)})", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--requests", type=int, default=2_000_000)
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    args = p.parse_args()
    benchmark.raise_fd_limit()
    rustis = [args.rustis_bin, "--port", "{port}", "--loglevel", "warning"]
    redis = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    n = str(args.requests)
    pipelined = ["-t", "set,get", "-c", "50", "-P", "64", "-r", "1000000", "-n", n]
    plain = ["-t", "set,get", "-c", "50", "-r", "1000000", "-n", str(max(100_000, args.requests // 10))]
    compare("pipelined", ("rustis", rustis), ("redis", redis), pipelined, args.repeat)
    compare("non-pipelined", ("rustis", rustis), ("redis", redis), plain, args.repeat)
    compare("forwarding", ("rustis --threads 2", rustis + ["--threads", "2"]),
            ("rustis --threads 1", rustis + ["--threads", "1"]), pipelined, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
