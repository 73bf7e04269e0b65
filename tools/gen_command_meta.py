#!/usr/bin/env python3
"""Writes src/command/meta.txt: Redis 7.0's COMMAND DOCS and COMMAND INFO for every command in our table.

    python3 tools/gen_command_meta.py            # starts its own redis-server on a free port
    python3 tools/gen_command_meta.py --port P   # or asks one already running (it must be 7.0.15)
    python3 tools/gen_command_meta.py --check    # exits 1 if the committed file differs

Why a generated data file: COMMAND DOCS (summaries, argument trees that redis-cli turns into `HELP`
and typing hints, history) and COMMAND INFO (ACL categories, tips, key specs, subcommands) are the
specification Redis publishes about its own commands. Writing them by hand drifted (summaries in
7.2's wording, no arguments, one guessed key spec per command); asking redis-server 7.0.15, the
reference Rustis answers like, gives the published text exactly and can be redone for another
version in one run.

What is written is only what the command table (src/command/*.rs) does not already carry: the table
keeps name, arity, flags and key positions of every top-level command, because the worker routes on
them, and Rustis renders those from the table. Subcommands (CONFIG GET, OBJECT ENCODING...) are not
table entries, so their arity, flags and legacy key range are written here. The container commands we
implement list every subcommand Redis 7.0 has, so their COMMAND INFO and COMMAND DOCS are Redis's
whole answer even where Rustis implements only part of it.

The command names are read from the `cmd("name", ...)` declarations of src/command/*.rs. Each
command is asked for in RESP3 (which tells maps and sets from arrays) and turned into a model; the
model is rendered back and compared with what redis-server answered, in RESP3 and in RESP2, so a
field the model does not know fails the run instead of being lost. Redis lists subcommands in the
order of a hash table seeded at random per process; the file lists them sorted by name.

Format (one field a line, two spaces of indentation per level of nesting, values to the end of the
line; every value is checked to hold no line break and no leading or trailing blank):

    command <name>                      a top-level command, or `<container>|<subcommand>`
      summary|since|group|complexity|deprecated_since|replaced_by <text>
      doc_flags <flag> ...
      history <version> <text>          one line per entry, in order
      arity <n>                         subcommands only, with flags, first_key, last_key, key_step
      flags <flag> ...
      acl_categories <@category> ...
      tips <tip> ...
      key_spec                          one per key spec, in order
        notes <text>
        flags <flag> ...
        begin_search index <i> | keyword <keyword> <startfrom> | unknown
        find_keys range <lastkey> <keystep> <limit> | keynum <keynumidx> <firstkey> <keystep> | unknown
      argument <name>                   one per argument, in order; nested under oneof/block
        type|token|since|deprecated_since <text>
        key_spec_index <i>
        flags <flag> ...
        argument <name> ...
"""

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "command" / "meta.txt"
FAMILIES = ["string", "keyspace", "list", "set", "hash", "zset", "server", "latency", "slowlog", "multi", "scripting", "pubsub", "memory", "sort", "geo", "bitmap", "hll", "dump", "acl", "stream", "persist"]
REDIS_VERSION = "7.0.15"


# --------------------------------------------------------------------------------------------- RESP

