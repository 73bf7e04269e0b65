#!/usr/bin/env python3
"""CPU seconds (utime + stime, all threads) a process uses, from /proc/PID/stat.

    python3 tools/cpu_sample.py PID                  # CPU seconds used so far
    python3 tools/cpu_sample.py PID -- CMD [ARGS...]  # CPU seconds PID used while CMD ran
    python3 tools/cpu_sample.py 1234 -- bash tools/load.sh 6379 -t get -P 64 -n 1000000

With -n N requests in the load, the server's CPU per request is the printed figure divided by N
times the number of tests. benchmark.py reads the same counters around each of its runs.
"""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark.py holds the /proc reader

from benchmark import cpu_seconds  # noqa: E402


def main(argv: list) -> int:
    if not argv or not argv[0].isdigit() or (len(argv) > 1 and (argv[1] != "--" or len(argv) < 3)):
        print(__doc__, file=sys.stderr)
        return 2
    pid = int(argv[0])
    try:
        before = cpu_seconds(pid)
    except FileNotFoundError:
        print(f"no process {pid}", file=sys.stderr)
        return 1
    if len(argv) == 1:
        print(f"{before:.2f}")
        return 0
    rc = subprocess.run(argv[2:], timeout=900).returncode
    print(f"cpu seconds used by {pid}: {cpu_seconds(pid) - before:.2f}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
