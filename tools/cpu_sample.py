#!/usr/bin/env python3
"""Server CPU per request: runs a command (a load) and reports the CPU seconds a PID used meanwhile.

    python3 tools/cpu_sample.py PID -- redis-benchmark -p 6379 -t get -P 64 -n 1000000 -q

Prints utime+stime used by PID during the command, from /proc/PID/stat.
"""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark import cpu_seconds  # noqa: E402


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    pid = int(sys.argv[1])
    before = cpu_seconds(pid)
    rc = subprocess.run(sys.argv[3:], timeout=900).returncode
    print(f"server cpu seconds: {cpu_seconds(pid) - before:.2f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