class Conn:
    """A raw RESP connection that reads replies as (type, value) trees and as raw bytes."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def send(self, *args: str) -> None:
        out = b"*%d\r\n" % len(args)
        for a in args:
            b = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)

    def _line(self) -> bytes:
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed mid-reply")
        return line

    def raw(self) -> bytes:
        line = self._line()
        kind, rest, out = line[:1], line[1:-2], line
        if kind in b"$=!" and int(rest) >= 0:
            out += self.file.read(int(rest) + 2)
        elif kind in b"*~>":
            for _ in range(max(int(rest), 0)):
                out += self.raw()
        elif kind in b"%|":
            for _ in range(2 * max(int(rest), 0)):
                out += self.raw()
        return out

    def tree(self):
        line = self._line()
        kind, rest = line[:1].decode(), line[1:-2]
        if kind == "$":
            n = int(rest)
            return ("null",) if n < 0 else ("bulk", self.file.read(n + 2)[:-2].decode())
        if kind == "+":
            return ("simple", rest.decode())
        if kind == "-":
            raise RuntimeError(rest.decode())
        if kind == ":":
            return ("int", int(rest))
        if kind == "_":
            return ("null",)
        if kind in "*~":
            return ("array" if kind == "*" else "set", [self.tree() for _ in range(int(rest))])
        if kind == "%":
            return ("map", [(self.tree(), self.tree()) for _ in range(int(rest))])
        raise ValueError(f"unexpected reply {line!r}")

    def call_tree(self, *args: str):
        self.send(*args)
        return self.tree()

    def call_raw(self, *args: str) -> bytes:
        self.send(*args)
        return self.raw()


def encode(tree, resp3: bool) -> bytes:
    """A tree as RESP bytes; in RESP2 sets are arrays and maps are flat arrays of pairs."""
    kind = tree[0]
    if kind == "bulk":
        b = tree[1].encode()
        return b"$%d\r\n%s\r\n" % (len(b), b)
    if kind == "simple":
        return b"+%s\r\n" % tree[1].encode()
    if kind == "int":
        return b":%d\r\n" % tree[1]
    if kind == "null":
        return b"_\r\n" if resp3 else b"$-1\r\n"
    if kind in ("array", "set"):
        mark = b"~" if kind == "set" and resp3 else b"*"
        return mark + b"%d\r\n" % len(tree[1]) + b"".join(encode(x, resp3) for x in tree[1])
    if kind == "map":
        head = b"%%%d\r\n" % len(tree[1]) if resp3 else b"*%d\r\n" % (2 * len(tree[1]))
        return head + b"".join(encode(k, resp3) + encode(v, resp3) for k, v in tree[1])
    raise ValueError(kind)


# -------------------------------------------------------------------------------------------- model

def as_map(tree) -> dict:
    assert tree[0] == "map", tree
    out = {}
    for k, v in tree[1]:
        assert k[0] == "bulk" and k[1] not in out, k
        out[k[1]] = v
    return out


def words(tree, kind: str) -> list:
    """A set of simple or bulk strings as a list of words."""
    assert tree[0] == "set", tree
    out = []
    for x in tree[1]:
        assert x[0] == kind, (x, kind)
        out.append(x[1])
    return out


def text(tree) -> str:
    assert tree[0] == "bulk", tree
    return tree[1]


def integer(tree) -> int:
    assert tree[0] == "int", tree
    return tree[1]


DOC_TEXT = ["summary", "since", "group", "complexity"]
ARG_TEXT = ["token", "since", "deprecated_since"]


def model_arg(tree) -> dict:
    m = as_map(tree)
    arg = {"name": text(m.pop("name")), "type": text(m.pop("type")), "flags": [], "arguments": []}
    if "key_spec_index" in m:
        arg["key_spec_index"] = integer(m.pop("key_spec_index"))
    for f in ARG_TEXT:
        if f in m:
            arg[f] = text(m.pop(f))
    if "flags" in m:
        arg["flags"] = words(m.pop("flags"), "simple")
    if "arguments" in m:
        v = m.pop("arguments")
        assert v[0] == "array" and v[1], v
        arg["arguments"] = [model_arg(a) for a in v[1]]
    assert not m, f"argument fields not modelled: {sorted(m)}"
    return arg


def model_docs(tree) -> tuple:
    """The docs of one command, and its subcommands' docs by name."""
    m = as_map(tree)
    d = {"doc_flags": [], "history": [], "arguments": []}
    for f in DOC_TEXT:
        if f in m:
            d[f] = text(m.pop(f))
    if "doc_flags" in m:
        d["doc_flags"] = words(m.pop("doc_flags"), "simple")
    for f in ["deprecated_since", "replaced_by"]:
        if f in m:
            d[f] = text(m.pop(f))
    if "history" in m:
        v = m.pop("history")
        assert v[0] == "set" and v[1], v
        for h in v[1]:
            assert h[0] == "array" and len(h[1]) == 2, h
            d["history"].append((text(h[1][0]), text(h[1][1])))
    if "arguments" in m:
        v = m.pop("arguments")
        assert v[0] == "array" and v[1], v
        d["arguments"] = [model_arg(a) for a in v[1]]
    subs = {}
    if "subcommands" in m:
        subs = {k: v for k, v in as_map(m.pop("subcommands")).items()}
    assert not m, f"doc fields not modelled: {sorted(m)}"
    return d, subs


