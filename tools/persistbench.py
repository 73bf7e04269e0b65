#!/usr/bin/env python3
"""Snapshot figures, Rustis against redis-server in the same run (issue 12's figures).

1. SAVE and load of N keys of mixed types: SAVE's wall time (the command's round trip), the file
   size, and the load at startup (spawn to the first PING answered, the file being loaded first).
2. BGSAVE under a SET load: throughput of `redis-benchmark -t set` while BGSAVE runs again and
   again, against the same benchmark without snapshots; and the memory a snapshot costs: for
   Rustis the peak RSS over the RSS before, for Redis the fork child's private dirty memory
   (its copy-on-write) plus the parent's growth.

Every server runs on 127.0.0.1, in a fresh directory under /tmp, and is killed at the end.
Rounds alternate Rustis and Redis (A B A B); medians are reported.

    python3 tools/persistbench.py --keys 1000000 --rounds 3
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUSTIS = os.path.join(ROOT, "target", "release", "rustis")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, cmds):
        out = []
        for c in cmds:
            out.append(b"*%d\r\n" % len(c))
            for a in c:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def reply(self):
        line = self._line()
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(1 << 20)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        if t == b":":
            return int(line[1:])
        return line.decode()

    def call(self, *args):
        self.send([args])
        return self.reply()


def spawn(kind, port, d):
    if kind == "rustis":
        cmd = [RUSTIS, "--port", str(port), "--dir", d, "--save", "", "--loglevel", "warning"]
    else:
        cmd = ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
               "--loglevel", "warning"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.time()
    while time.time() - start < 120:
        try:
            c = Conn(port)
            if c.call("PING") == "+PONG":
                return p, c, time.time() - start
        except (ConnectionError, OSError):
            time.sleep(0.005)
    p.kill()
    raise RuntimeError(f"{kind} did not start")


def fill(c, keys):
    """Mixed types: 70% strings, 10% hashes, 10% lists, 5% sets, 5% sorted sets (5 items each)."""
    batch = []
    for i in range(keys):
        r = i % 20
        if r < 14:
            batch.append((b"SET", b"str:%d" % i, b"value-%d-abcdefghijklmnop" % i))
        elif r < 16:
            batch.append((b"HSET", b"hash:%d" % i, b"a", b"1", b"b", b"22", b"c", b"333",
                          b"d", b"text", b"e", b"%d" % i))
        elif r < 18:
            batch.append((b"RPUSH", b"list:%d" % i, b"one", b"two", b"3", b"four", b"%d" % i))
        elif r < 19:
            batch.append((b"SADD", b"set:%d" % i, b"1", b"2", b"3", b"4", b"%d" % i))
        else:
            batch.append((b"ZADD", b"zset:%d" % i, b"1", b"a", b"2.5", b"b", b"3", b"c",
                          b"4", b"d", b"5", b"%d" % i))
        if len(batch) == 5000:
            c.send(batch)
            for _ in batch:
                c.reply()
            batch = []
    if batch:
        c.send(batch)
        for _ in batch:
            c.reply()


def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def private_dirty(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def save_and_load(kind, keys):
    d = tempfile.mkdtemp(prefix=f"pbench-{kind}-")
    port = free_port()
    p, c, _ = spawn(kind, port, d)
    try:
        fill(c, keys)
        t = time.time()
        assert c.call("SAVE") == "+OK"
        save_s = time.time() - t
        size = os.path.getsize(os.path.join(d, "dump.rdb"))
    finally:
        p.kill()
        p.wait()
    port = free_port()
    p, c, load_s = spawn(kind, port, d)
    try:
        n = c.call("DBSIZE")
        assert n == keys, (kind, n)
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return save_s, size, load_s


def bench_set(port, requests, clients=50):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests), "-c", str(clients),
         "-r", "1000000", "-d", "32", "--csv", "-q"],
        capture_output=True, text=True, timeout=600).stdout
    for line in out.splitlines():
        if line.startswith('"SET"'):
            return float(line.split(",")[1].strip('"'))
    raise RuntimeError(out)


def under_bgsave(kind, keys, requests):
    d = tempfile.mkdtemp(prefix=f"pbench-bg-{kind}-")
    port = free_port()
    p, c, _ = spawn(kind, port, d)
    try:
        fill(c, keys)
        # The quiet run first: it creates most of the benchmark's keys, so that the memory
        # measured under snapshots is the snapshots' and not the new keys'.
        quiet = bench_set(port, requests)
        base_rss = rss(p.pid)
        peak = [0, 0]
        stop = threading.Event()
        snaps = [0]

        busy_time = [0.0]

        def snapshots():
            # One BGSAVE a second at most (as a save point under a heavy write load would run
            # them), each waited for; the time spent inside snapshots is reported.
            sc = Conn(port)
            while not stop.is_set():
                t0 = time.time()
                r = sc.call("BGSAVE")
                if isinstance(r, str) and r.startswith("+"):
                    snaps[0] += 1
                while not stop.is_set():
                    info = sc.call("INFO", "persistence").decode()
                    if "rdb_bgsave_in_progress:0" in info:
                        break
                    time.sleep(0.002)
                busy_time[0] += time.time() - t0
                stop.wait(max(0.0, 1.0 - (time.time() - t0)))

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss(p.pid) - base_rss)
                for ch in children(p.pid):
                    peak[1] = max(peak[1], private_dirty(ch))
                time.sleep(0.005)

        ts = [threading.Thread(target=snapshots), threading.Thread(target=sample)]
        for t in ts:
            t.start()
        t_start = time.time()
        busy = bench_set(port, requests)
        elapsed = time.time() - t_start
        stop.set()
        for t in ts:
            t.join()
        size = os.path.getsize(os.path.join(d, "dump.rdb"))
        return quiet, busy, peak[0] + peak[1], size, snaps[0], busy_time[0] / elapsed
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2_000_000)
    ap.add_argument("--skip-bgsave", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(RUSTIS):
        sys.exit("build first: cargo build --release")
    res = {"rustis": [], "redis": []}
    bg = {"rustis": [], "redis": []}
    for r in range(a.rounds):
        for kind in ("rustis", "redis"):
            res[kind].append(save_and_load(kind, a.keys))
            print(f"round {r + 1} {kind}: SAVE {res[kind][-1][0]:.3f}s, file {res[kind][-1][1]} B,"
                  f" load {res[kind][-1][2]:.3f}s", flush=True)
    med = lambda xs: statistics.median(xs)
    rs, rd = res["rustis"], res["redis"]
    print(f"\nSAVE of {a.keys} mixed keys: Rustis {med([x[0] for x in rs]):.3f}s, Redis "
          f"{med([x[0] for x in rd]):.3f}s, ratio {med([x[0] for x in rs]) / med([x[0] for x in rd]):.2f}x")
    print(f"file size: Rustis {med([x[1] for x in rs])} B, Redis {med([x[1] for x in rd])} B, ratio "
          f"{med([x[1] for x in rs]) / med([x[1] for x in rd]):.3f}x")
    print(f"load at startup: Rustis {med([x[2] for x in rs]):.3f}s, Redis {med([x[2] for x in rd]):.3f}s,"
          f" ratio {med([x[2] for x in rs]) / med([x[2] for x in rd]):.2f}x")
    if a.skip_bgsave:
        return
    for r in range(a.rounds):
        for kind in ("rustis", "redis"):
            bg[kind].append(under_bgsave(kind, a.keys, a.requests))
            q, b, m, size, n, share = bg[kind][-1]
            print(f"round {r + 1} {kind}: SET {q:.0f} rps quiet, {b:.0f} rps with {n} BGSAVEs "
                  f"({b / q:.2f}; {share * 100:.0f}% of the time inside one), snapshot memory "
                  f"{m / 1e6:.1f} MB of a {size / 1e6:.1f} MB file", flush=True)
    for kind in ("rustis", "redis"):
        xs = bg[kind]
        print(f"{kind}: throughput with BGSAVEs {med([x[1] / x[0] for x in xs]):.2f} of normal "
              f"({med([x[5] for x in xs]) * 100:.0f}% of the time in a snapshot), "
              f"snapshot memory {med([x[2] for x in xs]) / 1e6:.1f} MB "
              f"({med([x[2] / x[3] for x in xs]) * 100:.0f}% of the file size)")


if __name__ == "__main__":
    main()
