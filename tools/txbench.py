#!/usr/bin/env python3
"""Transactions per server CPU-second, Rustis against redis-server, A B A B on one machine.

    python3 tools/txbench.py [--clients 50] [--seconds 5] [--repeat 3] [--pipeline 1] [--rustis-bin B]

Each client runs `MULTI; INCRBY k1 1; DECRBY k2 1; EXEC` in a loop (the four commands sent in
one write, the four replies read back; `--pipeline N` sends N such transactions per write), for a
fixed time. Two placements of the keys:

  apart       k1 and k2 owned by different Rustis workers (the atomic step holds both shards)
  colocated   {tx}k1 and {tx}k2: one hash tag, one owner

Each run starts a fresh server on a free port and reads its CPU time (utime+stime from
/proc/PID/stat) around the load; the figure is transactions per server CPU-second, which does
not depend on how fast this Python load generator is. The invariant k1 + k2 == 0 is checked at
the end of every run. Medians and ratios are printed.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def encode(*args: str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


async def read_reply(r: asyncio.StreamReader) -> bytes:
    line = await r.readline()
    kind = line[:1]
    if kind in (b"+", b"-", b":"):
        return line
    if kind == b"$":
        n = int(line[1:])
        return line + (await r.readexactly(n + 2) if n >= 0 else b"")
    if kind == b"*":
        n = int(line[1:])
        parts = [line]
        for _ in range(max(n, 0)):
            parts.append(await read_reply(r))
        return b"".join(parts)
    raise RuntimeError(f"unexpected reply {line!r}")


async def client(port: int, k1: str, k2: str, until: float, counts: list, pipeline: int) -> None:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    block = encode("MULTI") + encode("INCRBY", k1, "1") + encode("DECRBY", k2, "1") + encode("EXEC")
    n = 0
    while time.monotonic() < until:
        w.write(block * pipeline)
        for _ in range(pipeline):
            for _ in range(4):
                reply = await read_reply(r)
            if not reply.startswith(b"*2\r\n"):
                raise RuntimeError(f"EXEC replied {reply!r}")
            n += 1
    counts.append(n)
    w.close()


async def load(port: int, clients: int, seconds: float, k1: str, k2: str, pipeline: int) -> int:
    counts: list = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(port, k1, k2, until, counts, pipeline) for _ in range(clients)))
    return sum(counts)


def sync_call(port: int, *args: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(encode(*args))
        return s.recv(1 << 16)


def start(kind: str, port: int, rustis_bin: str) -> subprocess.Popen:
    if kind == "redis":
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--dir", "/tmp"]
    else:
        cmd = [rustis_bin, "--save", "", "--port", str(port)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if sync_call(port, "PING").startswith(b"+PONG"):
                return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError(f"{kind} did not start")


def keys_apart() -> tuple:
    """Two keys on different workers of a 2-worker Rustis (CRC16 slot ranges, as keyslot.rs)."""
    def crc16(data: bytes) -> int:
        crc = 0
        for b in data:
            crc ^= b << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
                crc &= 0xFFFF
        return crc
    owner = lambda k: (crc16(k.encode()) % 16384) * 2 // 16384
    a = "k1"
    b = next(f"k2:{i}" for i in range(1000) if owner(f"k2:{i}") != owner(a))
    return a, b


def run_once(kind: str, placement: str, args) -> float:
    port = free_port()
    p = start(kind, port, args.rustis_bin)
    try:
        k1, k2 = keys_apart() if placement == "apart" else ("{tx}k1", "{tx}k2")
        asyncio.run(load(port, args.clients, 0.5, k1, k2, args.pipeline))  # warm-up
        c0 = cpu_seconds(p.pid)
        n = asyncio.run(load(port, args.clients, args.seconds, k1, k2, args.pipeline))
        c1 = cpu_seconds(p.pid)
        total = sync_call(port, "MGET", k1, k2).split(b"\r\n")
        v1, v2 = int(total[2]), int(total[4])
        assert v1 + v2 == 0, f"{kind}: k1 + k2 = {v1 + v2}"
        return n / max(c1 - c0, 1e-9)
    finally:
        p.terminate()
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    args = ap.parse_args()
    for placement in ("apart", "colocated"):
        runs = {"rustis": [], "redis": []}
        for _ in range(args.repeat):
            for kind in ("rustis", "redis"):
                runs[kind].append(run_once(kind, placement, args))
        a, b = statistics.median(runs["rustis"]), statistics.median(runs["redis"])
        print(f"tx P{args.pipeline} {placement:<10} rustis {a:>10,.0f} tx/cpu-s  redis {b:>10,.0f} tx/cpu-s  "
              f"ratio {a / b:5.2f}   (runs: {', '.join(f'{x:,.0f}' for x in runs['rustis'])} | "
              f"{', '.join(f'{x:,.0f}' for x in runs['redis'])})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
