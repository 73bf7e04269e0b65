#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = []
# ///
"""Benchmark Rustis (and Redis) with redis-benchmark: fixed suites, side-by-side tables, CSV.

On a terminal with no arguments it shows a menu. Otherwise, for example:

    python3 benchmark.py --versus-redis --suite 3 --repeat 3     # starts both servers itself
    python3 benchmark.py --suite 1,2 --port 6379 --label mine    # a server that is already running

--versus-redis starts Rustis (release build) and redis-server on free ports of 127.0.0.1 (or uses
the ones given with --rustis-port/--redis-port), runs each suite against both alternately
(A B A B ...), and prints medians side by side, with each started server's CPU time per request
read from /proc. With --label every run is appended to the CSV: one row per run, server and
command (not medians; generate_report.py takes the medians). Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
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
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CSV_COLUMNS = [
    "timestamp", "git_hash", "label", "server", "suite", "command", "rps", "p50_ms", "p99_ms",
    "clients", "pipeline", "payload", "cpu_sec_per_req",
]
RUN_TIMEOUT_S = 600  # one redis-benchmark run; the slowest suite takes well under a minute
NAN = float("nan")


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

    def requests(self) -> int:
        """Requests per test (-n; redis-benchmark's default is 100000)."""
        a = self.args
        return int(a[a.index("-n") + 1]) if "-n" in a else 100000


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

def _num(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return NAN


def parse_csv_output(text: str) -> list:
    """Parses `redis-benchmark --csv` output into dicts (command, rps, avg/min/p50/p95/p99/max ms).

    redis-benchmark 7 prints a quoted header then one line per test; 6.0 printed only
    `"TEST","rps"` lines without a header, which are read as rps-only rows."""
    rows = []
    header = None
    for rec in csv.reader(io.StringIO(text)):
        if not rec or not rec[0]:
            continue
        if rec[0] == "test":
            header = rec
            continue
        if header is None:
            if len(rec) != 2 or _num(rec[1]) != _num(rec[1]):
                continue  # not a benchmark line (an error message, say)
            header = ["test", "rps"]
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
        if len(header) == 2:
            header = None
    return rows


_QUIET = re.compile(r"^\s*(?P<cmd>[^:]+): (?P<rps>[0-9.]+) requests per second"
                    r"(?:, p50=(?P<p50>[0-9.]+) msec)?")


def parse_quiet_output(text: str) -> list:
    """Parses `redis-benchmark -q` output into dicts (command, rps, p50_ms; p99 is not printed).

    Progress lines (`SET: rps=... (overall: ...)`) are separated by carriage returns, not newlines,
    and are skipped."""
    rows = []
    for line in re.split(r"[\r\n]+", text):
        m = _QUIET.match(line)
        if m:
            rows.append({"command": m.group("cmd").strip(), "rps": _num(m.group("rps")),
                         "p50_ms": _num(m.group("p50")), "p99_ms": NAN})
    return rows


# --------------------------------------------------------------------------------------- processes

def parse_stat_cpu(stat: str) -> int:
    """utime + stime, in clock ticks, from the text of /proc/PID/stat (fields 14 and 15).

    The command name (field 2) is in parentheses and may hold spaces and ')', so fields are
    counted from the last ')'."""
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields[0] is field 3 (state)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        return parse_stat_cpu(f.read()) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> None:
    """Raises RLIMIT_NOFILE to its hard limit so 2000 clients fit (redis-benchmark and the servers
    started here inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2100:
        print("warning: open-file limit below 2100: suite 3 (2000 clients) may fail; raise the hard limit "
              "first (as root: `ulimit -n 4096`)", file=sys.stderr)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_command(host: str, port: int, *args: str, timeout: float = 5.0) -> bytes:
    """Sends one command and returns its raw reply: a tiny RESP client, enough for a status,
    an error or a bulk string (PING, FLUSHALL, INFO)."""
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
            if data.startswith(b"$") and b"\r\n" in data:
                head, _, rest = data.partition(b"\r\n")
                if int(head[1:]) < 0 or len(rest) >= int(head[1:]) + 2:
                    break
            elif not data.startswith(b"$") and data.endswith(b"\r\n"):
                break
        return data


def server_name(host: str, port: int) -> str:
    """'rustis <v>' when INFO server has rustis_version, else 'redis <redis_version>'."""
    info = resp_command(host, port, "INFO", "server").decode(errors="replace")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    if "rustis_version" in fields:
        return f"rustis {fields['rustis_version'].strip()}"
    return f"redis {fields.get('redis_version', '?').strip()}"


def reachable(host: str, port: int) -> bool:
    """True when something answers PING with PONG."""
    try:
        return resp_command(host, port, "PING", timeout=2).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """Runs in a started server before exec: asks Linux to SIGTERM it when this script dies, even
    by SIGKILL (PR_SET_PDEATHSIG), so that no server outlives the benchmark. Best effort."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


try:  # loaded here, not in the forked child
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None


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
        """SIGTERM to the server's process group, SIGKILL if it is still there after 10 s."""
        if not self.proc or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def start_server(label: str, argv: list, port: int) -> Server:
    """Starts a server in its own process group and waits until it answers PING on 127.0.0.1:port.
    Stops it again if it does not come up, or on any exception (Ctrl-C) while waiting. Its output
    goes to a temporary file (shown if it fails to start), never to a pipe it could fill."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    srv = Server(label, "127.0.0.1", port, proc)
    try:
        with log:
            deadline = time.time() + 30
            while time.time() < deadline:
                if proc.poll() is not None:
                    log.seek(0)
                    out = log.read().decode(errors="replace").strip()[-400:]
                    raise RuntimeError(f"{label} exited at start (command: {' '.join(argv)}){': ' + out if out else ''}")
                if reachable("127.0.0.1", port):
                    srv.name = server_name("127.0.0.1", port)
                    return srv
                time.sleep(0.1)
        raise RuntimeError(f"{label} did not answer PING on port {port} within 30 s")
    except BaseException:
        srv.stop()
        raise


def git_hash() -> str:
    """Short hash of HEAD, or 'unknown' outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ------------------------------------------------------------------------------------------ running

@dataclass
class Result:
    """One command of one run against one server. `role` is 'rustis'/'redis' in --versus-redis."""

    server: str
    suite: Suite
    command: str
    rps: float
    p50: float
    p99: float
    cpu_per_req: float | None = None
    role: str = ""


_OUTPUT_FLAG = []


def output_flag() -> str:
    """'--csv' when this redis-benchmark has it, else '-q' (read by the fallback parser)."""
    if not _OUTPUT_FLAG:
        text = subprocess.run(["redis-benchmark", "--help"], capture_output=True, text=True, timeout=10)
        _OUTPUT_FLAG.append("--csv" if "--csv" in text.stdout + text.stderr else "-q")
    return _OUTPUT_FLAG[0]


def run_benchmark(srv: Server, suite: Suite) -> list:
    """Runs a suite against a server after a FLUSHALL and returns Results.

    Each -t test is a run of its own (redis-benchmark runs them one after the other anyway, each
    with fresh connections), so that the server CPU time read around it belongs to that command
    alone. Suite 5 is one run of the default list; its CPU time is spread evenly over the tests."""
    reply = resp_command(srv.host, srv.port, "FLUSHALL", timeout=60)
    if not reply.startswith(b"+OK"):
        raise RuntimeError(f"FLUSHALL on {srv.name} answered {reply[:200]!r}")
    flag = output_flag()
    results = []
    for tests in [[t] for t in suite.tests()] or [[]]:
        argv = ["redis-benchmark", "-h", srv.host, "-p", str(srv.port), flag] + suite.base_args()
        if tests:
            argv += ["-t", ",".join(tests)]
        before = cpu_seconds(srv.pid) if srv.pid else None
        out = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        after = cpu_seconds(srv.pid) if srv.pid else None
        rows = parse_csv_output(out.stdout) if flag == "--csv" else parse_quiet_output(out.stdout)
        if out.returncode != 0 or not rows:
            raise RuntimeError(f"redis-benchmark {' '.join(argv[1:])} failed against {srv.name}: "
                               f"{(out.stderr.strip() or out.stdout.strip())[-500:]}")
        errors = [line for line in out.stderr.splitlines() if "ERR" in line]
        if errors:
            raise RuntimeError(f"{srv.name} answered errors: {errors[0][:300]}")
        n = suite.requests() * len(rows)
        cpu = (after - before) / n if before is not None and after is not None else None
        for r in rows:
            results.append(Result(srv.name, suite, r["command"], r["rps"], r["p50_ms"], r["p99_ms"], cpu, srv.label))
    return results


def append_csv(path: Path, label: str, results: list) -> None:
    """Appends one row per result; writes the header only when the file is new or empty."""
    new = not path.exists() or path.stat().st_size == 0
    now = _dt.datetime.now().isoformat(timespec="seconds")
    gh = git_hash()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(CSV_COLUMNS)
        for r in results:
            w.writerow([now, gh, label, r.server, f"{r.suite.number}:{r.suite.name}", r.command, _fmt(r.rps, ".2f"),
                        _fmt(r.p50, ".3f"), _fmt(r.p99, ".3f"), r.suite.clients, r.suite.pipeline, r.suite.payload,
                        _fmt(r.cpu_per_req, ".3e")])


# ------------------------------------------------------------------------------------------ tables

def _fmt(x, spec: str) -> str:
    """A number formatted, or '' when it is unknown (None or NaN): unknown stays blank."""
    return "" if x is None or x != x else format(x, spec)


def _median(values: list) -> float | None:
    vals = [v for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else None


def _keys(results: list) -> list:
    """(suite number, suite name, command) in first-seen order."""
    return list(dict.fromkeys((r.suite.number, r.suite.name, r.command) for r in results))


def side_by_side(results: list, a: str, b: str) -> str:
    """Per suite and command, the medians of roles a and b (RPS, p50, p99, server CPU per request)
    and the RPS ratio a/b. Blank where a value is unknown (CPU of a server not started here)."""
    cols = [("p50", ".3f", 1), ("p99", ".3f", 1), ("cpu_per_req", ".2f", 1e6)]  # CPU shown in us
    pair = f"{a:>9} {b:>9}"
    lines = [f"{'':<55} {'RPS':^26} {'p50 ms':^19} {'p99 ms':^19} {'CPU us/request':^19}",
             f"{'suite':<20} {'command':<34} {pair} {'ratio':>6} {pair} {pair} {pair}"]
    for num, name, cmd in _keys(results):
        def pick(role, attr, scale=1):
            m = _median([getattr(r, attr) for r in results
                         if r.role == role and r.suite.number == num and r.command == cmd])
            return None if m is None else m * scale
        ra, rb = pick(a, "rps"), pick(b, "rps")
        ratio = ra / rb if ra is not None and rb else None
        line = f"{f'{num} {name}':<20} {cmd:<34} {_fmt(ra, '.0f'):>9} {_fmt(rb, '.0f'):>9} {_fmt(ratio, '.2f'):>6}"
        for attr, spec, scale in cols:
            line += f" {_fmt(pick(a, attr, scale), spec):>9} {_fmt(pick(b, attr, scale), spec):>9}"
        lines.append(line)
    lines = [line.rstrip() for line in lines]
    return (f"{a} vs {b}: medians over repeats; ratio = RPS {a}/{b}; CPU = server utime+stime per request "
            "(blank: server not started here; suite 5: one run, so one figure for all its tests)\n" + "\n".join(lines))


def single_table(results: list) -> str:
    """Medians per suite and command for one server."""
    lines = [f"{'suite':<20} {'command':<34} {'rps':>10} {'p50':>7} {'p99':>7}"]
    for num, name, cmd in _keys(results):
        rs = [r for r in results if r.suite.number == num and r.command == cmd]
        lines.append(f"{f'{num} {name}':<20} {cmd:<34} {_fmt(_median([r.rps for r in rs]), '.0f'):>10} "
                     f"{_fmt(_median([r.p50 for r in rs]), '.3f'):>7} {_fmt(_median([r.p99 for r in rs]), '.3f'):>7}")
    return "medians over repeats; latencies in ms\n" + "\n".join(lines)


# -------------------------------------------------------------------------------------------- main

def parse_suites(spec: str) -> list:
    """'all' or comma-separated suite numbers -> Suites."""
    if spec.strip().lower() == "all":
        return list(SUITES.values())
    try:
        return [SUITES[int(x)] for x in spec.split(",") if x.strip()]
    except (ValueError, KeyError):
        raise SystemExit(f"unknown suite '{spec}': use numbers 1-5 separated by commas, or 'all'") from None


def menu() -> argparse.Namespace:
    """Interactive choice of suites, label and mode (only on a terminal)."""
    print("Rustis benchmark suites:")
    for s in SUITES.values():
        print(f"  {s.number}. {s.name:<17} redis-benchmark {' '.join(s.args) or '(default test list)'}")
    try:
        pick = input("Suite number, or 'all' [1]: ").strip() or "1"
        parse_suites(pick)  # a bad choice is refused now, not after the other questions
        label = input("Label to save results under (empty: do not save): ").strip()
        versus = input("Start Rustis and redis-server and compare them? [Y/n]: ").strip().lower() not in ("n", "no")
    except EOFError:
        raise SystemExit("\nno choice made") from None
    return build_parser().parse_args(["--suite", pick] + (["--label", label] if label else [])
                                     + (["--versus-redis"] if versus else []))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="1", help="suite numbers separated by commas, or 'all' (default: 1)")
    p.add_argument("--host", default="127.0.0.1", help="server host without --versus-redis (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=6379, help="server port without --versus-redis (default: 6379)")
    p.add_argument("--label", help="append the results to the CSV under this label")
    p.add_argument("--csv", default="benchmarks.csv",
                   help="CSV file (default: benchmarks.csv); one row per run, server and command, not medians")
    p.add_argument("--repeat", type=int, default=1, help="runs per suite and server; tables show medians")
    p.add_argument("--versus-redis", action="store_true",
                   help="compare Rustis and redis-server, alternating runs (A B A B)")
    p.add_argument("--rustis-port", type=int, help="with --versus-redis: a running Rustis on 127.0.0.1 (not started)")
    p.add_argument("--redis-port", type=int, help="with --versus-redis: a running redis-server on 127.0.0.1")
    p.add_argument("--rustis-bin", default=str(ROOT / "target" / "release" / "rustis"),
                   help="Rustis binary to start (default: target/release/rustis, built if missing)")
    p.add_argument("--redis-bin", default="redis-server", help="redis-server binary to start (default: redis-server)")
    p.add_argument("--threads", type=int, help="--threads of the Rustis started here (default: its own)")
    return p


def preflight(args: argparse.Namespace) -> None:
    """Fails early, saying how to fix it, when a tool or a server is missing."""
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if shutil.which("redis-benchmark") is None:
        raise SystemExit("redis-benchmark is missing: install it with `apt-get install redis-tools` (or `make deps`)")
    if not args.versus_redis:
        if not reachable(args.host, args.port):
            raise SystemExit(f"no server answers PING on {args.host}:{args.port}: start Rustis with `make run` "
                             f"(PORT={args.port}), or use --versus-redis to let this script start Rustis and redis-server")
        return
    for name, port in (("Rustis", args.rustis_port), ("redis-server", args.redis_port)):
        if port is not None and not reachable("127.0.0.1", port):
            raise SystemExit(f"no {name} answers PING on 127.0.0.1:{port}: start it (Rustis: `make run PORT={port}`; "
                             f"redis-server: `redis-server --port {port} --save ''`), or drop the port option "
                             "to let this script start it")
    if args.redis_port is None and shutil.which(args.redis_bin) is None:
        raise SystemExit(f"{args.redis_bin} is missing: install it with `apt-get install redis-server` (or `make deps`)")
    default_bin = Path(args.rustis_bin).resolve() == (ROOT / "target" / "release" / "rustis")
    if args.rustis_port is None and not Path(args.rustis_bin).exists():
        if not default_bin:
            raise SystemExit(f"{args.rustis_bin} does not exist")
        print("target/release/rustis is missing: cargo build --release", flush=True)
        if subprocess.run(["cargo", "build", "--release"], cwd=ROOT).returncode != 0:
            raise SystemExit("cargo build --release failed; fix the build or give --rustis-port/--rustis-bin")


def running(role: str, port: int) -> Server:
    """A server this script did not start (no PID, so no CPU figures)."""
    srv = Server(role, "127.0.0.1", port)
    srv.name = server_name(srv.host, srv.port)
    return srv


def run_all(args: argparse.Namespace, suites: list, started: list) -> tuple:
    """Starts what is needed, runs the suites, returns (results, table text)."""
    if not args.versus_redis:
        srv = Server("server", args.host, args.port)
        srv.name = server_name(args.host, args.port)
        servers = [srv]
    else:
        if args.rustis_port:
            rustis = running("rustis", args.rustis_port)
        else:
            port = free_port()
            cmd = [args.rustis_bin, "--save", "", "--port", str(port), "--bind", "127.0.0.1", "--loglevel", "warning"]
            rustis = start_server("rustis", cmd + (["--threads", str(args.threads)] if args.threads else []), port)
            started.append(rustis)
        if args.redis_port:
            redis = running("redis", args.redis_port)
        else:
            port = free_port()
            redis = start_server("redis", [args.redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--daemonize", "no"], port)
            started.append(redis)
        if rustis.name == redis.name:
            print(f"warning: both servers report '{rustis.name}'", file=sys.stderr)
        servers = [rustis, redis]
    results = []
    for suite in suites:
        for rep in range(args.repeat):
            for srv in servers:
                print(f"suite {suite.number} ({suite.name}) run {rep + 1}/{args.repeat} on {srv.name} "
                      f"(port {srv.port})...", flush=True)
                results += run_benchmark(srv, suite)
    table = side_by_side(results, "rustis", "redis") if args.versus_redis else single_table(results)
    return results, table


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv and sys.stdin.isatty():
        args = menu()
    else:
        args = build_parser().parse_args(argv)
        if not argv:
            print(f"no arguments and no terminal: suite 1 against {args.host}:{args.port} (see --help)", flush=True)
    suites = parse_suites(args.suite)
    started: list = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        preflight(args)
        raise_fd_limit()
        results, table = run_all(args, suites, started)
        print()
        print(table)
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
