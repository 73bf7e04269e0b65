#!/usr/bin/env python3
"""Memory per idle connection, Rustis against redis-server, measured as VmRSS growth.

Starts target/release/rustis and redis-server on free loopback ports, opens N connections to each
(optionally sending one PING on each), waits until idle buffers would be released (3.5 s), and
prints the RSS growth per connection. Bounded: N connections, a few seconds, then both servers stop.

    python3 tools/conn_memory.py --connections 5000 [--ping]
"""

import argparse
import resource
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


def per_connection(pid, port, n, ping):
    time.sleep(0.5)
    before = rss_bytes(pid)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if ping:
            s.sendall(b"PING\r\n")
        socks.append(s)
    if ping:
        for s in socks:
            s.recv(16)
    time.sleep(3.5)
    grown = rss_bytes(pid) - before
    for s in socks:
        s.close()
    return grown / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--ping", action="store_true", help="send one PING on each connection")
    args = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.connections + 100 > hard:
        raise SystemExit(f"open-file limit {hard} is too low for {args.connections} connections")
    servers = {}
    try:
        rp, dp = free_port(), free_port()
        servers["rustis"] = (subprocess.Popen(["target/release/rustis", "--save", "", "--port", str(rp), "--loglevel", "warning",
                                               "--maxclients", str(args.connections + 100)]), rp)
        servers["redis"] = (subprocess.Popen(["redis-server", "--port", str(dp), "--save", "", "--appendonly", "no",
                                              "--maxclients", str(args.connections + 100)],
                                             stdout=subprocess.DEVNULL), dp)
        for name, (proc, port) in servers.items():
            wait_listening(port)
        for name, (proc, port) in servers.items():
            b = per_connection(proc.pid, port, args.connections, args.ping)
            print(f"{name}: {b:,.0f} bytes per {'pinged' if args.ping else 'idle'} connection "
                  f"({args.connections} connections)")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
