#!/usr/bin/env python3
"""Generate src/aws/gen/shapes_<service>.c from botocore's service models.

Usage: tools/gen_shapes.py [--data-dir DIR] [--out-dir DIR] [service ...]

The tables hold every shape reachable from an operation's input (outputs are not needed to
validate requests), in the layout of src/aws/shape.h. Only the Python standard library is used;
botocore is needed at generation time only (to locate its data directory and name its version),
the generated files are checked in.

Patterns are Java regular expressions. AWS's services match them against the whole value
(Java's Matcher.matches()), so each translated pattern is anchored: ^(...)$. The translation to
POSIX ERE (glibc regcomp, evaluated in the C locale, i.e. byte-wise) is:
  - exact on ASCII: \\d \\w \\s \\S, classes, ranges, groups, alternation, counted repetition;
  - a superset beyond ASCII where Java is Unicode-aware: \\p{L} \\p{N} \\p{Z} become "this ASCII
    set, or any non-ASCII character", and '.' any character but \\n and \\r;
  - an atom that can match a non-ASCII character must be repeated with * or + (a byte-wise
    {m,n} would count bytes, not characters); the one exception is a whole pattern X{m,n} whose
    bounds the shape's own min/max length check already implies, which becomes X*.
Anything else (lookaround, backreferences, \\b, \\P{..}, possessive or lazy quantifiers, nested
classes, non-ASCII literals...) makes the pattern skipped rather than guessed. Each translation is
then checked against Python's re (ASCII semantics) on generated and mutated samples through libc's
own regcomp/regexec; a disagreement also skips the pattern. Skipped patterns are listed in the
banner of the generated file: rejecting valid input is worse than not checking it.
"""

import argparse
import ctypes
import ctypes.util
import gzip
import json
import locale
import os
import random
import re
import sys

SERVICES = ("ecs", "ecr", "logs")
TYPES = {
    "structure": "SHAPE_STRUCTURE", "list": "SHAPE_LIST", "map": "SHAPE_MAP",
    "string": "SHAPE_STRING", "integer": "SHAPE_INTEGER", "long": "SHAPE_LONG",
    "boolean": "SHAPE_BOOLEAN", "double": "SHAPE_DOUBLE", "float": "SHAPE_FLOAT",
    "timestamp": "SHAPE_TIMESTAMP", "blob": "SHAPE_BLOB",
}

# --------------------------------------------------------------------------------------------
# Java regex -> AST
# Nodes: ("lit", code) ("class", frozenset(codes), nonascii) ("seq", [nodes]) ("alt", [seqs])
#        ("group", alt) ("rep", node, min, max_or_None) ("bol",) ("eol",)


class Unsupported(Exception):
    pass


ALL = frozenset(range(1, 128))
DIGIT = frozenset(range(0x30, 0x3A))
UPPER = frozenset(range(0x41, 0x5B))
LOWER = frozenset(range(0x61, 0x7B))
WORD = DIGIT | UPPER | LOWER | {0x5F}
SPACE = frozenset(b" \t\n\x0b\x0c\r")
# (ASCII members, matches non-ASCII too). \p{..} are approximations: exact on ASCII, and they
# accept every non-ASCII character (a superset of the Unicode category).
CLASS_ESCAPES = {
    "d": (DIGIT, False), "D": (ALL - DIGIT, True),
    "w": (WORD, False), "W": (ALL - WORD, True),
    "s": (SPACE, False), "S": (ALL - SPACE, True),
}
UNICODE_PROPS = {"L": UPPER | LOWER, "N": DIGIT, "Z": frozenset(b" ")}
LITERAL_ESCAPES = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7, "e": 27}


