#!/usr/bin/env python3
"""Server efficiency and latency, Rustis against redis-server, A B A B on one machine.

    python3 tools/efficiency.py [--repeat 3] [--requests 2000000] [--only pipelined,plain,threads,latency]

Each measurement starts a fresh server on a free port, warms it up with the same load (which also
fills the keyspace), then runs the load once more and reads the server's CPU time (utime+stime from
/proc/PID/stat) around it. The two sides alternate, `--repeat` times; medians and ratios printed.

  pipelined   redis-benchmark -t T -c 50 -P 64 -r 1000000   requests per server CPU-second, T = get, set
  plain       redis-benchmark -t T -c 50 -r 1000000         the same without pipelining
  threads     the pipelined load on rustis --threads 2 against --threads 1: CPU per request ratio
  latency     redis-benchmark -t T -c 1 -r 1000000          one client, no pipelining: p50 and p99

Requests per CPU-second do not depend on how much CPU the load generator takes from the servers;
latency does, which is why it is compared in the same run, alternating.
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmark  # noqa: E402


def run_load(argv: list, load: list, warm: bool = True):
    """Starts a server, warms it up, runs the load; returns (requests per server CPU-second, csv row)."""
    port = benchmark.free_port()
    srv = benchmark.start_server(argv[0], [a.replace("{port}", str(port)) for a in argv], port)
    try:
        base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--csv"]
        if warm:
            subprocess.run(base + load, capture_output=True, timeout=900, check=True)
        before = benchmark.cpu_seconds(srv.pid)
        out = subprocess.run(base + load, capture_output=True, text=True, timeout=900, check=True).stdout
        used = benchmark.cpu_seconds(srv.pid) - before
        n = int(load[load.index("-n") + 1])
        rows = benchmark.parse_csv_output(out)
        return (n / used if used > 0 else float("inf")), (rows[0] if rows else {})
    finally:
        srv.stop()


def compare_cpu(title: str, a: tuple, b: tuple, load: list, repeat: int) -> float:
    ra, rb = [], []
    for _ in range(repeat):
        ra.append(run_load(a[1], load)[0])
        rb.append(run_load(b[1], load)[0])
    ma, mb = statistics.median(ra), statistics.median(rb)
    print(f"{title:<16} {a[0]:<18} {ma:>11,.0f} req/cpu-s  {b[0]:<18} {mb:>11,.0f} req/cpu-s  ratio {ma / mb:5.2f}"
          f"   (runs: {', '.join(f'{x:,.0f}' for x in ra)} | {', '.join(f'{x:,.0f}' for x in rb)})", flush=True)
    return ma / mb


def compare_latency(title: str, a: tuple, b: tuple, load: list, repeat: int) -> None:
    la, lb = [], []
    for _ in range(repeat):
        la.append(run_load(a[1], load)[1])
        lb.append(run_load(b[1], load)[1])

    def med(rows, key):
        vals = [r.get(key) for r in rows if r.get(key) == r.get(key) and r.get(key) is not None]
        return statistics.median(vals) if vals else float("nan")

    parts = []
    for key in ("p50_ms", "p99_ms"):
        x, y = med(la, key), med(lb, key)
        parts.append(f"{key[:3]} {x * 1000:6.1f} / {y * 1000:6.1f} us  ratio {x / y if y else float('nan'):4.2f}")
    print(f"{title:<16} {a[0]} / {b[0]}: " + "   ".join(parts), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--requests", type=int, default=2_000_000)
    p.add_argument("--only", default="pipelined,plain,threads,latency")
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    args = p.parse_args()
    only = set(args.only.split(","))
    benchmark.raise_fd_limit()
    rustis = [args.rustis_bin, "--save", "", "--port", "{port}", "--loglevel", "warning"]
    redis = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    n = args.requests
    for t in ("get", "set"):
        pipelined = ["-t", t, "-c", "50", "-P", "64", "-r", "1000000", "-n", str(n)]
        plain = ["-t", t, "-c", "50", "-r", "1000000", "-n", str(max(100_000, n // 10))]
        one = ["-t", t, "-c", "1", "-r", "1000000", "-n", str(max(20_000, n // 50))]
        if "pipelined" in only:
            compare_cpu(f"pipelined {t}", ("rustis", rustis), ("redis", redis), pipelined, args.repeat)
        if "plain" in only:
            compare_cpu(f"plain {t}", ("rustis", rustis), ("redis", redis), plain, args.repeat)
        if "threads" in only:
            r = compare_cpu(f"threads {t}", ("rustis --threads 2", rustis + ["--threads", "2"]),
                            ("rustis --threads 1", rustis + ["--threads", "1"]), pipelined, args.repeat)
            print(f"{'':<16} CPU per request, --threads 2 over --threads 1: {1 / r:4.2f}", flush=True)
        if "latency" in only:
            compare_latency(f"latency {t}", ("rustis", rustis), ("redis", redis), one, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
