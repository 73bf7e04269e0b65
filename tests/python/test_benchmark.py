"""Unit tests of benchmark.py's output parsers and table: no servers, no network."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import benchmark  # noqa: E402

CSV_OUT = '''"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","98039.22","0.301","0.096","0.295","0.439","0.607","1.103"
"LRANGE_100 (first 100 elements)","51282.05","0.541","0.152","0.527","0.735","0.959","2.311"
'''

QUIET_OUT = (
    "SET: rps=0.0 (overall: 0.0) avg_msec=nan (overall: nan)\r"
    "SET: 129870.13 requests per second, p50=0.191 msec\n"
    "GET: rps=120000.0 (overall: 120000.0) avg_msec=0.2 (overall: 0.2)\r"
    "GET: 135135.14 requests per second, p50=0.183 msec\n"
    "MSET (10 keys): 90909.09 requests per second, p50=0.351 msec\n"
)


class ParserTests(unittest.TestCase):
    def test_csv_output(self):
        rows = benchmark.parse_csv_output(CSV_OUT)
        self.assertEqual([r["command"] for r in rows], ["SET", "LRANGE_100 (first 100 elements)"])
        self.assertAlmostEqual(rows[0]["rps"], 98039.22)
        self.assertAlmostEqual(rows[0]["p50_ms"], 0.295)
        self.assertAlmostEqual(rows[1]["p99_ms"], 0.959)

    def test_quiet_output_skips_progress_lines(self):
        rows = benchmark.parse_quiet_output(QUIET_OUT)
        self.assertEqual([r["command"] for r in rows], ["SET", "GET", "MSET (10 keys)"])
        self.assertAlmostEqual(rows[1]["rps"], 135135.14)
        self.assertAlmostEqual(rows[2]["p50_ms"], 0.351)

    def test_empty_and_garbage(self):
        self.assertEqual(benchmark.parse_csv_output(""), [])
        self.assertEqual(benchmark.parse_quiet_output("Could not connect to Redis at 127.0.0.1:1"), [])


class SuiteTests(unittest.TestCase):
    def test_suite_parameters_are_the_documented_ones(self):
        s3 = benchmark.SUITES[3]
        self.assertEqual(" ".join(s3.args), "-t set,get,lpush,lpop -c 2000 -P 32 -n 1000000 -r 100000")
        self.assertEqual(s3.tests(), ["set", "get", "lpush", "lpop"])
        self.assertEqual(s3.base_args(), ["-c", "2000", "-P", "32", "-n", "1000000", "-r", "100000"])
        self.assertEqual(" ".join(benchmark.SUITES[4].args), "-t set,get -c 1000 -P 16 -d 4096 -n 500000 -r 100000")
        self.assertEqual(benchmark.SUITES[5].tests(), [])

    def test_suite_selection(self):
        self.assertEqual([s.number for s in benchmark.parse_suites("all")], [1, 2, 3, 4, 5])
        self.assertEqual([s.number for s in benchmark.parse_suites("1,3")], [1, 3])
        with self.assertRaises(SystemExit):
            benchmark.parse_suites("9")

    def test_side_by_side_ratio(self):
        s = benchmark.SUITES[2]
        results = [
            benchmark.Result("rustis", s, "SET", 200.0, 0.1, 0.2, 1e-6),
            benchmark.Result("redis", s, "SET", 100.0, 0.2, 0.4, 2e-6),
        ]
        text = benchmark.side_by_side(results, "rustis", "redis")
        self.assertIn("2.00", text)
        self.assertIn("SET", text)

    def test_csv_rows(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "b.csv"
            r = benchmark.Result("rustis 0.1.0", benchmark.SUITES[1], "PING_MBULK", 1000.0, 0.1, 0.2, None)
            benchmark.append_csv(path, "x", [r])
            benchmark.append_csv(path, "y", [r])
            lines = path.read_text().splitlines()
            self.assertEqual(lines[0].split(","), benchmark.CSV_COLUMNS)
            self.assertEqual(len(lines), 3)


if __name__ == "__main__":
    unittest.main()