def model_key_spec(tree) -> dict:
    m = as_map(tree)
    ks = {}
    if "notes" in m:
        ks["notes"] = text(m.pop("notes"))
    ks["flags"] = words(m.pop("flags"), "simple")
    for part, shapes in [
        ("begin_search", {"index": ["index"], "keyword": ["keyword", "startfrom"], "unknown": []}),
        ("find_keys", {"range": ["lastkey", "keystep", "limit"],
                       "keynum": ["keynumidx", "firstkey", "keystep"], "unknown": []}),
    ]:
        p = as_map(m.pop(part))
        kind = text(p.pop("type"))
        spec = as_map(p.pop("spec"))
        assert not p and kind in shapes and list(spec) == shapes[kind], (part, kind, spec)
        values = [text(v) if v[0] == "bulk" else integer(v) for v in spec.values()]
        ks[part] = [kind] + values
    assert not m, f"key spec fields not modelled: {sorted(m)}"
    return ks


def model_info(tree, sub: bool) -> tuple:
    """The COMMAND INFO facts of one command the table does not carry, and its subcommands' entries."""
    assert tree[0] == "array" and len(tree[1]) == 10, tree
    e = tree[1]
    c = {"acl_categories": words(e[6], "simple"), "tips": words(e[7], "bulk")}
    if sub:
        c["arity"] = integer(e[1])
        c["flags"] = words(e[2], "simple")
        c["first_key"], c["last_key"], c["key_step"] = integer(e[3]), integer(e[4]), integer(e[5])
    assert e[8][0] == "set", e[8]
    c["key_specs"] = [model_key_spec(k) for k in e[8][1]]
    subs = {}
    if e[9][0] == "array":
        assert e[9][1], "a container without subcommands"
        for s in e[9][1]:
            subs[text(s[1][0])] = s
    else:
        assert e[9] == ("set", []), e[9]
    return c, subs


# ------------------------------------------------------------------------------------ render (check)

def render_arg(a: dict):
    pairs = [("name", ("bulk", a["name"])), ("type", ("bulk", a["type"]))]
    if "key_spec_index" in a:
        pairs.append(("key_spec_index", ("int", a["key_spec_index"])))
    for f in ARG_TEXT:
        if f in a:
            pairs.append((f, ("bulk", a[f])))
    if a["flags"]:
        pairs.append(("flags", ("set", [("simple", f) for f in a["flags"]])))
    if a["arguments"]:
        pairs.append(("arguments", ("array", [render_arg(x) for x in a["arguments"]])))
    return ("map", [(("bulk", k), v) for k, v in pairs])


def render_docs(c: dict, by_name: dict, order=None):
    d = c["docs"]
    pairs = [(f, ("bulk", d[f])) for f in DOC_TEXT if f in d]
    if d["doc_flags"]:
        pairs.append(("doc_flags", ("set", [("simple", f) for f in d["doc_flags"]])))
    pairs += [(f, ("bulk", d[f])) for f in ["deprecated_since", "replaced_by"] if f in d]
    if d["history"]:
        pairs.append(("history", ("set", [("array", [("bulk", v), ("bulk", t)]) for v, t in d["history"]])))
    if d["arguments"]:
        pairs.append(("arguments", ("array", [render_arg(a) for a in d["arguments"]])))
    if c["subcommands"]:
        names = order or c["subcommands"]
        pairs.append(("subcommands", ("map", [(("bulk", s), render_docs(by_name[s], by_name)) for s in names])))
    return ("map", [(("bulk", k), v) for k, v in pairs])


def render_key_spec(ks: dict):
    pairs = []
    if "notes" in ks:
        pairs.append(("notes", ("bulk", ks["notes"])))
    pairs.append(("flags", ("set", [("simple", f) for f in ks["flags"]])))
    for part, names in [("begin_search", {"index": ["index"], "keyword": ["keyword", "startfrom"], "unknown": []}),
                        ("find_keys", {"range": ["lastkey", "keystep", "limit"],
                                       "keynum": ["keynumidx", "firstkey", "keystep"], "unknown": []})]:
        kind, *values = ks[part]
        spec = [(("bulk", n), ("bulk", v) if isinstance(v, str) else ("int", v)) for n, v in zip(names[kind], values)]
        pairs.append((part, ("map", [(("bulk", "type"), ("bulk", kind)), (("bulk", "spec"), ("map", spec))])))
    return ("map", [(("bulk", k), v) for k, v in pairs])


