#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = []
# ///
"""Benchmark Rustis (and Redis) with redis-benchmark: reproducible suites, side-by-side tables, CSV.

Run it with no arguments on a terminal for a menu, or with flags:

    python3 benchmark.py --versus-redis --suite 3 --repeat 3
    python3 benchmark.py --suite 1,2 --port 6379 --label mine

With --versus-redis it starts Rustis (release build) and redis-server on free ports, runs each suite
against both alternately (A B A B ...), and prints medians side by side, with each server's CPU time
per request read from /proc. Every run is appended to the CSV (one row per run and command).
Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CSV_COLUMNS = [
    "timestamp", "git_hash", "label", "server", "suite", "command", "rps", "p50_ms", "p99_ms",
    "clients", "pipeline", "payload", "cpu_sec_per_req",
]
RUN_TIMEOUT_S = 900


@dataclass(frozen=True)
class Suite:
    """One benchmark suite: redis-benchmark arguments and the load shape they describe."""

    number: int
    name: str
    args: tuple
    clients: int = 50
    pipeline: int = 1
    payload: int = 3

    def tests(self) -> list:
        """The -t tests of the suite, or [] for redis-benchmark's default list."""
        if "-t" in self.args:
            return self.args[self.args.index("-t") + 1].split(",")
        return []

    def base_args(self) -> list:
        """The suite's arguments without its -t list."""
        a = list(self.args)
        if "-t" in a:
            i = a.index("-t")
            del a[i:i + 2]
        return a


SUITES = {
    1: Suite(1, "sanity", ("-t", "ping", "-n", "1000")),
    2: Suite(2, "regular", ("-t", "set,get", "-n", "200000", "-c", "50")),
    3: Suite(3, "high concurrency", ("-t", "set,get,lpush,lpop", "-c", "2000", "-P", "32", "-n", "1000000",
                                     "-r", "100000"), clients=2000, pipeline=32),
    4: Suite(4, "heavy payload", ("-t", "set,get", "-c", "1000", "-P", "16", "-d", "4096", "-n", "500000",
                                  "-r", "100000"), clients=1000, pipeline=16, payload=4096),
    5: Suite(5, "default", ()),
}


# ----------------------------------------------------------------------------------------- parsing

