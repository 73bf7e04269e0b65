"""Unit tests of generate_report.py's table on a fixture CSV."""

import io
import sys
import unittest
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import generate_report  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "benchmarks.csv"


class ReportTests(unittest.TestCase):
    def test_medians_and_marks(self):
        rows = generate_report.load(FIXTURE)
        base = generate_report.select(rows, "before", "rustis")
        head = generate_report.select(rows, "after", "rustis")
        self.assertEqual(base[("2:regular", "SET")], (110000.0, 0.35))
        text = generate_report.table(base, head)
        set_line = next(l for l in text.splitlines() if "| SET |" in l)
        get_line = next(l for l in text.splitlines() if "| GET |" in l)
        self.assertIn("🟢 +20.0%", set_line)  # 110k -> 132k
        self.assertIn("+0.0%", set_line)      # p50 unchanged: no mark
        self.assertIn("🔴 -10.0%", get_line)  # 100k -> 90k
        self.assertIn("🔴 +25.0%", get_line)  # p50 0.4 -> 0.5 is worse

    def test_servers_within_one_label(self):
        out = io.StringIO()
        with redirect_stdout(out):
            rc = generate_report.main(["--csv", str(FIXTURE), "--label", "before", "--base-server", "redis",
                                       "--head-server", "rustis"])
        self.assertEqual(rc, 0)
        self.assertIn("| 2:regular | SET | 50,000 → 110,000 | 🟢 +120.0% |", out.getvalue())

    def test_unknown_label(self):
        with redirect_stdout(io.StringIO()):
            self.assertEqual(generate_report.main(["--csv", str(FIXTURE), "--base", "nope", "--head", "after"]), 1)


if __name__ == "__main__":
    unittest.main()