def render_info(c: dict, table: dict, by_name: dict, order=None):
    """COMMAND INFO's entry; `table` gives arity, flags and key range (the command table's, for a top-level)."""
    subs = ("set", [])
    if c["subcommands"]:
        subs = ("array", [render_info(by_name[s], by_name[s], by_name) for s in (order or c["subcommands"])])
    return ("array", [
        ("bulk", c["name"]), ("int", table["arity"]), ("set", [("simple", f) for f in table["flags"]]),
        ("int", table["first_key"]), ("int", table["last_key"]), ("int", table["key_step"]),
        ("set", [("simple", x) for x in c["acl_categories"]]), ("set", [("bulk", x) for x in c["tips"]]),
        ("set", [render_key_spec(k) for k in c["key_specs"]]), subs,
    ])


# --------------------------------------------------------------------------------------------- file

def clean(value: str, what: str, word: bool = False) -> str:
    """Checks that `value` fits on one line of the file (and is one word, for lists)."""
    # A trailing blank is kept as it is (ACL's summary ends with one); the reader takes the rest of the
    # line verbatim.
    assert value and value == value.lstrip() and "\n" not in value and "\r" not in value, (what, value)
    assert what == "summary" or value == value.rstrip(), (what, value)
    assert not word or " " not in value, (what, value)
    return value


def write_arg(out: list, a: dict, depth: int) -> None:
    pad = "  " * depth
    out.append(f"{pad}argument {clean(a['name'], 'argument name', True)}")
    out.append(f"{pad}  type {clean(a['type'], 'type', True)}")
    if "key_spec_index" in a:
        out.append(f"{pad}  key_spec_index {a['key_spec_index']}")
    for f in ARG_TEXT:
        if f in a:
            out.append(f"{pad}  {f} {clean(a[f], f)}")
    if a["flags"]:
        out.append(f"{pad}  flags " + " ".join(clean(x, "flag", True) for x in a["flags"]))
    for x in a["arguments"]:
        write_arg(out, x, depth + 1)


def write_command(out: list, c: dict) -> None:
    out.append(f"command {clean(c['name'], 'name', True)}")
    d = c["docs"]
    for f in DOC_TEXT:
        if f in d:
            out.append(f"  {f} {clean(d[f], f)}")
    if d["doc_flags"]:
        out.append("  doc_flags " + " ".join(clean(x, "doc flag", True) for x in d["doc_flags"]))
    for f in ["deprecated_since", "replaced_by"]:
        if f in d:
            out.append(f"  {f} {clean(d[f], f)}")
    for v, t in d["history"]:
        out.append(f"  history {clean(v, 'version', True)} {clean(t, 'history')}")
    if "arity" in c:
        out.append(f"  arity {c['arity']}")
        if c["flags"]:
            out.append("  flags " + " ".join(clean(x, "flag", True) for x in c["flags"]))
        out.append(f"  first_key {c['first_key']}")
        out.append(f"  last_key {c['last_key']}")
        out.append(f"  key_step {c['key_step']}")
    if c["acl_categories"]:
        out.append("  acl_categories " + " ".join(clean(x, "category", True) for x in c["acl_categories"]))
    if c["tips"]:
        out.append("  tips " + " ".join(clean(x, "tip", True) for x in c["tips"]))
    for ks in c["key_specs"]:
        out.append("  key_spec")
        if "notes" in ks:
            out.append(f"    notes {clean(ks['notes'], 'notes')}")
        if ks["flags"]:
            out.append("    flags " + " ".join(clean(x, "key spec flag", True) for x in ks["flags"]))
        for part in ["begin_search", "find_keys"]:
            out.append(f"    {part} " + " ".join(clean(str(v), part, True) for v in ks[part]))
    for a in d["arguments"]:
        write_arg(out, a, 1)


# --------------------------------------------------------------------------------------------- main

