"""Unit tests of tools/gen_command_meta.py's model: no server (the Rust test diff_command_meta
compares the generated data with a live redis-server)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import gen_command_meta as g  # noqa: E402


def b(s):
    return ("bulk", s)


def m(*pairs):
    return ("map", [(b(k), v) for k, v in pairs])


def flags(*names):
    return ("set", [("simple", n) for n in names])


# A made-up command using every field the model knows, shaped as redis-server 7.0 sends it in RESP3.
DOCS = m(
    ("summary", b("Do a thing")), ("since", b("1.0.0")), ("group", b("generic")), ("complexity", b("O(1)")),
    ("doc_flags", flags("deprecated")), ("deprecated_since", b("6.2.0")), ("replaced_by", b("`OTHER`")),
    ("history", ("set", [("array", [b("2.0.0"), b("Added `X`.")])])),
    ("arguments", ("array", [
        m(("name", b("key")), ("type", b("key")), ("key_spec_index", ("int", 0))),
        m(("name", b("choice")), ("type", b("oneof")), ("since", b("2.0.0")), ("flags", flags("optional")),
          ("arguments", ("array", [m(("name", b("x")), ("type", b("pure-token")), ("token", b("X")))]))),
    ])),
)
KEY_SPECS = ("set", [
    m(("notes", b("a note")), ("flags", flags("RW", "access")),
      ("begin_search", m(("type", b("keyword")), ("spec", m(("keyword", b("STREAMS")), ("startfrom", ("int", 1)))))),
      ("find_keys", m(("type", b("keynum")), ("spec", m(("keynumidx", ("int", 0)), ("firstkey", ("int", 1)),
                                                          ("keystep", ("int", 1))))))),
    m(("flags", flags("RO")),
      ("begin_search", m(("type", b("index")), ("spec", m(("index", ("int", 2)))))),
      ("find_keys", m(("type", b("range")), ("spec", m(("lastkey", ("int", -1)), ("keystep", ("int", 1)),
                                                         ("limit", ("int", 0))))))),
])
INFO = ("array", [b("thing"), ("int", -2), flags("write", "movablekeys"), ("int", 0), ("int", 0), ("int", 0),
                  flags("@write", "@slow"), ("set", [b("nondeterministic_output")]), KEY_SPECS, ("set", [])])


class ModelTest(unittest.TestCase):
    def test_round_trip(self):
        c, subs = g.model_info(INFO, False)
        self.assertEqual(subs, {})
        c["name"] = "thing"
        c["docs"], sub_docs = g.model_docs(DOCS)
        self.assertEqual(sub_docs, {})
        c["subcommands"] = []
        table = {"arity": -2, "flags": ["write", "movablekeys"], "first_key": 0, "last_key": 0, "key_step": 0}
        self.assertEqual(g.render_info(c, table, {}), INFO)
        self.assertEqual(g.render_docs(c, {}), DOCS)
        # RESP2 turns sets into arrays and maps into flat arrays.
        self.assertTrue(g.encode(INFO, False).startswith(b"*10\r\n$5\r\nthing\r\n:-2\r\n*2\r\n+write\r\n"))
        self.assertTrue(g.encode(DOCS, True).startswith(b"%9\r\n$7\r\nsummary\r\n"))
        out = []
        g.write_command(out, c)
        self.assertIn("    begin_search keyword STREAMS 1", out)
        self.assertIn("    find_keys range -1 1 0", out)
        self.assertIn("  argument choice", out)
        self.assertIn("    argument x", out)
        self.assertNotIn("  arity -2", out)  # a top-level command's arity is the table's

    def test_unknown_fields_fail(self):
        with self.assertRaises(AssertionError):
            g.model_docs(m(("summary", b("x")), ("module", b("m"))))
        with self.assertRaises(AssertionError):
            g.model_arg(m(("name", b("x")), ("type", b("string")), ("display", b("y"))))

    def test_values_must_fit_a_line(self):
        for bad in ["", " x", "x ", "a\nb"]:
            with self.assertRaises(AssertionError):
                g.clean(bad, "test")
        with self.assertRaises(AssertionError):
            g.clean("two words", "flag", True)
        self.assertEqual(g.clean("O(1) each", "complexity"), "O(1) each")

    def test_table_names(self):
        names = g.table_names()
        for n in ["get", "set", "config", "object", "command"]:
            self.assertIn(n, names)


if __name__ == "__main__":
    unittest.main()