class Parser:
    def __init__(self, src):
        self.s, self.i = src, 0

    def peek(self, k=0):
        return self.s[self.i + k] if self.i + k < len(self.s) else None

    def take(self):
        c = self.peek()
        if c is None:
            raise Unsupported("unexpected end")
        self.i += 1
        return c

    def parse(self):
        node = self.alt()
        if self.i != len(self.s):
            raise Unsupported(f"unbalanced ')' at {self.i}")
        return node

    def alt(self):
        seqs = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            seqs.append(self.seq())
        return ("alt", seqs)

    def seq(self):
        items = []
        while self.peek() not in (None, "|", ")"):
            atom = self.atom()
            items.append(self.quantified(atom))
        return ("seq", items)

    def quantified(self, atom):
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{":
            m = re.match(r"\{(\d+)(,(\d*))?\}", self.s[self.i:])
            if not m:
                raise Unsupported("bad {")
            self.i += m.end()
            lo = int(m.group(1))
            hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
            if hi is not None and hi < lo:
                raise Unsupported("bad {m,n}")
        else:
            return atom
        if self.peek() in ("?", "+"):
            raise Unsupported("lazy or possessive quantifier")
        if self.peek() in ("*", "{"):
            raise Unsupported("stacked quantifier")
        if atom[0] in ("bol", "eol"):
            raise Unsupported("quantified anchor")
        return ("rep", atom, lo, hi)

    def atom(self):
        c = self.take()
        if c == "(":
            if self.peek() == "?":
                if self.s[self.i:self.i + 2] != "?:":
                    raise Unsupported("(? construct")
                self.i += 2
            inner = self.alt()
            if self.take() != ")":
                raise Unsupported("unclosed group")
            return ("group", inner)
        if c in ("*", "+", "?", "{"):
            raise Unsupported(f"dangling {c}")
        if c == "^":
            return ("bol",)
        if c == "$":
            return ("eol",)
        if c == ".":
            return ("class", ALL - {10, 13}, True)
        if c == "[":
            return self.klass()
        if c == "\\":
            kind, val = self.escape()
            return ("class", val[0], val[1]) if kind == "class" else ("lit", val)
        if ord(c) >= 128:
            raise Unsupported("non-ASCII literal")
        return ("lit", ord(c))

    def escape(self):
        """After a backslash: ("class", (set, nonascii)) or ("lit", code)."""
        c = self.take()
        if c in CLASS_ESCAPES:
            return "class", CLASS_ESCAPES[c]
        if c == "p":
            m = re.match(r"\{(\w+)\}", self.s[self.i:])
            if not m or m.group(1) not in UNICODE_PROPS:
                raise Unsupported("unicode property")
            self.i += m.end()
            return "class", (UNICODE_PROPS[m.group(1)], True)
        if c in LITERAL_ESCAPES:
            return "lit", LITERAL_ESCAPES[c]
        if c == "x":
            m = re.match(r"[0-9a-fA-F]{2}", self.s[self.i:])
            if not m or int(m.group(0), 16) >= 128:
                raise Unsupported("\\x escape")
            self.i += 2
            return "lit", int(m.group(0), 16)
        if c.isalnum() or ord(c) >= 128:
            raise Unsupported(f"escape \\{c}")
        return "lit", ord(c)

    def klass(self):
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        if self.peek() == "]":
            raise Unsupported("']' first in class")
        members, nonascii = set(), False
        while True:
            c = self.take()
            if c == "]":
                break
            if c == "[" or (c == "&" and self.peek() == "&"):
                raise Unsupported("nested class or intersection")
            if c == "\\":
                kind, val = self.escape()
                if kind == "class":
                    members |= val[0]
                    nonascii |= val[1]
                    continue
                lo = val
            else:
                if ord(c) >= 128:
                    raise Unsupported("non-ASCII literal")
                if c == "-" and self.peek() == "-":
                    raise Unsupported("range starting with '-'")
                lo = ord(c)
            # Java: a literal followed by '-' and anything but ']' (or '[') is a range.
            if self.peek() == "-" and self.peek(1) not in ("]", "[", None):
                self.i += 1
                e = self.take()
                if e == "\\":
                    kind, hi = self.escape()
                    if kind != "lit":
                        raise Unsupported("class as range end")
                else:
                    hi = ord(e)
                if hi < lo or hi >= 128:
                    raise Unsupported("bad range")
                members |= set(range(lo, hi + 1))
            else:
                members.add(lo)
        if negate:
            if nonascii:
                raise Unsupported("negated class with non-ASCII members")
            return ("class", ALL - members, True)
        return ("class", frozenset(members), nonascii)


def check_counting(node):
    """Byte-wise matching counts bytes: a class that can match a (multi-byte) non-ASCII
    character must be unbounded (* or +)."""
    kind = node[0]
    if kind == "class" and node[2]:
        raise Unsupported("non-ASCII class with a bounded count")
    if kind == "rep":
        if node[1][0] == "class" and node[1][2]:
            if (node[2], node[3]) not in ((0, None), (1, None)):
                raise Unsupported("non-ASCII class with a bounded count")
            return
        check_counting(node[1])
    elif kind == "group":
        check_counting(node[1])
    elif kind in ("alt", "seq"):
        for n in node[1]:
            check_counting(n)


def relax_whole_count(ast, smin, smax):
    """Pattern X{m,n} (one non-ASCII-capable class, nothing else) where the shape's own length
    bounds imply m <= len <= n: the count is redundant, so X* is exact."""
    seqs = ast[1]
    if len(seqs) != 1 or len(seqs[0][1]) != 1:
        return ast
    node = seqs[0][1][0]
    if node[0] != "rep" or node[1][0] != "class" or not node[1][2]:
        return ast
    lo, hi = node[2], node[3]
    if (smin if smin is not None else 0) >= lo and (hi is None or (smax is not None and smax <= hi)):
        return ("alt", [("seq", [("rep", node[1], 0, None)])])
    return ast


# --------------------------------------------------------------------------------------------
# AST -> POSIX ERE

ERE_SPECIAL = set(".[\\()*+?{|^$")


def ere_lit(code):
    ch = chr(code)
    return "\\" + ch if ch in ERE_SPECIAL else ch


def ere_bracket(codes, negate):
    codes = set(codes)
    out = []
    if 0x5D in codes:  # ']' must come first
        out.append("]")
    for lo, hi in ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)):  # runs of 3+ as ranges (C locale)
        c = lo
        while c <= hi:
            end = c
            while end + 1 <= hi and end + 1 in codes and c in codes:
                end += 1
            if c in codes and end - c >= 2:
                out.append(f"{chr(c)}-{chr(end)}")
                codes -= set(range(c, end + 1))
            c = end + 1
    rest = sorted(codes - {0x5D, 0x2D, 0x5B, 0x5E})
    out.extend(chr(c) for c in rest)
    if 0x5E in codes:  # '^' anywhere but first
        out.append("^")
    if 0x5B in codes:  # '[' only where the next char cannot form [. [: [=
        out.append("[")
    if 0x2D in codes:  # '-' last
        out.append("-")
    body = "".join(out)
    if not negate and body.startswith("^"):
        # only '^', '[' and '-' are left: a leading '^' would negate, so reorder
        body = {"^[": "[^", "^-": "-^", "^[-": "-[^"}[body]
    return "[" + ("^" if negate else "") + body + "]"


