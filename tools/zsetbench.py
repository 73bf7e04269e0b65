#!/usr/bin/env python3
"""Sorted-set efficiency, Rustis against redis-server, A B A B on one machine (issue 11's figure).

    python3 tools/zsetbench.py [--repeat 3] [--requests 1000000] [--members 1000000]

Requests per server CPU-second (utime+stime from /proc/PID/stat around the load) for:

  zadd,zpopmin   redis-benchmark -t zadd,zpopmin -c 50 [-P 64]    (its own ZADD and ZPOPMIN tests)
  zrank          ZRANK bigz m:__rand_int__ on a sorted set of --members members
  zrange-rank    ZRANGE bigz 500000 500009 (by index, in the middle: the rank walk)
  zrange-score   ZRANGE bigz __rand_int__ +inf BYSCORE LIMIT 0 10

Each measurement starts a fresh server on a free port, loads `bigz` (member m:<12-digit i>, score i)
when the load needs it, warms up with the load, then measures it. Medians and ratios printed.
"""

import argparse
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmark  # noqa: E402


def load_bigz(port: int, members: int) -> None:
    """ZADD bigz i m:<i> for i below `members`, 1000 pairs a command, pipelined."""
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    sent = 0
    for base in range(0, members, 1000):
        args = [b"ZADD", b"bigz"]
        for i in range(base, min(base + 1000, members)):
            args += [str(i).encode(), b"m:%012d" % i]
        s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        sent += 1
        if sent % 50 == 0:
            for _ in range(50):
                f.readline()
    for _ in range(sent % 50):
        f.readline()
    s.close()


def run_load(argv: list, load: list, members: int) -> float:
    port = benchmark.free_port()
    srv = benchmark.start_server(argv[0], [a.replace("{port}", str(port)) for a in argv], port)
    try:
        if "bigz" in load:
            load_bigz(port, members)
        base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--csv"]
        subprocess.run(base + load, capture_output=True, timeout=900, check=True)
        before = benchmark.cpu_seconds(srv.pid)
        subprocess.run(base + load, capture_output=True, text=True, timeout=900, check=True)
        used = benchmark.cpu_seconds(srv.pid) - before
        n = int(load[load.index("-n") + 1])
        tests = 2 if "zadd,zpopmin" in load else 1
        return n * tests / used if used > 0 else float("inf")
    finally:
        srv.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--members", type=int, default=1_000_000)
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    args = p.parse_args()
    benchmark.raise_fd_limit()
    rustis = [args.rustis_bin, "--save", "", "--port", "{port}", "--loglevel", "warning"]
    redis = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    n = args.requests
    plain_n = str(max(50_000, n // 10))
    loads = {
        "zadd,zpopmin P64": ["-t", "zadd,zpopmin", "-c", "50", "-P", "64", "-r", "1000000", "-n", str(n)],
        "zadd,zpopmin": ["-t", "zadd,zpopmin", "-c", "50", "-r", "1000000", "-n", plain_n],
        "zrank P64": ["-c", "50", "-P", "64", "-r", str(args.members), "-n", str(n), "zrank", "bigz", "m:__rand_int__"],
        "zrange-rank P64": ["-c", "50", "-P", "64", "-n", str(n), "zrange", "bigz", str(args.members // 2),
                            str(args.members // 2 + 9)],
        "zrange-score P64": ["-c", "50", "-P", "64", "-r", str(args.members), "-n", str(n), "zrange", "bigz",
                             "__rand_int__", "+inf", "BYSCORE", "LIMIT", "0", "10"],
    }
    for title, load in loads.items():
        ra, rb = [], []
        for _ in range(args.repeat):
            ra.append(run_load(rustis, load, args.members))
            rb.append(run_load(redis, load, args.members))
        ma, mb = statistics.median(ra), statistics.median(rb)
        print(f"{title:<18} rustis {ma:>11,.0f} req/cpu-s  redis {mb:>11,.0f} req/cpu-s  ratio {ma / mb:5.2f}"
              f"   (runs: {', '.join(f'{x:,.0f}' for x in ra)} | {', '.join(f'{x:,.0f}' for x in rb)})",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
