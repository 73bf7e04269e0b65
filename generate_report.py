#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = []
# ///
"""Compare two sets of benchmark results from the CSV that benchmark.py writes.

    python3 generate_report.py --base before --head after           # two labels
    python3 generate_report.py --label L --base-server redis --head-server rustis   # one --versus-redis run
    python3 generate_report.py --base before --head after --plot chart.png     # needs matplotlib

Prints a Markdown table: suite, command, RPS base -> head with its change, p50 base -> head with its
change; 🟢 marks an improvement (more RPS, lower p50) and 🔴 a regression. Medians where a label holds
several runs.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path


def load(path: Path) -> list:
    """Rows of the CSV as dicts."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def select(rows: list, label: str | None, server: str | None) -> dict:
    """(suite, command) -> (median rps, median p50) for rows of `label` whose server starts with `server`."""
    groups: dict = {}
    for r in rows:
        if label is not None and r["label"] != label:
            continue
        if server is not None and not r["server"].lower().startswith(server.lower()):
            continue
        groups.setdefault((r["suite"], r["command"]), []).append(r)
    out = {}
    for k, rs in groups.items():
        rps = [_f(r["rps"]) for r in rs if _f(r["rps"]) == _f(r["rps"])]
        p50 = [_f(r["p50_ms"]) for r in rs if _f(r["p50_ms"]) == _f(r["p50_ms"])]
        out[k] = (statistics.median(rps) if rps else float("nan"), statistics.median(p50) if p50 else float("nan"))
    return out


def _delta(base: float, head: float) -> float:
    return (head - base) / base * 100 if base else float("nan")


def mark(delta: float, higher_is_better: bool) -> str:
    """🟢 for an improvement, 🔴 for a regression, nothing when unchanged or unknown."""
    if delta != delta or delta == 0:
        return ""
    better = delta > 0 if higher_is_better else delta < 0
    return "🟢" if better else "🔴"


def table(base: dict, head: dict) -> str:
    """The Markdown comparison of two selections."""
    lines = [
        "| test | command | RPS | Δ RPS | p50 (ms) | Δ p50 |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(set(base) | set(head), key=lambda k: (k[0], k[1])):
        b_rps, b_p50 = base.get(key, (float("nan"), float("nan")))
        h_rps, h_p50 = head.get(key, (float("nan"), float("nan")))
        d_rps, d_p50 = _delta(b_rps, h_rps), _delta(b_p50, h_p50)
        lines.append(
            f"| {key[0]} | {key[1]} | {b_rps:,.0f} → {h_rps:,.0f} | {mark(d_rps, True)} {d_rps:+.1f}% | "
            f"{b_p50:.3f} → {h_p50:.3f} | {mark(d_p50, False)} {d_p50:+.1f}% |")
    return "\n".join(lines)


def plot(base: dict, head: dict, names: tuple, out: str) -> int:
    """Grouped bars of RPS per suite and command. matplotlib is optional."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 2
    keys = sorted(set(base) | set(head))
    labels = [f"{s.split(':')[0]}\n{c}" for s, c in keys]
    x = range(len(keys))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6, len(keys) * 0.9), 4.5))
    ax.bar([i - width / 2 for i in x], [base.get(k, (0, 0))[0] for k in keys], width, label=names[0])
    ax.bar([i + width / 2 for i in x], [head.get(k, (0, 0))[0] for k in keys], width, label=names[1])
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("requests per second")
    ax.set_title("redis-benchmark: requests per second (median)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"chart written to {out}")
    return 0


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", default="benchmarks.csv", help="CSV written by benchmark.py")
    p.add_argument("--base", help="label of the baseline")
    p.add_argument("--head", help="label to compare with the baseline")
    p.add_argument("--label", help="compare two servers within one label (with --base-server/--head-server)")
    p.add_argument("--base-server", help="server name prefix of the baseline (e.g. redis)")
    p.add_argument("--head-server", help="server name prefix compared (e.g. rustis)")
    p.add_argument("--plot", help="also draw a grouped bar chart to this PNG (needs matplotlib)")
    args = p.parse_args(argv)
    path = Path(args.csv)
    if not path.exists():
        print(f"{path} not found: run benchmark.py with --label first", file=sys.stderr)
        return 1
    rows = load(path)
    labels = list(dict.fromkeys(r["label"] for r in rows))
    if args.label:
        base_l = head_l = args.label
    elif args.base and args.head:
        base_l, head_l = args.base, args.head
    elif sys.stdin.isatty() and labels:
        print("labels: " + ", ".join(labels))
        base_l = input("base label: ").strip()
        head_l = input("head label: ").strip()
    else:
        print("give --base and --head (or --label with --base-server/--head-server)", file=sys.stderr)
        return 1
    for lab in (base_l, head_l):
        if lab not in labels:
            print(f"label '{lab}' not in {path} (labels: {', '.join(labels)})", file=sys.stderr)
            return 1
    base = select(rows, base_l, args.base_server)
    head = select(rows, head_l, args.head_server)
    names = (f"{base_l} {args.base_server or ''}".strip(), f"{head_l} {args.head_server or ''}".strip())
    print(f"base: {names[0]}, head: {names[1]}\n")
    print(table(base, head))
    if args.plot:
        return plot(base, head, names, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