def ere_class(codes, nonascii):
    if nonascii:
        rest = ALL - codes
        return ere_bracket(rest, True) if rest else "."
    if not codes:
        raise Unsupported("empty class")
    if len(codes) == 1:
        return ere_lit(next(iter(codes)))
    return ere_bracket(codes, False)


def ere(node):
    kind = node[0]
    if kind == "lit":
        return ere_lit(node[1])
    if kind == "class":
        return ere_class(node[1], node[2])
    if kind == "bol":
        return "^"
    if kind == "eol":
        return "$"
    if kind == "group":
        return "(" + ere(node[1]) + ")"
    if kind == "seq":
        if not node[1]:
            raise Unsupported("empty alternative")
        return "".join(ere(n) for n in node[1])
    if kind == "alt":
        return "|".join(ere(s) for s in node[1])
    if kind == "rep":
        inner, lo, hi = node[1], node[2], node[3]
        atom = ere(inner)
        if inner[0] not in ("lit", "class", "group"):
            atom = "(" + atom + ")"
        if (lo, hi) == (0, None):
            q = "*"
        elif (lo, hi) == (1, None):
            q = "+"
        elif (lo, hi) == (0, 1):
            q = "?"
        elif hi is None:
            q = "{%d,}" % lo
        elif lo == hi:
            q = "{%d}" % lo
        else:
            q = "{%d,%d}" % (lo, hi)
        return atom + q
    raise AssertionError(kind)


