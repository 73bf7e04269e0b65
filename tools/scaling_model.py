#!/usr/bin/env python3
"""A model of Rustis's throughput past this 2-core machine: docs/scaling.md explains it.

    python3 tools/scaling_model.py                 # predictions from the costs measured here (below)
    python3 tools/scaling_model.py --measure       # measure the costs on this machine first (minutes)

Inputs are server CPU microseconds per request, measured with redis-benchmark on loopback
(requests per server CPU-second, as tools/efficiency.py measures them):
  local_p     a pipelined request whose key the connection's worker owns   (--threads 1, -P 64)
  extra_p     what a pipelined request on a foreign key adds (forwarded, batched), derived from
              --threads 2: half the keys are foreign, so extra = 2 * (cost_2 - cost_1)
  local_1     a non-pipelined request on a local key (one read, one write, one epoll wake each)
  extra_1     what a non-pipelined request on a foreign key adds, as measured with --threads 2
              (a mix of borrowed shards and forwarded requests, whichever the owner's state allowed)
  borrow_1    the same when every foreign request borrows (the owner parked): one CAS and one store

With N workers and keys spread uniformly, a request is foreign with probability (N-1)/N. Each
worker has a core of its own and the load generator other cores; the server is CPU-bound, so
throughput = N / (CPU per request). With a fraction p of pipelined requests:
  cpu(N) = p * (local_p + f * extra_p) + (1 - p) * (local_1 + f * extra_1),   f = (N - 1) / N
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

# Measured on the project's 2-vCPU VM at 8e636b7 with `--measure` (quiet machine; medians of 3);
# GET, 50 clients, random keys over 1M. docs/scaling.md has the earlier, busier run too.
MEASURED = {
    "local_p": 0.365,   # --threads 1, -P 64: 2.74M req per server CPU-second
    "extra_p": 0.290,   # --threads 2, -P 64: 1.96M req/cpu-s, half the keys foreign
    "local_1": 13.35,   # --threads 1, no pipelining: 74.9k req/cpu-s
    "extra_1": 0.0,     # --threads 2, no pipelining: as efficient as one worker (clamped at 0)
    "borrow_1": 0.1,    # one CAS, one flag load, one store, the shard's INFO figures (estimate)
}

# Dragonfly's published figures (dragonflydb.io, "2024 New Year, New Number", c7gn.16xlarge,
# memtier_benchmark, max ops/s with P99.9 < 10 ms), threads -> ops/s.
DRAGONFLY = {1: 302_603, 2: 329_755, 4: 744_708, 8: 1_370_980, 16: 2_749_539, 32: 4_263_950, 64: 6_432_982}


def cpu_per_request(c: dict, n: int, pipelined: float, all_borrowed: bool = False) -> float:
    f = (n - 1) / n
    extra_1 = c["borrow_1"] if all_borrowed else c["extra_1"]
    return pipelined * (c["local_p"] + f * c["extra_p"]) + (1 - pipelined) * (c["local_1"] + f * extra_1)


def predict(c: dict, workers=(1, 2, 4, 16, 64), mixes=(0.0, 0.5, 1.0)) -> list:
    rows = []
    for n in workers:
        for p in mixes:
            us = cpu_per_request(c, n, p)
            best = cpu_per_request(c, n, p, all_borrowed=True)
            rows.append({"workers": n, "pipelined": p, "us_per_req": us,
                         "rps": n / us * 1e6, "rps_all_borrowed": n / best * 1e6})
    return rows


def measure() -> dict:
    import efficiency  # noqa: E402  (tools/efficiency.py)
    rustis = [str(ROOT / "target" / "release" / "rustis"), "--save", "", "--port", "{port}", "--loglevel", "warning"]
    pipelined = ["-t", "get", "-c", "50", "-P", "64", "-r", "1000000", "-n", "2000000"]
    plain = ["-t", "get", "-c", "50", "-r", "1000000", "-n", "200000"]

    def rate(threads, load):
        runs = sorted(efficiency.run_load(rustis + ["--threads", str(threads)], load)[0] for _ in range(3))
        return runs[1] / 1e6  # median, in M req per CPU-second

    p1, p2, s1, s2 = rate(1, pipelined), rate(2, pipelined), rate(1, plain), rate(2, plain)
    return {"local_p": 1 / p1, "extra_p": max(0.0, 2 * (1 / p2 - 1 / p1)),
            "local_1": 1 / s1, "extra_1": max(0.0, 2 * (1 / s2 - 1 / s1)), "borrow_1": MEASURED["borrow_1"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", action="store_true", help="measure the costs here first")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    c = measure() if args.measure else MEASURED
    rows = predict(c)
    if args.json:
        print(json.dumps({"costs_us": c, "rows": rows}, indent=1))
        return 0
    print("costs, server CPU us per request: " + ", ".join(f"{k} {v:.3f}" for k, v in c.items()))
    print(f"{'workers':>7} {'pipelined':>9} {'us/req':>8} {'predicted rps':>14} {'if all borrowed':>16}")
    for r in rows:
        print(f"{r['workers']:>7} {r['pipelined']:>9.0%} {r['us_per_req']:>8.3f} {r['rps']:>14,.0f} "
              f"{r['rps_all_borrowed']:>16,.0f}")
    print("Dragonfly (published, non-pipelined memtier, c7gn.16xlarge): "
          + ", ".join(f"{n} thr {v:,}" for n, v in DRAGONFLY.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
