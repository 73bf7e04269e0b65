#!/usr/bin/env python3
"""Scripting throughput, Rustis against redis-server, A B A B on one machine.

    python3 tools/scriptbench.py [--repeat 3] [--requests 200000] [--clients 50]

Each measurement starts a fresh server on a free port, SCRIPT LOADs the script, warms up with the
same load, then runs the load once more and reads the server's CPU time (utime+stime from
/proc/PID/stat) around it: EVALSHA calls per server CPU-second, medians of `--repeat` alternating
runs, and their ratio.

  one-key   EVALSHA of `redis.call('incr', KEYS[1]); return redis.call('get', KEYS[1])` on random
            keys (on a 2-worker Rustis half of them belong to the other worker)
  tagged    two INCRs on keys that share a random hash tag, so both live on one worker: KEYS[1] is
            `{n}` and the script derives `{n}b` from it (redis-benchmark draws every
            __rand_int__ of a command apart, so two declared keys could not share the tag)
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmark  # noqa: E402

SCRIPTS = {
    "one-key": ("redis.call('incr', KEYS[1]); return redis.call('get', KEYS[1])",
                ["1", "k:__rand_int__"]),
    "tagged": ("redis.call('incr', KEYS[1]); return redis.call('incr', KEYS[1] .. 'b')",
               ["1", "{__rand_int__}"]),
}


def run_load(argv: list, script: str, keys: list, n: int, clients: int, pipeline: int) -> float:
    port = benchmark.free_port()
    srv = benchmark.start_server(argv[0], [a.replace("{port}", str(port)) for a in argv], port)
    try:
        cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
        sha = subprocess.run(cli + ["SCRIPT", "LOAD", script], capture_output=True, text=True,
                             timeout=60, check=True).stdout.strip()
        load = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-c", str(clients),
                "-P", str(pipeline), "-r", "100000", "-n", str(n), "EVALSHA", sha] + keys
        subprocess.run(load, capture_output=True, timeout=900, check=True)
        before = benchmark.cpu_seconds(srv.pid)
        subprocess.run(load, capture_output=True, timeout=900, check=True)
        used = benchmark.cpu_seconds(srv.pid) - before
        return n / used if used > 0 else float("inf")
    finally:
        srv.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipeline", type=int, default=1)
    p.add_argument("--only", default="one-key,tagged")
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    p.add_argument("--threads", type=int, default=0, help="rustis --threads (0: its default)")
    args = p.parse_args()
    benchmark.raise_fd_limit()
    rustis = [args.rustis_bin, "--save", "", "--port", "{port}", "--loglevel", "warning"]
    if args.threads:
        rustis += ["--threads", str(args.threads)]
    redis = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    for name in args.only.split(","):
        script, keys = SCRIPTS[name]
        ra, rb = [], []
        for _ in range(args.repeat):
            ra.append(run_load(rustis, script, keys, args.requests, args.clients, args.pipeline))
            rb.append(run_load(redis, script, keys, args.requests, args.clients, args.pipeline))
        ma, mb = statistics.median(ra), statistics.median(rb)
        print(f"{name:<8} P{args.pipeline:<3} rustis {ma:>10,.0f} calls/cpu-s   redis {mb:>10,.0f} calls/cpu-s"
              f"   ratio {ma / mb:5.2f}   (runs: {', '.join(f'{x:,.0f}' for x in ra)} | "
              f"{', '.join(f'{x:,.0f}' for x in rb)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