# --------------------------------------------------------------------------------------------
# Self-check: libc regexec (C locale) against Python's re on the original pattern.

SAMPLE_ALPHABET = [chr(c) for c in range(32, 127)] + ["\t", "\n"]


class LibcRegex:
    REG_EXTENDED, REG_NOSUB = 1, 8

    def __init__(self):
        path = ctypes.util.find_library("c")
        if not path:
            sys.exit("gen_shapes: cannot find libc for the pattern self-check")
        self.libc = ctypes.CDLL(path)
        locale.setlocale(locale.LC_ALL, "C")

    def matcher(self, pattern):
        buf = ctypes.create_string_buffer(1024)
        if self.libc.regcomp(buf, pattern.encode(), self.REG_EXTENDED | self.REG_NOSUB) != 0:
            return None
        self._keep = getattr(self, "_keep", []) + [buf]
        return lambda s: self.libc.regexec(buf, s.encode(), 0, None, 0) == 0


def python_reference(src):
    ref = src.replace("\\p{L}", "a-zA-Z").replace("\\p{N}", "0-9").replace("\\p{Z}", " ")
    ref = re.sub(r"(\\[wdsWDS])-", r"\1\\-", ref)  # Java reads [\w-_] as \w, '-', '_'
    return re.compile(ref, re.ASCII)


def sample(node, rnd):
    kind = node[0]
    if kind == "lit":
        return chr(node[1])
    if kind == "class":
        pool = [chr(c) for c in sorted(node[1]) if chr(c) in SAMPLE_ALPHABET]
        return rnd.choice(pool) if pool else ""
    if kind in ("bol", "eol"):
        return ""
    if kind == "group":
        return sample(node[1], rnd)
    if kind == "seq":
        return "".join(sample(n, rnd) for n in node[1])
    if kind == "alt":
        return sample(rnd.choice(node[1]), rnd)
    if kind == "rep":
        lo, hi = node[2], node[3]
        n = rnd.randint(lo, min(hi if hi is not None else lo + 4, lo + 4))
        return "".join(sample(node[1], rnd) for _ in range(n))
    raise AssertionError(kind)


def mutate(s, rnd):
    for _ in range(rnd.randint(1, 3)):
        op, pos = rnd.randrange(4), rnd.randint(0, len(s))
        ch = rnd.choice(SAMPLE_ALPHABET)
        if op == 0:
            s = s[:pos] + ch + s[pos:]
        elif op == 1 and s:
            s = s[:pos] + s[pos + 1:]
        elif op == 2 and s:
            s = s[:pos] + ch + s[pos + 1:]
        else:
            s = s[:pos] + s[pos:pos + 3] + s[pos:]
    return s


def self_check(libc, src, ast, ere_text, smin, smax):
    """None if libc's reading of ere_text agrees with Java's reading of src on every sample
    whose length the shape allows (the validator checks length as well), else a reason."""
    match = libc.matcher(ere_text)
    if match is None:
        return "regcomp rejects the translation"
    try:
        ref = python_reference(src)
    except re.error as e:
        return f"no reference: {e}"
    rnd = random.Random(src)
    positives = [sample(ast, rnd) for _ in range(300)]
    cases = positives + [mutate(rnd.choice(positives), rnd) for _ in range(1500)]
    cases += ["".join(rnd.choice(SAMPLE_ALPHABET) for _ in range(rnd.randint(0, 12)))
              for _ in range(500)]
    for s in positives:
        if not ref.fullmatch(s):
            return f"parser disagrees with re on {s!r}"
    lo, hi = smin or 0, smax if smax is not None else float("inf")
    for s in cases:
        if lo <= len(s) <= hi and bool(ref.fullmatch(s)) != match(s):
            return f"libc and re disagree on {s!r}"
    return None


