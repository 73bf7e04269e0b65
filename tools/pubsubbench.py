#!/usr/bin/env python3
"""PUBLISH fan-out: one publisher, N subscribers (spread over the workers by the kernel), the same
channel. Counts messages delivered per server CPU-second (utime+stime from /proc/PID/stat) for
Rustis and redis-server in the same run, alternated (A B A B), and prints the median ratio.

The publisher pipelines PUBLISH in batches; the subscribers are drained by one thread with
selectors, so the client side costs the same for both servers.

    python3 tools/pubsubbench.py [--rounds 4] [--subscribers 50] [--messages 20000] [--threads 2]
"""
import argparse, os, selectors, socket, statistics, subprocess, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def run(port, pid, subs, messages):
    msg_len = len(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$8\r\npayload!\r\n")
    socks = []
    for _ in range(subs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*2\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n")
        socks.append(s)
    for s in socks:
        got = b""
        while not got.endswith(b":1\r\n"):
            got += s.recv(100)
    want = msg_len * messages
    done = threading.Event()
    def drain():
        sel = selectors.DefaultSelector()
        left = {s: want for s in socks}
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        deadline = time.time() + 120
        while left and time.time() < deadline:
            for key, _ in sel.select(1):
                s = key.fileobj
                try:
                    n = len(s.recv(1 << 20))
                except BlockingIOError:
                    continue
                left[s] -= n
                if left[s] <= 0:
                    sel.unregister(s)
                    del left[s]
        done.set()
    t = threading.Thread(target=drain)
    c0 = cpu(pid)
    t.start()
    pub = socket.create_connection(("127.0.0.1", port))
    one = b"*3\r\n$7\r\npublish\r\n$2\r\nch\r\n$8\r\npayload!\r\n"
    sent = 0
    while sent < messages:
        n = min(100, messages - sent)
        pub.sendall(one * n)
        need = n * len(b":%d\r\n" % subs)
        got = 0
        while got < need:
            got += len(pub.recv(65536))
        sent += n
    t.join()
    c1 = cpu(pid)
    for s in socks + [pub]:
        s.close()
    return subs * messages / max(c1 - c0, 1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    servers = {
        "rustis": ([os.path.join(ROOT, "target/release/rustis"), "--save", "", "--port", "7461", "--threads", str(a.threads)], 7461),
        "redis": (["redis-server", "--port", "7462", "--save", "", "--appendonly", "no"], 7462),
    }
    procs = {n: start(c, p) for n, (c, p) in servers.items()}
    res = {n: [] for n in servers}
    try:
        for r in range(a.rounds):
            for n in ("rustis", "redis"):
                v = run(servers[n][1], procs[n].pid, a.subscribers, a.messages)
                res[n].append(v)
                print(f"round {r} {n}: {v:,.0f} delivered messages per server CPU-second", flush=True)
    finally:
        for p in procs.values():
            p.terminate()
    ratios = [x / y for x, y in zip(res["rustis"], res["redis"])]
    print(f"median: rustis {statistics.median(res['rustis']):,.0f}, redis {statistics.median(res['redis']):,.0f}; "
          f"ratio median {statistics.median(ratios):.2f} (rounds {', '.join(f'{x:.2f}' for x in ratios)})")


if __name__ == "__main__":
    main()
