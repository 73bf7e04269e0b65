#!/usr/bin/env python3
"""maxmemory eviction, Rustis against redis-server in the same run.

For each policy (allkeys-lru, allkeys-lfu) and each server: starts it on a loopback port with
maxmemory (64mb by default), writes a hot set, then writes --factor times the limit in cold keys
(pipelined SETs) while reading the hot set throughout, and reports:

- used_memory over the limit: the largest value sampled during the writes, and at the end;
- RSS growth over the limit: (VmRSS at the end - VmRSS of the idle server) / limit;
- the share of the hot set that survived;
- write errors (an allkeys policy should refuse nothing).

Bounded: a fixed amount of data, a few seconds per run; every server is stopped at the end.

    python3 tools/evictbench.py [--maxmemory-mb 64] [--factor 4] [--hot 10000] [--port-base 0]
"""

import argparse
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wait_listening(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    """A minimal pipelining RESP client: sends a batch, reads exactly as many replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("server closed the connection")
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._fill()

    def reply(self):
        line = self._line()
        kind = line[:1]
        if kind == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            body = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return body
        if kind == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        if kind == b":":
            return int(line[1:])
        if kind == b"-":
            return Exception(line[1:].decode())
        return line[1:].decode()

    def pipeline(self, cmds):
        self.sock.sendall(b"".join(cmds))
        return [self.reply() for _ in cmds]

    def call(self, *args):
        return self.pipeline([encode(*args)])[0]

    def info(self, field, section="memory"):
        text = self.call("INFO", section).decode()
        for line in text.splitlines():
            if line.startswith(field + ":"):
                return int(line.split(":", 1)[1])
        raise SystemExit(f"no {field} in INFO {section}")


def run(name, argv, port, policy, args):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        c = Client(port)
        limit = args.maxmemory_mb << 20
        time.sleep(0.3)
        idle_rss = rss_bytes(proc.pid)
        value = b"v" * args.value_size
        hot_keys = [f"hot:{i}" for i in range(args.hot)]
        # The policy is set first, as a cache is configured: under LFU a key written before
        # would carry an LRU clock read as a counter (Redis's caveat on switching policies).
        c.call("CONFIG", "SET", "maxmemory-policy", policy)
        for i in range(0, args.hot, 1000):
            c.pipeline([encode("SET", k, value) for k in hot_keys[i:i + 1000]])
        c.call("CONFIG", "SET", "maxmemory", str(limit))
        cold_total = args.factor * limit // (args.value_size + 40)
        batch, hot_per_batch, hot_at = 1000, 500, 0
        max_used, errors, written = 0, 0, 0
        started = time.time()
        while written < cold_total:
            n = min(batch, cold_total - written)
            cmds = [encode("SET", f"cold:{written + j}", value) for j in range(n)]
            errors += sum(isinstance(r, Exception) for r in c.pipeline(cmds))
            written += n
            reads = [encode("GET", hot_keys[(hot_at + j) % args.hot]) for j in range(hot_per_batch)]
            hot_at = (hot_at + hot_per_batch) % args.hot
            c.pipeline(reads)
            if (written // batch) % 10 == 0:
                max_used = max(max_used, c.info("used_memory"))
        elapsed = time.time() - started
        end_used = c.info("used_memory")
        max_used = max(max_used, end_used)
        end_rss = rss_bytes(proc.pid)
        kept = sum(c.pipeline([encode("EXISTS", k) for k in hot_keys]))
        evicted = c.info("evicted_keys", "stats")
        return {
            "server": name,
            "policy": policy,
            "max_used_over": max_used / limit,
            "end_used_over": end_used / limit,
            "rss_growth_over": (end_rss - idle_rss) / limit,
            "hot_kept": kept / args.hot,
            "evicted": evicted,
            "errors": errors,
            "seconds": elapsed,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maxmemory-mb", type=int, default=64)
    ap.add_argument("--factor", type=int, default=4, help="cold data written, in multiples of the limit")
    ap.add_argument("--hot", type=int, default=10000, help="hot keys, read throughout")
    ap.add_argument("--value-size", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2, help="Rustis workers")
    ap.add_argument("--port-base", type=int, default=0, help="ports to use (0: free ones)")
    ap.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    args = ap.parse_args()
    results = []
    next_port = args.port_base
    for policy in args.policies.split(","):
        for name in ("rustis", "redis"):
            if args.port_base:
                port, next_port = next_port, next_port + 1
            else:
                port = free_port()
            if name == "rustis":
                argv = ["target/release/rustis", "--port", str(port), "--loglevel", "warning",
                        "--threads", str(args.threads)]
            else:
                argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no"]
            results.append(run(name, argv, port, policy, args))
    print(f"maxmemory {args.maxmemory_mb} MB, {args.factor}x written in {args.value_size}-byte values, "
          f"{args.hot} hot keys read throughout")
    print(f"{'policy':<12} {'server':<7} {'max used/limit':>14} {'end used/limit':>14} "
          f"{'RSS growth/limit':>16} {'hot kept':>8} {'evicted':>8} {'errors':>6} {'s':>5}")
    for r in results:
        print(f"{r['policy']:<12} {r['server']:<7} {r['max_used_over']:>14.3f} {r['end_used_over']:>14.3f} "
              f"{r['rss_growth_over']:>16.3f} {r['hot_kept']:>8.1%} {r['evicted']:>8} {r['errors']:>6} "
              f"{r['seconds']:>5.1f}")


if __name__ == "__main__":
    main()
