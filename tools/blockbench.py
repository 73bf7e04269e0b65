#!/usr/bin/env python3
"""Blocked-pop handoff: a consumer waits in BLPOP, a producer pushes one element, and the time
from the RPUSH being sent to the consumer's reply arriving is one handoff. Rustis and redis-server
run on the same machine in the same run, alternated (A B A B), and the medians and p99s of the
rounds are compared.

The keys alternate between two that belong to different Rustis workers (x: worker 1, z: worker 0
with 2 workers), so about half the handoffs cross workers whichever worker serves each connection.

    python3 tools/blockbench.py [--rounds 4] [--handoffs 3000] [--threads 2]
"""
import argparse, os, socket, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10)
        self.buf = b""

    def send(self, *args):
        self.s.sendall(enc(*args))

    def reply(self):
        """Reads one reply (enough of RESP for integers and arrays of bulks)."""
        def line():
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError
                self.buf += chunk
            l, self.buf = self.buf.split(b"\r\n", 1)
            return l
        def value():
            l = line()
            if l[:1] == b"*":
                return [value() for _ in range(max(int(l[1:]), 0))]
            if l[:1] == b"$":
                n = int(l[1:])
                if n < 0:
                    return None
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(65536)
                v, self.buf = self.buf[:n], self.buf[n + 2:]
                return v
            return l
        return value()


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def run(port, handoffs):
    cons, prod = Conn(port), Conn(port)
    prod.send("del", "x", "z"); prod.reply()
    lat = []
    for i in range(handoffs):
        key = "x" if i % 2 else "z"
        cons.send("blpop", key, 0)
        # Let the BLPOP arrive and block before the push (it is the blocked path we measure).
        prod.send("ping"); prod.reply()
        time.sleep(0.0002)
        t0 = time.perf_counter()
        prod.send("rpush", key, "v")
        r = cons.reply()
        t1 = time.perf_counter()
        prod.reply()
        assert r == [key.encode(), b"v"], r
        lat.append((t1 - t0) * 1e6)
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--handoffs", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rustis = os.path.join(ROOT, "target/release/rustis")
    servers = {
        "rustis": ([rustis, "--save", "", "--port", "7411", "--threads", str(a.threads)], 7411),
        "redis": (["redis-server", "--port", "7412", "--save", "", "--appendonly", "no"], 7412),
    }
    procs = {n: start(c, p) for n, (c, p) in servers.items()}
    res = {n: [] for n in servers}
    try:
        for r in range(a.rounds):
            for n in ("rustis", "redis"):
                res[n].append(run(servers[n][1], a.handoffs))
                print(f"round {r} {n}: p50 {res[n][-1][0]:.1f} us  p99 {res[n][-1][1]:.1f} us", flush=True)
    finally:
        for p in procs.values():
            p.terminate()
    med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for n, v in res.items()}
    print(f"median of rounds: rustis p50 {med['rustis'][0]:.1f} p99 {med['rustis'][1]:.1f}; "
          f"redis p50 {med['redis'][0]:.1f} p99 {med['redis'][1]:.1f}")
    print(f"ratio rustis/redis: p50 {med['rustis'][0] / med['redis'][0]:.2f}  p99 {med['rustis'][1] / med['redis'][1]:.2f}")


if __name__ == "__main__":
    main()