def translate(libc, src, smin, smax):
    """(ere, None) or (None, reason why the pattern is skipped)."""
    try:
        ast = Parser(src).parse()
        enforced = relax_whole_count(ast, smin, smax)
        check_counting(enforced)
        text = "^(" + ere(enforced) + ")$"
    except Unsupported as e:
        return None, str(e)
    reason = self_check(libc, src, ast, text, smin, smax)
    return (None, reason) if reason else (text, None)


# --------------------------------------------------------------------------------------------
# Model -> C


def load_model(data_dir, service):
    sdir = os.path.join(data_dir, service)
    for version in sorted(os.listdir(sdir), reverse=True):
        for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
            path = os.path.join(sdir, version, name)
            if os.path.exists(path):
                with opener(path, "rt", encoding="utf-8") as f:
                    return version, json.load(f)
    sys.exit(f"gen_shapes: no service-2.json for {service} under {sdir}")


def reachable_input_shapes(model):
    shapes, seen = model["shapes"], set()
    stack = [op["input"]["shape"] for op in model["operations"].values() if "input" in op]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        s = shapes[name]
        stack.extend(m["shape"] for m in s.get("members", {}).values())
        stack.extend(s[k]["shape"] for k in ("member", "key", "value") if k in s)
    return sorted(seen)


def c_str(s):
    out = []
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 32 <= b < 127 and not (ch == "?" and out and out[-1] == "?"):  # no trigraphs
            out.append(ch)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def c_num(x):
    return repr(float(x)) if float(x) != int(x) else "%d" % int(x)


def comment_safe(text):
    """Patterns go into a C comment: keep them from closing or nesting it."""
    return text.replace("*/", "*\\/").replace("/*", "/\\*")


