#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = []
# ///
"""Compare two sets of benchmark results from the CSV that benchmark.py writes.

    python3 generate_report.py --base before --head after --server rustis   # two labels, one server
    python3 generate_report.py --label L --base-server redis --head-server rustis   # one --versus-redis run
    python3 generate_report.py --base before --head after --plot chart.png  # chart needs matplotlib
    python3 generate_report.py                                              # on a terminal: asks

Prints a Markdown table: suite, command, RPS base -> head with its change, p50 base -> head with
its change; 🟢 marks an improvement (more RPS, lower p50) and 🔴 a regression. Where a label holds
several runs, medians. Server filters match the start of the CSV's server name ("rustis 0.1.0").
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

NAN = float("nan")


def load(path: Path) -> list:
    """Rows of the CSV as dicts."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return NAN


def _matches(row: dict, label: str | None, server: str | None) -> bool:
    return (label is None or row["label"] == label) and \
        (server is None or row["server"].lower().startswith(server.lower()))


def servers_of(rows: list, label: str | None, server: str | None = None) -> list:
    """Distinct server names among the rows of a label (and server filter), in order."""
    return list(dict.fromkeys(r["server"] for r in rows if _matches(r, label, server)))


def _median(values: list) -> float:
    vals = [v for v in values if v == v]
    return statistics.median(vals) if vals else NAN


def select(rows: list, label: str | None, server: str | None) -> dict:
    """(suite, command) -> (median rps, median p50) over the rows of `label` whose server name
    starts with `server` (None: any)."""
    groups: dict = {}
    for r in rows:
        if _matches(r, label, server):
            groups.setdefault((r["suite"], r["command"]), []).append(r)
    return {k: (_median([_f(r["rps"]) for r in rs]), _median([_f(r["p50_ms"]) for r in rs]))
            for k, rs in groups.items()}


def delta(base: float, head: float) -> float:
    """Change from base to head in percent (NaN when base is 0 or unknown)."""
    return (head - base) / base * 100 if base else NAN


def mark(change: float, higher_is_better: bool) -> str:
    """🟢 for an improvement, 🔴 for a regression, nothing when unchanged or unknown."""
    if change != change or change == 0:
        return ""
    return "🟢" if (change > 0) == higher_is_better else "🔴"


def _n(x: float, spec: str) -> str:
    return "–" if x != x else format(x, spec)


def _change(change: float, higher_is_better: bool) -> str:
    if change != change:
        return "–"
    return f"{mark(change, higher_is_better)} {change:+.1f}%".strip()


def _suite_order(key: tuple) -> tuple:
    """Suites by number ('2:regular' before '10:x'), then command."""
    num = key[0].split(":", 1)[0]
    return (int(num) if num.isdigit() else 1 << 30, key[0], key[1])


