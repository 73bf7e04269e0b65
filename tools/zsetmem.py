#!/usr/bin/env python3
"""Memory of many small sorted sets, Rustis against redis-server in the same run (issue 11's figure).

    python3 tools/zsetmem.py [--keys 100000] [--members 10] [--port 17450] [--float]

Starts each server on its own port, fills `z:<n>` (n below --keys) with --members members
`member:<j>` scoring j (or j + 0.5 with --float), pipelined, then reads used_memory from INFO memory
and the process's VmRSS, before and after the fill. Prints both, their growth, and the ratios
(Rustis / Redis): at most 1.0 is the issue's bar for RSS.
"""

import argparse
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmark  # noqa: E402


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def fill(port: int, keys: int, members: int, flt: bool) -> None:
    """ZADD z:<n> with `members` pairs each, 1000 commands a batch, replies drained per batch."""
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    for base in range(0, keys, 1000):
        batch = []
        for n in range(base, min(base + 1000, keys)):
            args = [b"ZADD", b"z:%d" % n]
            for j in range(members):
                args += [(b"%d.5" % j) if flt else (b"%d" % j), b"member:%d" % j]
            batch.append(command(*args))
        s.sendall(b"".join(batch))
        for _ in batch:
            f.readline()
    s.close()


def used_memory(port: int) -> int:
    info = benchmark.resp_command("127.0.0.1", port, "INFO", "memory").decode(errors="replace")
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def measure(label: str, argv: list, port: int, a) -> tuple:
    srv = benchmark.start_server(label, argv, port)
    try:
        u0, r0 = used_memory(port), rss(srv.proc.pid)
        fill(port, a.keys, a.members, a.float)
        # Both allocators return freed pages after a delay (mimalloc's purge delay, jemalloc's decay).
        time.sleep(a.settle)
        u1, r1 = used_memory(port), rss(srv.proc.pid)
        enc = benchmark.resp_command("127.0.0.1", port, "OBJECT", "ENCODING", "z:0").decode().split()[-1]
        return u0, u1, r0, r1, enc
    finally:
        srv.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--port", type=int, default=17450)
    p.add_argument("--float", action="store_true")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before measuring")
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"))
    a = p.parse_args()
    rustis = [a.rustis_bin, "--save", "", "--port", str(a.port), "--loglevel", "warning"]
    redis = ["redis-server", "--port", str(a.port + 1), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"]
    res = {"rustis": measure("rustis", rustis, a.port, a), "redis": measure("redis", redis, a.port + 1, a)}
    for name, (u0, u1, r0, r1, enc) in res.items():
        print(f"{name:<7} used_memory {u1:>12,} (+{u1 - u0:>11,})  RSS {r1:>12,} (+{r1 - r0:>11,})  "
              f"encoding {enc}")
    (au0, au1, ar0, ar1, _), (bu0, bu1, br0, br1, _) = res["rustis"], res["redis"]
    print(f"ratio   used_memory {au1 / bu1:.2f} (growth {(au1 - au0) / (bu1 - bu0):.2f})  "
          f"RSS {ar1 / br1:.2f} (growth {(ar1 - ar0) / (br1 - br0):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