def _num(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def parse_csv_output(text: str) -> list:
    """Parses `redis-benchmark --csv` output into dicts (command, rps, avg/min/p50/p95/p99/max ms)."""
    rows = []
    reader = csv.reader(io.StringIO(text))
    header = None
    for rec in reader:
        if not rec:
            continue
        if rec[0] == "test":
            header = rec
            continue
        if header is None or len(rec) < 2:
            continue
        row = dict(zip(header, rec))
        rows.append({
            "command": row.get("test", ""),
            "rps": _num(row.get("rps")),
            "avg_ms": _num(row.get("avg_latency_ms")),
            "min_ms": _num(row.get("min_latency_ms")),
            "p50_ms": _num(row.get("p50_latency_ms")),
            "p95_ms": _num(row.get("p95_latency_ms")),
            "p99_ms": _num(row.get("p99_latency_ms")),
            "max_ms": _num(row.get("max_latency_ms")),
        })
    return rows


_QUIET = re.compile(r"^\s*(?P<cmd>.+?): (?P<rps>[0-9.]+) requests per second(?:, p50=(?P<p50>[0-9.]+) msec)?")


def parse_quiet_output(text: str) -> list:
    """Parses `redis-benchmark -q` output (progress lines end in carriage returns) into dicts."""
    rows = []
    for line in re.split(r"[\r\n]+", text):
        m = _QUIET.match(line)
        if m and "rps=" not in line:
            rows.append({"command": m.group("cmd").strip(), "rps": _num(m.group("rps")),
                         "p50_ms": _num(m.group("p50")), "p99_ms": float("nan")})
    return rows


# --------------------------------------------------------------------------------------- processes

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds, from /proc/PID/stat (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> None:
    """Raises RLIMIT_NOFILE to its hard limit so 2000 clients fit (redis-benchmark inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
        except (ValueError, OSError):
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_command(host: str, port: int, *args: str, timeout: float = 5.0) -> bytes:
    """Sends one command and returns the raw reply (enough for INFO and FLUSHALL)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.startswith(b"$"):
                head, _, rest = data.partition(b"\r\n")
                if int(head[1:]) < 0 or len(rest) >= int(head[1:]) + 2:
                    break
            elif data.endswith(b"\r\n"):
                break
        return data


def server_name(host: str, port: int) -> str:
    """'rustis <v>' or 'redis <v>' from INFO server."""
    info = resp_command(host, port, "INFO", "server").decode(errors="replace")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    if "rustis_version" in fields:
        return f"rustis {fields['rustis_version'].strip()}"
    return f"redis {fields.get('redis_version', '?').strip()}"


def reachable(host: str, port: int) -> bool:
    try:
        return resp_command(host, port, "PING", timeout=2).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Server:
    """A server under test; `proc` is set when this script started it (and must stop it)."""

    label: str
    host: str
    port: int
    proc: subprocess.Popen | None = None
    name: str = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def start_server(label: str, argv: list, port: int) -> Server:
    """Starts a server in its own process group and waits until it answers PING."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    srv = Server(label, "127.0.0.1", port, proc)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited at start (command: {' '.join(argv)})")
        if reachable("127.0.0.1", port):
            srv.name = server_name("127.0.0.1", port)
            return srv
        time.sleep(0.1)
    srv.stop()
    raise RuntimeError(f"{label} did not answer on port {port}")


def git_hash() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ------------------------------------------------------------------------------------------ running

@dataclass
class Result:
    """One command of one run against one server."""

    server: str
    suite: Suite
    command: str
    rps: float
    p50: float
    p99: float
    cpu_per_req: float | None = None


def run_benchmark(srv: Server, suite: Suite) -> list:
    """Runs a suite against a server: one redis-benchmark run per -t test (so that server CPU time can
    be attributed to each command), or one run of the default list. Returns Results."""
    resp_command(srv.host, srv.port, "FLUSHALL")
    groups = [[t] for t in suite.tests()] or [[]]
    results = []
    for tests in groups:
        argv = ["redis-benchmark", "-h", srv.host, "-p", str(srv.port), "--csv"] + suite.base_args()
        if tests:
            argv += ["-t", ",".join(tests)]
        before = cpu_seconds(srv.pid) if srv.pid else None
        out = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        after = cpu_seconds(srv.pid) if srv.pid else None
        rows = parse_csv_output(out.stdout) or parse_quiet_output(out.stdout)
        if out.returncode != 0 or not rows:
            raise RuntimeError(f"redis-benchmark failed against {srv.name}: {out.stderr.strip() or out.stdout[-500:]}")
        if any("ERR" in line for line in out.stderr.splitlines()):
            raise RuntimeError(f"errors from {srv.name}: {out.stderr.strip()[:500]}")
        n = _requests(suite) * len(rows)
        cpu = (after - before) / n if before is not None and after is not None and n else None
        for r in rows:
            results.append(Result(srv.name, suite, r["command"], r["rps"], r["p50_ms"], r["p99_ms"], cpu))
    return results


def _requests(suite: Suite) -> int:
    a = list(suite.args)
    return int(a[a.index("-n") + 1]) if "-n" in a else 100000


def append_csv(path: Path, label: str, results: list) -> None:
    """Appends one row per result; writes the header when the file is new or empty."""
    new = not path.exists() or path.stat().st_size == 0
    now = _dt.datetime.now().isoformat(timespec="seconds")
    gh = git_hash()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(CSV_COLUMNS)
        for r in results:
            w.writerow([now, gh, label, r.server, f"{r.suite.number}:{r.suite.name}", r.command, f"{r.rps:.2f}",
                        f"{r.p50:.3f}", f"{r.p99:.3f}", r.suite.clients, r.suite.pipeline, r.suite.payload,
                        "" if r.cpu_per_req is None else f"{r.cpu_per_req:.3e}"])


def _median(values: list) -> float:
    vals = [v for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else float("nan")


def side_by_side(results: list, a: str, b: str) -> str:
    """A table with, per suite and command, medians for server a and b and their RPS ratio."""
    keys = []
    for r in results:
        k = (r.suite.number, r.suite.name, r.command)
        if k not in keys:
            keys.append(k)
    lines = [
        f"{'suite':<20} {'command':<24} {'rps A':>12} {'rps B':>12} {'A/B':>6} {'p50 A':>7} {'p50 B':>7} "
        f"{'p99 A':>7} {'p99 B':>7} {'cpu us/req A':>12} {'cpu us/req B':>12}",
    ]
    for num, name, cmd in keys:
        pick = lambda srv, attr: _median([getattr(r, attr) for r in results  # noqa: E731
                                          if r.server == srv and r.suite.number == num and r.command == cmd])
        ra, rb = pick(a, "rps"), pick(b, "rps")
        ca, cb = pick(a, "cpu_per_req"), pick(b, "cpu_per_req")
        ratio = ra / rb if rb and rb == rb else float("nan")
        lines.append(
            f"{f'{num} {name}':<20} {cmd[:24]:<24} {ra:>12.0f} {rb:>12.0f} {ratio:>6.2f} {pick(a, 'p50'):>7.3f} "
            f"{pick(b, 'p50'):>7.3f} {pick(a, 'p99'):>7.3f} {pick(b, 'p99'):>7.3f} {ca * 1e6:>12.2f} {cb * 1e6:>12.2f}")
    return f"A = {a}, B = {b}; medians over repeats; latencies in ms\n" + "\n".join(lines)


def single_table(results: list) -> str:
    lines = [f"{'suite':<20} {'command':<24} {'rps':>12} {'p50':>7} {'p99':>7}"]
    for r in results:
        lines.append(f"{f'{r.suite.number} {r.suite.name}':<20} {r.command[:24]:<24} {r.rps:>12.0f} {r.p50:>7.3f} {r.p99:>7.3f}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------- main

def parse_suites(spec: str) -> list:
    if spec.strip().lower() == "all":
        return list(SUITES.values())
    try:
        chosen = [SUITES[int(x)] for x in spec.split(",") if x.strip()]
    except (ValueError, KeyError):
        raise SystemExit(f"unknown suite '{spec}': use numbers 1-5 separated by commas, or 'all'")
    return chosen


def menu() -> argparse.Namespace:
    """Interactive choice of suites and label."""
    print("Rustis benchmark suites:")
    for s in SUITES.values():
        print(f"  {s.number}. {s.name:<17} redis-benchmark {' '.join(s.args) or '(default test list)'}")
    pick = input("Suite number, or 'all' [1]: ").strip() or "1"
    label = input("Label to save results under (empty: do not save): ").strip()
    versus = input("Run against Rustis and redis-server side by side? [Y/n]: ").strip().lower() != "n"
    return build_parser().parse_args(["--suite", pick] + (["--label", label] if label else [])
                                     + (["--versus-redis"] if versus else []))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="1", help="suite numbers separated by commas, or 'all' (default: 1)")
    p.add_argument("--host", default="127.0.0.1", help="server host (single-server mode)")
    p.add_argument("--port", type=int, default=6379, help="server port (single-server mode)")
    p.add_argument("--label", help="save results to the CSV under this label")
    p.add_argument("--csv", default="benchmarks.csv", help="CSV file (default: benchmarks.csv); one row per run and command")
    p.add_argument("--repeat", type=int, default=1, help="runs per suite and server (medians are reported)")
    p.add_argument("--versus-redis", action="store_true", help="start Rustis and redis-server and compare them A B A B")
    p.add_argument("--rustis-port", type=int, help="use a running Rustis on this port instead of starting one")
    p.add_argument("--redis-port", type=int, help="use a running redis-server on this port instead of starting one")
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"), help="Rustis binary")
    p.add_argument("--redis-bin", default="redis-server", help="redis-server binary")
    p.add_argument("--threads", type=int, help="--threads for the Rustis it starts (default: its own default)")
    return p


def preflight(args: argparse.Namespace) -> None:
    if shutil.which("redis-benchmark") is None:
        raise SystemExit("redis-benchmark is missing: install it with `apt-get install redis-tools` (or `make deps`)")
    if args.versus_redis and args.redis_port is None and shutil.which(args.redis_bin) is None:
        raise SystemExit("redis-server is missing: install it with `apt-get install redis-server` (or `make deps`)")


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = menu() if not argv and sys.stdin.isatty() else build_parser().parse_args(argv)
    preflight(args)
    raise_fd_limit()
    suites = parse_suites(args.suite)
    started: list = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if args.versus_redis:
            if args.rustis_port:
                rustis = Server("rustis", "127.0.0.1", args.rustis_port)
                rustis.name = server_name(rustis.host, rustis.port)
            else:
                if not Path(args.rustis_bin).exists():
                    subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
                port = free_port()
                cmd = [args.rustis_bin, "--port", str(port), "--loglevel", "warning"]
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                rustis = start_server("rustis", cmd, port)
                started.append(rustis)
            if args.redis_port:
                redis = Server("redis", "127.0.0.1", args.redis_port)
                redis.name = server_name(redis.host, redis.port)
            else:
                port = free_port()
                redis = start_server("redis", [args.redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                               "--appendonly", "no", "--daemonize", "no"], port)
                started.append(redis)
            results = []
            for suite in suites:
                for rep in range(max(1, args.repeat)):
                    for srv in (rustis, redis):
                        print(f"suite {suite.number} ({suite.name}) run {rep + 1}/{args.repeat} on {srv.name}...", flush=True)
                        results += run_benchmark(srv, suite)
            print()
            print(side_by_side(results, rustis.name, redis.name))
        else:
            if not reachable(args.host, args.port):
                raise SystemExit(f"no server answers on {args.host}:{args.port}: start one with `make run`, "
                                 "or use --versus-redis to let this script start Rustis and redis-server")
            srv = Server("server", args.host, args.port)
            srv.name = server_name(args.host, args.port)
            results = []
            for suite in suites:
                for rep in range(max(1, args.repeat)):
                    print(f"suite {suite.number} ({suite.name}) run {rep + 1}/{args.repeat} on {srv.name}...", flush=True)
                    results += run_benchmark(srv, suite)
            print()
            print(single_table(results))
        if args.label:
            append_csv(Path(args.csv), args.label, results)
            print(f"\nsaved {len(results)} rows under label '{args.label}' to {args.csv}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        for srv in started:
            srv.stop()


if __name__ == "__main__":
    sys.exit(main())