def ident(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        sys.exit(f"gen_shapes: shape name {name!r} is not a C identifier")
    return name


def generate(service, version, model, botocore_version, libc):
    shapes, names = model["shapes"], reachable_input_shapes(model)
    translated, skipped, approx, relaxed = 0, [], set(), []
    body, tables = [], []

    for name in names:
        s = shapes[name]
        if "enum" in s:
            vals = ", ".join(c_str(v) for v in s["enum"])
            tables.append(f"static const char *const enum_{ident(name)}[] = {{{vals}}};")
        if s["type"] == "structure" and s.get("members") and not s.get("document"):
            req = set(s.get("required", []))
            rows = "\n".join(f"    {{{c_str(m)}, S_{ident(ms['shape'])}, {'true' if m in req else 'false'}}},"
                             for m, ms in s["members"].items())
            tables.append(f"static const struct shape_member members_{ident(name)}[] = {{\n{rows}\n}};")

    for name in names:
        s = shapes[name]
        f = [f".name = {c_str(name)}",
             ".type = " + ("SHAPE_DOCUMENT" if s.get("document") else TYPES[s["type"]])]
        if "min" in s:
            f.append(f".has_min = true, .min = {c_num(s['min'])}")
        if "max" in s:
            f.append(f".has_max = true, .max = {c_num(s['max'])}")
        if "pattern" in s:
            text, reason = translate(libc, s["pattern"], s.get("min"), s.get("max"))
            if text:
                translated += 1
                if "\\p{" in s["pattern"]:
                    approx.add(s["pattern"])
                if Parser(s["pattern"]).parse() != relax_whole_count(
                        Parser(s["pattern"]).parse(), s.get("min"), s.get("max")):
                    relaxed.append((name, s["pattern"]))
                f.append(f".pattern = {c_str(text)}")
            else:
                skipped.append((name, s["pattern"], reason))
            f.append(f".pattern_src = {c_str(s['pattern'])}")
        if "enum" in s:
            f.append(f".enums = enum_{name}, .nenums = {len(s['enum'])}")
        if s["type"] == "structure" and s.get("members") and not s.get("document"):
            f.append(f".members = members_{name}, .nmembers = {len(s['members'])}")
        if "member" in s:
            f.append(f".member = S_{ident(s['member']['shape'])}")
        if "key" in s:
            f.append(f".key = S_{ident(s['key']['shape'])}, .value = S_{ident(s['value']['shape'])}")
        if s.get("sensitive"):
            f.append(".sensitive = true")
        if s.get("union"):
            f.append(".is_union = true")
        body.append(f"    [S_{name}] = {{{', '.join(f)}}},")

    ops = sorted(model["operations"].items(), key=lambda kv: kv[0].encode())
    op_rows = "\n".join(
        f"    {{{c_str(n)}, {('S_' + ident(o['input']['shape'])) if 'input' in o else '-1'}}},"
        for n, o in ops)

    skipped_lines = "".join(f"\n *   {n}: {p}\n *     ({r})" for n, p, r in skipped) or " none"
    notes = [" * Translation: anchored like Java's matches(), exact on ASCII, evaluated byte-wise in"
             " the C locale."]
    notes += [f" * Approximated: {p} accepts any non-ASCII character for \\p{{..}}."
              for p in sorted(approx)]
    notes += [f" * Relaxed: {n}: {p} matched as unbounded; the shape's length check holds the count."
              for n, p in relaxed]
    banner_notes = [comment_safe(line) for line in notes]
    skipped_lines = comment_safe(skipped_lines)
    out = [
        f"/* generated by tools/gen_shapes.py from botocore {botocore_version} — do not edit",
        f" * Service {service}, API version {version}: {len(ops)} operations, {len(names)} shapes"
        " reachable from their inputs.",
        f" * Patterns: {translated} translated to POSIX ERE, {len(skipped)} skipped"
        " (not enforced):" + skipped_lines,
        *banner_notes,
        " */",
        '#include "aws/shape.h"',
        "",
        "enum {",
        *[f"    S_{n}," for n in names],
        "};",
        "",
        *tables,
        "",
        "static const struct shape shapes[] = {",
        *body,
        "};",
        "",
        "static const struct shape_op ops[] = {",
        op_rows,
        "};",
        "",
        f"const struct shape_model shape_model_{service} = {{",
        f"    .service = {c_str(service)},",
        "    .shapes = shapes,",
        "    .nshapes = sizeof(shapes) / sizeof(shapes[0]),",
        "    .ops = ops,",
        "    .nops = sizeof(ops) / sizeof(ops[0]),",
        "};",
        "",
    ]
    if len(names) > 65535:
        sys.exit("gen_shapes: too many shapes for unsigned short indices")
    return "\n".join(out), translated, skipped


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", help="botocore's data directory (default: the installed one)")
    ap.add_argument("--out-dir", default=os.path.join(root, "src", "aws", "gen"))
    ap.add_argument("services", nargs="*", default=list(SERVICES))
    args = ap.parse_args()

    import botocore  # generation-time input only; the output does not need it
    data_dir = args.data_dir or os.path.join(os.path.dirname(botocore.__file__), "data")
    libc = LibcRegex()
    os.makedirs(args.out_dir, exist_ok=True)
    for service in args.services:
        version, model = load_model(data_dir, service)
        text, translated, skipped = generate(service, version, model, botocore.__version__, libc)
        path = os.path.join(args.out_dir, f"shapes_{service}.c")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        print(f"{path}: {len(text)} bytes, {translated} patterns translated, {len(skipped)} skipped")
        for name, pattern, reason in skipped:
            print(f"  skipped {name}: {pattern} ({reason})")


if __name__ == "__main__":
    main()