def table(base: dict, head: dict) -> str:
    """The Markdown comparison of two selections ('–' where one side has no value)."""
    lines = [
        "| test | command | RPS | Δ RPS | p50 (ms) | Δ p50 |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(set(base) | set(head), key=_suite_order):
        b_rps, b_p50 = base.get(key, (NAN, NAN))
        h_rps, h_p50 = head.get(key, (NAN, NAN))
        lines.append(
            f"| {key[0]} | {key[1]} | {_n(b_rps, ',.0f')} → {_n(h_rps, ',.0f')} | {_change(delta(b_rps, h_rps), True)} | "
            f"{_n(b_p50, '.3f')} → {_n(h_p50, '.3f')} | {_change(delta(b_p50, h_p50), False)} |")
    return "\n".join(lines)


def plot(base: dict, head: dict, names: tuple, out: str) -> int:
    """Grouped bars of median RPS per suite and command, base next to head. matplotlib is
    optional: imported only here, and its absence fails only the chart."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("--plot needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 2
    keys = sorted(set(base) | set(head), key=_suite_order)
    x = range(len(keys))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6, len(keys) * 0.9), 4.5))
    top = 0.0
    for side, (sel, name) in enumerate(((base, names[0]), (head, names[1]))):
        values = [0 if v != v else v for v in (sel.get(k, (NAN, NAN))[0] for k in keys)]
        ax.bar([i + (side - 0.5) * width for i in x], values, width, label=name)
        top = max([top] + values)
    ax.set_ylim(0, top * 1.25 or 1)  # room for the legend above the bars
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"{s.split(':')[0]}\n{c}" for s, c in keys], fontsize=8)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("requests per second (median)")
    ax.set_xlabel("suite / command")
    ax.set_title("redis-benchmark: requests per second")
    ax.legend(loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"chart written to {out}")
    return 0


def _ask(prompt: str, choices: list) -> str:
    """Asks until the answer is one of the choices (a number from the list or the name itself)."""
    while True:
        for i, c in enumerate(choices, 1):
            print(f"  {i}. {c}")
        answer = input(prompt).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(choices):
            return choices[int(answer) - 1]
        if answer in choices:
            return answer


def interactive(rows: list, labels: list) -> tuple:
    """Asks for base and head labels, and for a server wherever a label holds more than one."""
    picked = []
    for side in ("base", "head"):
        label = _ask(f"{side} label: ", labels) if len(labels) > 1 else labels[0]
        servers = servers_of(rows, label)
        server = _ask(f"{side} server: ", servers).split()[0] if len(servers) > 1 else None
        picked.append((label, server))
    return picked[0], picked[1]


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", default="benchmarks.csv", help="CSV written by benchmark.py (default: benchmarks.csv)")
    p.add_argument("--base", help="label of the baseline")
    p.add_argument("--head", help="label compared with the baseline")
    p.add_argument("--label", help="one label for both sides (compare two servers with --base-server/--head-server)")
    p.add_argument("--server", help="server name prefix for both sides (e.g. rustis)")
    p.add_argument("--base-server", help="server name prefix of the baseline (e.g. redis)")
    p.add_argument("--head-server", help="server name prefix of the compared side (e.g. rustis)")
    p.add_argument("--plot", metavar="PNG", help="also draw grouped bars of RPS to this PNG (needs matplotlib)")
    args = p.parse_args(argv)
    path = Path(args.csv)
    if not path.exists():
        print(f"{path} not found: run benchmark.py with --label first", file=sys.stderr)
        return 1
    rows = load(path)
    labels = list(dict.fromkeys(r["label"] for r in rows))
    if not labels:
        print(f"{path} holds no rows", file=sys.stderr)
        return 1
    base_srv = args.base_server or args.server
    head_srv = args.head_server or args.server
    if args.label or (args.base and args.head):
        base_l, head_l = (args.label, args.label) if args.label else (args.base, args.head)
    elif len(labels) == 1 and base_srv and head_srv:
        base_l = head_l = labels[0]
    elif sys.stdin.isatty() and not (base_srv or head_srv):
        try:
            (base_l, base_srv), (head_l, head_srv) = interactive(rows, labels)
        except EOFError:
            return 1
    else:
        print("give --base L1 --head L2 (labels: " + ", ".join(labels) + "), "
              "or --label L --base-server redis --head-server rustis", file=sys.stderr)
        return 1
    for lab, srv in ((base_l, base_srv), (head_l, head_srv)):
        if lab not in labels:
            print(f"label '{lab}' not in {path} (labels: {', '.join(labels)})", file=sys.stderr)
            return 1
        found = servers_of(rows, lab, srv)
        if not found:
            print(f"no server matching '{srv}' under label '{lab}' (servers: {', '.join(servers_of(rows, lab))})",
                  file=sys.stderr)
            return 1
        if len(found) > 1:
            print(f"label '{lab}' holds several servers ({', '.join(found)}): pick one with --server, "
                  "or --base-server/--head-server", file=sys.stderr)
            return 1
    names = tuple(f"{lab} ({servers_of(rows, lab, srv)[0]})" for lab, srv in ((base_l, base_srv), (head_l, head_srv)))
    base, head = select(rows, base_l, base_srv), select(rows, head_l, head_srv)
    print(f"base: {names[0]}, head: {names[1]}; medians; 🟢 better, 🔴 worse\n")
    print(table(base, head))
    if args.plot:
        return plot(base, head, names, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
