"""Unit tests of benchmark.py's output parsers, suites, tables and CSV rows: no servers, no network."""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root holds benchmark.py

import benchmark  # noqa: E402

# `redis-benchmark --csv` (7.0): a quoted header, then quoted fields; test names may hold spaces.
CSV_OUT = '''"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","98039.22","0.301","0.096","0.295","0.439","0.607","1.103"
"LRANGE_100 (first 100 elements)","51282.05","0.541","0.152","0.527","0.735","0.959","2.311"
"MSET (10 keys)","86956.52","0.473","0.120","0.447","0.711","0.903","1.607"
'''

# redis-benchmark 6.0 --csv: no header, name and rps only.
CSV_OUT_V6 = '"PING_INLINE","49019.61"\n"PING_BULK","50505.05"\n'

# `redis-benchmark -q`: progress lines end in a carriage return, results in a newline.
QUIET_OUT = (
    "SET: rps=0.0 (overall: 0.0) avg_msec=nan (overall: nan)\r"
    "SET: 129870.13 requests per second, p50=0.191 msec\n"
    "GET: rps=120000.0 (overall: 120000.0) avg_msec=0.2 (overall: 0.2)\r"
    "GET: 135135.14 requests per second, p50=0.183 msec\n"
    "LRANGE_100 (first 100 elements): 51282.05 requests per second, p50=0.527 msec\n"
    "MSET (10 keys): 90909.09 requests per second, p50=0.351 msec\n"
    "PING_INLINE: 49019.61 requests per second\n"  # older versions print no p50
)


class ParserTests(unittest.TestCase):
    def test_csv_output(self):
        rows = benchmark.parse_csv_output(CSV_OUT)
        self.assertEqual([r["command"] for r in rows], ["SET", "LRANGE_100 (first 100 elements)", "MSET (10 keys)"])
        self.assertAlmostEqual(rows[0]["rps"], 98039.22)
        self.assertAlmostEqual(rows[0]["p50_ms"], 0.295)
        self.assertAlmostEqual(rows[1]["p99_ms"], 0.959)
        self.assertAlmostEqual(rows[2]["max_ms"], 1.607)

    def test_csv_output_without_header(self):
        rows = benchmark.parse_csv_output(CSV_OUT_V6)
        self.assertEqual([(r["command"], r["rps"]) for r in rows], [("PING_INLINE", 49019.61), ("PING_BULK", 50505.05)])
        self.assertNotEqual(rows[0]["p50_ms"], rows[0]["p50_ms"])  # NaN: unknown

    def test_quiet_output_skips_progress_lines(self):
        rows = benchmark.parse_quiet_output(QUIET_OUT)
        self.assertEqual([r["command"] for r in rows],
                         ["SET", "GET", "LRANGE_100 (first 100 elements)", "MSET (10 keys)", "PING_INLINE"])
        self.assertAlmostEqual(rows[1]["rps"], 135135.14)
        self.assertAlmostEqual(rows[3]["p50_ms"], 0.351)
        self.assertNotEqual(rows[4]["p50_ms"], rows[4]["p50_ms"])

    def test_empty_and_garbage(self):
        self.assertEqual(benchmark.parse_csv_output(""), [])
        self.assertEqual(benchmark.parse_csv_output("Could not connect to Redis at 127.0.0.1:1: Connection refused\n"), [])
        self.assertEqual(benchmark.parse_quiet_output("Could not connect to Redis at 127.0.0.1:1"), [])

    def test_proc_stat_cpu_ticks(self):
        # The command name may hold spaces and parentheses; utime=250 and stime=50 are fields 14 and 15.
        stat = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 100 0 0"
        self.assertEqual(benchmark.parse_stat_cpu(stat), 300)


class SuiteTests(unittest.TestCase):
    def test_suite_parameters_are_the_documented_ones(self):
        args = {n: " ".join(s.args) for n, s in benchmark.SUITES.items()}
        self.assertEqual(args, {
            1: "-t ping -n 1000",
            2: "-t set,get -n 200000 -c 50",
            3: "-t set,get,lpush,lpop -c 2000 -P 32 -n 1000000 -r 100000",
            4: "-t set,get -c 1000 -P 16 -d 4096 -n 500000 -r 100000",
            5: "",
        })
        s3 = benchmark.SUITES[3]
        self.assertEqual(s3.tests(), ["set", "get", "lpush", "lpop"])
        self.assertEqual(s3.base_args(), ["-c", "2000", "-P", "32", "-n", "1000000", "-r", "100000"])
        self.assertEqual((s3.clients, s3.pipeline, s3.requests()), (2000, 32, 1000000))
        self.assertEqual(benchmark.SUITES[4].payload, 4096)
        self.assertEqual((benchmark.SUITES[5].tests(), benchmark.SUITES[5].requests()), ([], 100000))

    def test_suite_selection(self):
        self.assertEqual([s.number for s in benchmark.parse_suites("all")], [1, 2, 3, 4, 5])
        self.assertEqual([s.number for s in benchmark.parse_suites("1,3")], [1, 3])
        with self.assertRaises(SystemExit):
            benchmark.parse_suites("9")


class OutputTests(unittest.TestCase):
    def test_side_by_side_medians_ratio_and_blank_cpu(self):
        s = benchmark.SUITES[2]
        R = benchmark.Result
        results = [
            R("rustis 0.1.0", s, "SET", 200.0, 0.1, 0.2, 1e-6, "rustis"),
            R("rustis 0.1.0", s, "SET", 240.0, 0.1, 0.2, 3e-6, "rustis"),
            R("rustis 0.1.0", s, "SET", 900.0, 0.1, 0.2, 2e-6, "rustis"),
            R("redis 7.0.15", s, "SET", 120.0, 0.2, 0.4, None, "redis"),  # not started here: no CPU
        ]
        line = next(x for x in benchmark.side_by_side(results, "rustis", "redis").splitlines()
                    if x.startswith("2 regular"))
        self.assertEqual(line.split()[2:], ["SET", "240", "120", "2.00", "0.100", "0.200", "0.200", "0.400", "2.00"])

    def test_csv_rows(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "b.csv"
            r = benchmark.Result("rustis 0.1.0", benchmark.SUITES[4], "GET", 1000.0, 0.1, float("nan"), None)
            benchmark.append_csv(path, "x", [r])
            benchmark.append_csv(path, "y", [r])
            lines = path.read_text().splitlines()
            self.assertEqual(lines[0].split(","), benchmark.CSV_COLUMNS)
            self.assertEqual(len(lines), 3)  # one header only
            self.assertEqual(lines[2].split(",")[2:], ["y", "rustis 0.1.0", "4:heavy payload", "GET", "1000.00", "0.100",
                                                       "", "1000", "16", "4096", ""])


class MenuTest(unittest.TestCase):
    def test_bad_suite_is_refused_before_the_other_questions(self):
        from unittest import mock
        with mock.patch("builtins.input", return_value="9") as ask, mock.patch("builtins.print"):
            with self.assertRaises(SystemExit):
                benchmark.menu()
        self.assertEqual(ask.call_count, 1)


if __name__ == "__main__":
    unittest.main()
