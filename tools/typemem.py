#!/usr/bin/env python3
"""Memory per data type: Rustis against redis-server, filled with the same commands in the same run.

Each workload starts a fresh server, records its resident set size (VmRSS from /proc) and INFO
used_memory, feeds the workload through `redis-cli --pipe`, and records both again. The figure is the
growth (after minus before) and the whole RSS after, for both servers; ratios are Rustis over Redis.

    python3 tools/typemem.py [--only zset,stream,hll] [--threads 2] [--keys 100000]

Workloads (the issue-11 figures):
- zset:   --keys sorted sets `z:N` of 10 members (`member:I` scored I) each;
- stream: --keys streams `s:N` of 10 entries (`XADD s:N * field value`) each;
- hll:    one HyperLogLog of 10M distinct elements (PFADD in batches of 1000).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def resp(*args):
    """One command in RESP, as bytes."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def zset_load(keys):
    for n in range(keys):
        args = ["ZADD", f"z:{n}"]
        for i in range(10):
            args += [str(i), f"member:{i}"]
        yield resp(*args)


def stream_load(keys):
    for n in range(keys):
        for i in range(10):
            yield resp("XADD", f"s:{n}", "*", "field", f"value{i}")


def hll_load(_keys):
    total = 10_000_000
    batch = 1000
    for b in range(total // batch):
        yield resp("PFADD", "hll", *[f"e{b * batch + i}" for i in range(batch)])


WORKLOADS = {"zset": zset_load, "stream": stream_load, "hll": hll_load}


def info_used_memory(port):
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "info", "memory"], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory in INFO")


def rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def wait_up(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def start(server, port, threads, workdir):
    if server == "redis":
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir]
    else:
        cmd = [str(ROOT / "target" / "release" / "rustis"), "--save", "", "--dir", workdir, "--port", str(port), "--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(port, proc)
    return proc


def measure(server, workload, keys, port, threads):
    with tempfile.TemporaryDirectory() as d:
        proc = start(server, port, threads, d)
        try:
            time.sleep(0.3)
            r0, u0 = rss(proc.pid), info_used_memory(port)
            feed = subprocess.Popen(
                ["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            buf = []
            size = 0
            for chunk in WORKLOADS[workload](keys):
                buf.append(chunk)
                size += len(chunk)
                if size > 1 << 20:
                    feed.stdin.write(b"".join(buf))
                    buf, size = [], 0
            feed.stdin.write(b"".join(buf))
            feed.stdin.close()
            summary = feed.stdout.read().decode()
            feed.wait()
            if "errors: 0" not in summary:
                raise RuntimeError(f"{server} {workload}: {summary.strip()}")
            time.sleep(0.5)
            r1, u1 = rss(proc.pid), info_used_memory(port)
            return {"rss": r1, "rss_growth": r1 - r0, "used": u1, "used_growth": u1 - u0}
        finally:
            proc.terminate()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="zset,stream,hll")
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=17090)
    a = ap.parse_args()
    if not (ROOT / "target" / "release" / "rustis").exists():
        sys.exit("build first: cargo build --release")
    print("| workload | Rustis RSS / growth (MB) | Redis RSS / growth (MB) | RSS ratio | growth ratio | used_memory growth ratio |")
    print("|---|---|---|---|---|---|")
    for w in a.only.split(","):
        ours = measure("rustis", w, a.keys, a.port, a.threads)
        theirs = measure("redis", w, a.keys, a.port + 1, a.threads)
        mb = lambda v: f"{v / 1e6:.1f}"
        print(
            f"| {w} | {mb(ours['rss'])} / {mb(ours['rss_growth'])} | {mb(theirs['rss'])} / {mb(theirs['rss_growth'])} "
            f"| {ours['rss'] / theirs['rss']:.2f} | {ours['rss_growth'] / max(1, theirs['rss_growth']):.2f} "
            f"| {ours['used_growth'] / max(1, theirs['used_growth']):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    main()