def table_names() -> list:
    """The command names declared in the family files, in table order."""
    names = []
    for fam in FAMILIES:
        src = (ROOT / "src" / "command" / f"{fam}.rs").read_text()
        names += re.findall(r'\bcmd\(\s*"([^"]+)"', src)
    assert names and len(names) == len(set(names)), "duplicate or missing command names"
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis():
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            c = Conn(port)
            info = c.call_raw("INFO", "server").decode()
            if f"process_id:{proc.pid}\r\n" in info:
                return proc, port
            break  # another server took the port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise SystemExit("redis-server did not start")


def collect(port: int, names: list) -> list:
    c3, c2 = Conn(port), Conn(port)
    version = re.search(r"redis_version:(\S+)", c2.call_raw("INFO", "server").decode()).group(1)
    if version != REDIS_VERSION:
        raise SystemExit(f"redis-server {version} answered; the reference is {REDIS_VERSION}")
    c3.call_tree("HELLO", "3")
    commands = []
    for name in names:
        info = c3.call_tree("COMMAND", "INFO", name)[1][0]
        docs = as_map(c3.call_tree("COMMAND", "DOCS", name))
        if info == ("null",) or name not in docs:
            raise SystemExit(f"redis-server {REDIS_VERSION} has no command {name!r}")
        top, sub_infos = model_info(info, False)
        top["name"] = name
        top["docs"], sub_docs = model_docs(docs[name])
        assert sorted(sub_infos) == sorted(sub_docs), name
        top["subcommands"] = sorted(sub_infos)
        group = [top]
        for s in top["subcommands"]:
            sc, nested = model_info(sub_infos[s], True)
            assert not nested, s
            sc["name"] = s
            sc["docs"], nested = model_docs(sub_docs[s])
            assert not nested, s
            sc["subcommands"] = []
            group.append(sc)
        by_name = {x["name"]: x for x in group}
        # The model must give back what redis-server said, in RESP3 and RESP2, in Redis's own order.
        e = info[1]
        table = {"arity": e[1][1], "flags": [f[1] for f in e[2][1]],
                 "first_key": e[3][1], "last_key": e[4][1], "key_step": e[5][1]}
        redis_order = list(sub_infos)
        docs_order = list(sub_docs)
        want_info = ("array", [info])
        want_docs = ("map", [(("bulk", name), render_docs(top, by_name, docs_order))])
        got_info = ("array", [render_info(top, table, by_name, redis_order)])
        assert got_info == want_info, f"COMMAND INFO {name}: the model loses something"
        assert encode(got_info, False) == c2.call_raw("COMMAND", "INFO", name), f"COMMAND INFO {name} (RESP2)"
        assert encode(got_info, True) == c3.call_raw("COMMAND", "INFO", name), f"COMMAND INFO {name} (RESP3)"
        assert encode(want_docs, False) == c2.call_raw("COMMAND", "DOCS", name), f"COMMAND DOCS {name} (RESP2)"
        assert encode(want_docs, True) == c3.call_raw("COMMAND", "DOCS", name), f"COMMAND DOCS {name} (RESP3)"
        for s in top["subcommands"]:
            sc = by_name[s]
            for conn, resp3 in [(c2, False), (c3, True)]:
                assert encode(("array", [render_info(sc, sc, by_name)]), resp3) == conn.call_raw("COMMAND", "INFO", s), s
                assert encode(("map", [(("bulk", s), render_docs(sc, by_name))]), resp3) == \
                    conn.call_raw("COMMAND", "DOCS", s), s
        commands += group
    return commands


def render_file(commands: list) -> str:
    out = [
        f"# Generated by tools/gen_command_meta.py from redis-server {REDIS_VERSION}'s COMMAND DOCS and",
        "# COMMAND INFO; do not edit (run the tool). Arity, flags and key positions of top-level commands",
        "# come from the command table, not from here.",
    ]
    for c in commands:
        write_command(out, c)
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, help="a running redis-server 7.0.15 (default: start one)")
    p.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args()
    proc = None
    port = args.port
    if port is None:
        proc, port = start_redis()
    try:
        commands = collect(port, table_names())
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text_out = render_file(commands)
    out = Path(args.out)
    if args.check:
        same = out.exists() and out.read_text() == text_out
        print(f"{out}: {'up to date' if same else 'differs from redis-server ' + REDIS_VERSION}")
        return 0 if same else 1
    out.write_text(text_out)
    tops = sum(1 for c in commands if "|" not in c["name"])
    print(f"{out}: {tops} commands, {len(commands) - tops} subcommands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
