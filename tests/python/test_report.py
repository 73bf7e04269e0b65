"""Unit tests of generate_report.py on the fixture CSV: medians, deltas, 🟢/🔴 marks, selection."""

import io
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root holds generate_report.py

import generate_report  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "benchmarks.csv"


def run(*argv):
    """generate_report.main's exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = generate_report.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def line_of(text, command):
    return next(x for x in text.splitlines() if f"| {command} |" in x)


class ReportTests(unittest.TestCase):
    def test_medians_deltas_and_marks(self):
        rows = generate_report.load(FIXTURE)
        base = generate_report.select(rows, "before", "rustis")
        head = generate_report.select(rows, "after", "rustis")
        self.assertEqual(base[("2:regular", "SET")], (110000.0, 0.35))  # medians of two runs
        text = generate_report.table(base, head)
        self.assertEqual(line_of(text, "SET"), "| 2:regular | SET | 110,000 → 132,000 | 🟢 +20.0% | 0.350 → 0.350 | +0.0% |")
        self.assertEqual(line_of(text, "GET"), "| 2:regular | GET | 100,000 → 90,000 | 🔴 -10.0% | 0.400 → 0.500 | 🔴 +25.0% |")
        self.assertEqual(line_of(text, "LPUSH"), "| 3:high concurrency | LPUSH | 800,000 → 1,000,000 | 🟢 +25.0% | "
                                                 "2.000 → 1.500 | 🟢 -25.0% |")
        self.assertEqual(line_of(text, "PING_INLINE"), "| 1:sanity | PING_INLINE | 50,000 → – | – | 0.500 → – | – |")
        commands = [x.split("|")[2].strip() for x in text.splitlines()[2:]]
        self.assertEqual(commands, ["PING_INLINE", "GET", "SET", "LPUSH"])  # by suite number, then command

    def test_mark(self):
        self.assertEqual(generate_report.mark(5.0, True), "🟢")
        self.assertEqual(generate_report.mark(5.0, False), "🔴")
        self.assertEqual(generate_report.mark(-5.0, False), "🟢")
        self.assertEqual(generate_report.mark(0.0, True), "")
        self.assertEqual(generate_report.mark(float("nan"), True), "")

    def test_two_servers_within_one_label(self):
        rc, out, _ = run("--csv", str(FIXTURE), "--label", "before", "--base-server", "redis", "--head-server", "rustis")
        self.assertEqual(rc, 0)
        self.assertIn("| 2:regular | SET | 50,000 → 110,000 | 🟢 +120.0% | 0.500 → 0.350 | 🟢 -30.0% |", out)

    def test_server_filter_for_both_labels(self):
        rc, out, _ = run("--csv", str(FIXTURE), "--base", "before", "--head", "after", "--server", "rustis")
        self.assertEqual(rc, 0)
        self.assertIn("🟢 +20.0%", line_of(out, "SET"))

    def test_mixed_servers_are_refused(self):
        rc, _, err = run("--csv", str(FIXTURE), "--base", "before", "--head", "after")
        self.assertEqual(rc, 1)
        self.assertIn("several servers", err)

    def test_only_label_is_used_for_a_server_comparison(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "one.csv"
            lines = FIXTURE.read_text().splitlines()
            path.write_text("\n".join([lines[0]] + [x for x in lines[1:] if ",before," in x]) + "\n")
            rc, out, _ = run("--csv", str(path), "--base-server", "redis", "--head-server", "rustis")
        self.assertEqual(rc, 0)
        self.assertIn("base: before (redis 7.0.15), head: before (rustis 0.1.0)", out)

    def test_unknown_label_or_server(self):
        self.assertEqual(run("--csv", str(FIXTURE), "--base", "nope", "--head", "after")[0], 1)
        self.assertEqual(run("--csv", str(FIXTURE), "--label", "after", "--base-server", "redis",
                             "--head-server", "rustis")[0], 1)


if __name__ == "__main__":
    unittest.main()
