"""Which queries provably finish quickly: a worst-case bound on a query's work.

Every query runs in a worker process that can be killed at its deadline
(:mod:`eusdp.executor`), because Oxigraph cannot interrupt a running query. The
hop to the worker and back costs about as much as evaluating a small query (on the
2-core bench machine, ~40 µs of the server's CPU and as much of the worker's, for
queries the engine answers in 40-70 µs). A query that provably ends long before
its deadline has no use for the kill, so it may run in the server process and skip
the hop. This module tells which ones do.

Like Virtuoso's cost estimate, which refuses a query estimated to run too long
before running it, the judgement is made before evaluation from the graph's
statistics. Unlike an estimate, it is an upper bound: a query let through with a
real cost above its bound is a bug here, not a miss.

What is judged: a SELECT or ASK whose WHERE clause holds triple patterns (plain
IRIs, prefixed names or ``a`` as predicates), FILTER, OPTIONAL, BIND and nested
groups, with GROUP BY, HAVING, ORDER BY, LIMIT and OFFSET. Anything else (property
paths, UNION, MINUS, VALUES, sub-queries, EXISTS, GRAPH, SERVICE, FROM, blank node
property lists, collections, CONSTRUCT, DESCRIBE, a regular expression whose
pattern is not a literal, ...) is not judged and goes to a worker, as every query
did before. So does a text that this reader does not take apart exactly.

The bound, from :class:`GraphStats` (per predicate: its quads, and the most quads
one subject or one object has with it):

* the rows of a join of triple patterns, in any order, are at most the product,
  pattern by pattern, of how many matches the pattern can have given the
  variables bound before it: all its quads if none is, the most one subject (or
  object) has if its subject (object) is bound, and so on. Any order gives a true
  bound; the smallest pattern first gives a close one;
* Oxigraph's plan evaluates joins of subsets of the patterns, in an order of its
  own (nested loops, hash joins, left joins for OPTIONAL), so every intermediate
  result is bounded by the largest bound over all subsets, ``M``; each OPTIONAL
  at most doubles the rows (a row extended, or not);
* the work is then at most ``2^optionals x M x (patterns + per-row expression
  cost) x log2(M)`` (the logarithm for sorting and grouping), in *units* of about
  a row touched.

A static regular expression is compiled once per query, a pattern read from a
variable once per row (5,000 rows and a 1,000-way alternation: 2.8 ms against
4.8 s), hence the rule on REGEX and REPLACE.

The verdict is kept per *shape* of a text: the text with every digit made a 0,
so that a client's template filled with new numbers (identifiers, dates, limits)
costs a byte translation and a dictionary lookup, not a parse (as SQL Server's
simple parameterisation and prepared statements reuse a plan). It is sound
because the judgement reads the shape itself, and reads whatever a digit could
have changed as unknown: a name or IRI with a 0 is an unknown predicate or class
(bounded by the whole graph), and each use of a variable with a 0 is a variable
of its own (two variables a digit apart may be one or two: read apart, a join is
dropped and the bound can only grow). Numbers are numbers whatever their digits.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

#: Above this many quads the statistics are not gathered and no query is judged cheap:
#: gathering them takes ~2.3 µs a quad (0.37 s at 158,029), and on such a graph few are.
STATS_LIMIT = 300_000
#: Texts longer than this are not judged (nor parsed): reading one costs time, and a long
#: query is rarely a cheap one.
MAX_TEXT = 4_000
#: Most triple patterns judged: the bound takes every subset of them.
MAX_PATTERNS = 8
#: Deepest nesting of parentheses or groups judged: a text nested deeper goes to a worker,
#: where a stack overflow in the engine's recursive parser costs a worker, not the server.
MAX_DEPTH = 16
#: Shapes remembered per graph.
MAX_SHAPES = 4_096


@dataclass(frozen=True)
class GraphStats:
    """What the bound needs to know of a graph, counted over its quads (a triple that
    two graphs hold counts twice, as the union default graph returns it twice)."""

    quads: int
    count: dict[str, int] = field(default_factory=dict)  # predicate -> quads
    out: dict[str, int] = field(default_factory=dict)  # predicate -> most of one subject
    into: dict[str, int] = field(default_factory=dict)  # predicate -> most of one object
    classes: dict[str, int] = field(default_factory=dict)  # class -> rdf:type quads
    out_any: int = 0  # most quads of one subject
    into_any: int = 0  # most quads of one object
    longest: int = 0  # longest literal, in characters

    @classmethod
    def of(cls, quads: Iterable[ox.Quad]) -> GraphStats:
        count: Counter[str] = Counter()
        pairs_out: Counter[tuple[object, str]] = Counter()
        pairs_in: Counter[tuple[object, str]] = Counter()
        subjects: Counter[object] = Counter()
        objects: Counter[object] = Counter()
        classes: Counter[str] = Counter()
        longest = total = 0
        for quad in quads:
            s, p, o = quad.subject, quad.predicate.value, quad.object
            total += 1
            count[p] += 1
            pairs_out[s, p] += 1
            pairs_in[o, p] += 1
            subjects[s] += 1
            objects[o] += 1
            if isinstance(o, ox.Literal):
                longest = max(longest, len(o.value))
            elif p == RDF_TYPE and isinstance(o, ox.NamedNode):
                classes[o.value] += 1
        out: dict[str, int] = {}
        into: dict[str, int] = {}
        for (_, p), n in pairs_out.items():
            out[p] = max(out.get(p, 0), n)
        for (_, p), n in pairs_in.items():
            into[p] = max(into.get(p, 0), n)
        return cls(
            quads=total,
            count=dict(count),
            out=out,
            into=into,
            classes=dict(classes),
            out_any=max(subjects.values(), default=0),
            into_any=max(objects.values(), default=0),
            longest=longest,
        )


# --- the text, token by token -------------------------------------------------------------

_STRING = (
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*'"
)
_IRI = r"<[^<>\"{}|^`\\\x00-\x20]*>"
_NUMBER = r"\d+\.\d*[eE][+-]?\d+|\.?\d+[eE][+-]?\d+|\d*\.\d+|\d+"
_TOKEN = re.compile(
    rf"""(?P<skip>\s+|\#[^\n]*)
    |(?P<str>{_STRING})
    |(?P<iri>{_IRI})
    |(?P<var>[?$]\w+)
    |(?P<bnode>_:\w(?:[\w.-]*\w)?)
    |(?P<pname>(?:[^\W\d_](?:[\w.-]*\w)?)?:(?:(?:[\w:%]|\\[^\s])(?:[\w.:%-]|\\[^\s])*(?<!\.))?)
    |(?P<num>{_NUMBER})
    |(?P<word>[^\W\d]\w*)
    |(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    |(?P<op>\^\^|&&|\|\||!=|<=|>=|[{{}}()\[\].,;*+\-/!=<>^|])""",
    re.VERBOSE | re.DOTALL | re.ASCII,
)

_DIGITS = bytes.maketrans(b"123456789", b"000000000")


_PROLOGUE = re.compile(
    r"""(?:\s+|\#[^\n]*|PREFIX\s+(?:[^\W\d_][\w.-]*)?:\s*<[^<>"{}|^`\\\x00-\x20]*>"""
    r"""|BASE\s*<[^<>"{}|^`\\\x00-\x20]*>)*""",
    re.IGNORECASE,
)


def _prologue_end(text: str) -> int:
    return _PROLOGUE.match(text).end()  # type: ignore[union-attr]


def shape(text: str) -> bytes:
    """The text (UTF-8) with every ASCII digit after its prologue made a 0: texts of one
    shape differ only in those digits, which the bound reads as unknown (see
    :class:`_Reader`). The prologue's namespace IRIs keep theirs (``w3.org/2000/01``).

    The same prologue is found again in the shape (a digit never decides where it ends).
    Two C calls and a match: 1 µs for 400 characters, where a regular expression that
    replaced only numbers, strings and IRIs took 7-12 µs."""
    end = _prologue_end(text)
    if text.isascii():  # one encoding, the offsets the same in bytes (isascii: O(1))
        data = text.encode("ascii")
        return data[:end] + data[end:].translate(_DIGITS)
    return text[:end].encode("utf-8", "surrogatepass") + text[end:].encode(
        "utf-8", "surrogatepass"
    ).translate(_DIGITS)


class _NotJudged(Exception):
    """The text is outside what this module bounds (it goes to a worker)."""


_Term = tuple[str, str | None]  # ("v", variable) or ("c", IRI or None when unknown)
_Pattern = tuple[_Term, _Term, _Term]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_BUILTIN_STATIC = {"REGEX": (1, 2), "REPLACE": (1, 3)}  # arguments that must be literals


@dataclass
class _Query:
    patterns: list[_Pattern] = field(default_factory=list)
    optionals: int = 0
    expression_tokens: int = 0
    form: str = "select"


class _Reader:
    """A recursive-descent reader of the judged part of SPARQL 1.1."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.exact = _prologue_end(text)  # before it, digits are the text's own
        starts: list[int] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() != pos:
                raise _NotJudged("unreadable text")
            pos = match.end()
            kind = match.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, match.group()))
                starts.append(match.start())
        if pos != len(text):
            raise _NotJudged("unreadable text")
        self.tokens.append(("end", ""))
        starts.append(pos)
        self.starts = starts
        self.at = 0
        self.prefixes: dict[str, str | None] = {}
        self.query = _Query()
        self.depth = 0

    # -- tokens
    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.upper() in words:
            self.at += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> str:
        got_kind, got = self.take()
        if got_kind != kind or (text is not None and got.upper() != text):
            raise _NotJudged(f"expected {text or kind}")
        return got

    def op(self, symbol: str) -> bool:
        if self.peek() == ("op", symbol):
            self.at += 1
            return True
        return False

    # -- the query
    def read(self) -> _Query:
        while True:
            if self.keyword("PREFIX"):
                name = self.expect("pname")
                if not name.endswith(":") or name.count(":") != 1:
                    raise _NotJudged("bad prefix")
                iri = self.expect("iri")[1:-1]
                exact = self.starts[self.at - 1] < self.exact or "0" not in iri
                self.prefixes[name[:-1]] = iri if exact and _SCHEME.match(iri) else None
            elif self.keyword("BASE"):
                self.expect("iri")  # relative IRIs are read as unknown anyway
            else:
                break
        if self.keyword("SELECT"):
            self.keyword("DISTINCT", "REDUCED")
            if not self.op("*"):
                while True:
                    if self.peek()[0] == "var":
                        self.take()
                    elif self.op("("):
                        self.expression(until_as=True)
                    else:
                        break
        elif self.keyword("ASK"):
            self.query.form = "ask"
        else:
            raise _NotJudged("neither SELECT nor ASK")
        self.keyword("WHERE")
        self.group()
        self.modifiers()
        if self.peek()[0] != "end":
            raise _NotJudged("more after the query")
        return self.query

    def modifiers(self) -> None:
        if self.keyword("GROUP"):
            self.expect("word", "BY")
            while self.condition(allow_var=True, allow_as=True):
                pass
        if self.keyword("HAVING"):
            while self.condition():
                pass
        if self.keyword("ORDER"):
            self.expect("word", "BY")
            while True:
                if self.keyword("ASC", "DESC"):
                    self.expect("op", "(")
                    self.expression()
                elif not self.condition(allow_var=True):
                    break
        for _ in range(2):
            if self.keyword("LIMIT", "OFFSET"):
                self.expect("num")

    def condition(self, *, allow_var: bool = False, allow_as: bool = False) -> bool:
        """One of GROUP BY / HAVING / ORDER BY's items, if one comes next."""
        kind, _ = self.peek()
        if allow_var and kind == "var":
            self.take()
            self.query.expression_tokens += 1  # a sort or group key: compared per row
            return True
        if self.op("("):
            self.expression(until_as=allow_as)
            return True
        if kind in ("word", "pname", "iri") and self.peek(1) == ("op", "("):
            self.call()
            return True
        return False

    def call(self) -> None:
        """A function call: its name, then its arguments."""
        name = self.take()[1].upper()
        self.expect("op", "(")
        self.expression(static=_BUILTIN_STATIC.get(name, ()))

    def expression(self, *, until_as: bool = False, static: Sequence[int] = ()) -> None:
        """Tokens up to the ``)`` closing the one just read (``AS ?v )`` with ``until_as``).

        Expressions are not taken apart: their cost per row is bounded by their length.
        A brace (EXISTS, NOT EXISTS) is not judged. ``static``: the arguments (0-based)
        that must each be one string literal."""
        depth, start = 1, self.at
        self._deeper()  # the "(" just read
        while True:
            kind, text = self.take()
            self.query.expression_tokens += 1
            if kind == "end" or (kind == "op" and text in "{}"):
                raise _NotJudged("not an expression")
            if kind == "op" and text == "(":
                depth += 1
                self._deeper()
            elif kind == "op" and text == ")":
                depth -= 1
                self.depth -= 1
                if depth == 0:
                    self._check_static(start, static)
                    return
            elif kind == "word" and self.peek() == ("op", "("):
                if text.upper() in _BUILTIN_STATIC:  # its own arguments, checked
                    self.at += 1
                    self.expression(static=_BUILTIN_STATIC[text.upper()])
            elif until_as and depth == 1 and kind == "word" and text.upper() == "AS":
                self.expect("var")
                self.expect("op", ")")
                self.depth -= 1
                return

    def _deeper(self) -> None:
        """One more level of groups and parentheses, together (a call's arguments
        included): a text nested deeper goes to a worker."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _NotJudged("nested too deep")

    def _check_static(self, start: int, static: Sequence[int]) -> None:
        if not static:
            return
        arguments: list[list[str]] = [[]]
        depth = 0
        for kind, text in self.tokens[start : self.at - 1]:
            if kind == "op" and text == "(":
                depth += 1
            elif kind == "op" and text == ")":
                depth -= 1
            if depth == 0 and (kind, text) == ("op", ","):
                arguments.append([])
            else:
                arguments[-1].append(kind)
        for index in static:
            if index < len(arguments) and arguments[index] != ["str"]:
                raise _NotJudged("a regular expression that is not a literal")

    # -- graph patterns
    def group(self) -> None:
        self.expect("op", "{")
        self._deeper()
        while not self.op("}"):
            kind, text = self.peek()
            if kind == "op" and text == "{":
                self.group()
                if self.keyword("UNION"):
                    raise _NotJudged("UNION")
            elif self.keyword("OPTIONAL"):
                self.query.optionals += 1
                self.group()
            elif self.keyword("FILTER"):
                if not self.condition():
                    raise _NotJudged("FILTER")
            elif self.keyword("BIND"):
                self.expect("op", "(")
                self.expression(until_as=True)
            elif self.op("."):
                pass
            elif kind in ("var", "iri", "pname", "bnode"):
                self.triples()
            else:
                raise _NotJudged(f"{text!r} in a group")
        self.depth -= 1

    def triples(self) -> None:
        subject = self.node()
        while True:
            verb = self.verb()
            while True:
                obj = self.object(verb)
                self.query.patterns.append((subject, verb, obj))
                if not self.op(","):
                    break
            if not self.op(";"):
                return
            while self.op(";"):
                pass
            kind, text = self.peek()
            if kind == "op" and text in ".}":
                return

    def variable(self, text: str) -> _Term:
        """A variable; one whose name has a digit (a 0 in a shape) may be one of several
        in the text, so each use of it is read as a variable of its own: a join less,
        a bound no smaller."""
        if "0" in text:
            return ("v", f"{text} #{self.at}")
        return ("v", text.lstrip("?$"))

    def node(self) -> _Term:
        kind, text = self.take()
        if kind in ("var", "bnode"):
            return self.variable(text)
        if kind in ("iri", "pname"):
            return ("c", None)
        raise _NotJudged("not a node")

    def verb(self) -> _Term:
        kind, text = self.take()
        if kind == "var":
            return self.variable(text)
        if kind == "word" and text == "a":
            return ("c", RDF_TYPE)
        if kind in ("iri", "pname"):
            return ("c", self.iri(kind, text))
        raise _NotJudged("not a plain predicate")

    def object(self, verb: _Term) -> _Term:
        kind, text = self.take()
        if kind in ("var", "bnode"):
            return self.variable(text)
        if kind in ("iri", "pname"):
            return ("c", self.iri(kind, text) if verb == ("c", RDF_TYPE) else None)
        if kind == "op" and text in "+-":
            kind, text = self.take()
        if kind == "num" or (kind == "word" and text in ("true", "false")):
            return ("c", None)
        if kind == "str":
            if self.peek()[0] == "lang":
                self.take()
            elif self.op("^^"):
                if self.take()[0] not in ("iri", "pname"):
                    raise _NotJudged("bad datatype")
            return ("c", None)
        raise _NotJudged("not an object")

    def iri(self, kind: str, text: str) -> str | None:
        """The IRI a name stands for, or None where it is not certain (then unknown): a
        relative IRI, an escape, or a digit (a 0 in a shape: any digit)."""
        if "0" in text:
            return None
        if kind == "iri":
            iri = text[1:-1]
            return iri if _SCHEME.match(iri) else None
        prefix, _, local = text.partition(":")
        base = self.prefixes.get(prefix)
        if base is None or "\\" in local or "%" in local:
            return None
        return base + local


@dataclass(frozen=True)
class Bound:
    """Upper bounds for one query: result rows, and work in units (~ a row touched).

    ``form`` is what the reader found the text to be, ``"select"`` or ``"ask"``: a
    judged text needs no other reading to be answered (see :mod:`eusdp.web.lane`)."""

    rows: int
    work: int
    form: str = "select"


def bound(text: str, stats: GraphStats) -> Bound | None:
    """The bound of a query text (or of a shape), or None if it is not judged."""
    try:
        query = _Reader(text).read()
    except (_NotJudged, IndexError, RecursionError):
        return None
    patterns = query.patterns
    if len(patterns) > MAX_PATTERNS:
        return None
    largest = max((_join(subset, stats) for subset in _subsets(patterns)), default=1)
    rows = (1 << query.optionals) * max(largest, 1)
    per_row = len(patterns) + 1 + query.expression_tokens * (1 + stats.longest // 64)
    per_row += len(text) // 16  # the literals written in the text
    work = rows * per_row * max(1, math.ceil(math.log2(rows + 1)))
    return Bound(rows, work, query.form)


def _subsets(patterns: list[_Pattern]) -> Iterable[list[_Pattern]]:
    n = len(patterns)
    for mask in range(1, 1 << n):
        yield [patterns[i] for i in range(n) if mask >> i & 1]


def _join(patterns: list[_Pattern], stats: GraphStats) -> int:
    """A bound on the rows of the join of ``patterns``: smallest extension first."""
    bound_vars: set[str | None] = set()
    left = list(patterns)
    total = 1
    while left:
        extensions = [_matches(p, bound_vars, stats) for p in left]
        best = min(range(len(left)), key=extensions.__getitem__)
        total *= extensions[best]
        if total == 0:
            return 0
        for kind, value in left.pop(best):
            if kind == "v":
                bound_vars.add(value)
    return total


def _matches(pattern: _Pattern, bound_vars: set[str | None], stats: GraphStats) -> int:
    """The most matches ``pattern`` can have for one binding of ``bound_vars``."""
    (sk, sv), (pk, pv), (ok, ov) = pattern
    subject = sk == "c" or sv in bound_vars
    obj = ok == "c" or ov in bound_vars
    if pk == "v" or pv is None:  # a variable or unknown predicate: any quad may match
        if subject and obj:
            return min(stats.out_any, stats.into_any)
        if subject:
            return stats.out_any
        if obj:
            return stats.into_any
        return stats.quads
    if subject and obj:
        return min(stats.out.get(pv, 0), stats.into.get(pv, 0))
    if subject:
        return stats.out.get(pv, 0)
    if obj:
        if pv == RDF_TYPE and ok == "c" and ov is not None:
            return stats.classes.get(ov, 0)
        return stats.into.get(pv, 0)
    return stats.count.get(pv, 0)


#: No verdict yet (``None`` is one: not cheap).
_UNSEEN = Bound(-1, -1, "")


class CostGate:
    """Tells whether a query text is provably cheap on one graph (see the module).

    Verdicts are kept per shape, at most :data:`MAX_SHAPES` (then forgotten at once).
    The last text judged is remembered with its verdict (by identity, as
    :func:`eusdp.federation.mentions` remembers its last text): the ``/sparql`` lane
    judges a text before it makes the job, and the service again before it runs it."""

    def __init__(self, stats: GraphStats | None, budget: int) -> None:
        self.stats = stats
        self.budget = budget
        self._verdicts: dict[bytes, Bound | None] = {}
        self._lock = threading.Lock()
        # One tuple, swapped whole: a thread that reads another's text judges its own.
        self._last: tuple[str, Bound | None] = ("", None)

    def judge(self, text: str) -> Bound | None:
        """The text's bound if it is cheap (its work within the budget), else None."""
        if self.stats is None or self.budget <= 0 or len(text) > MAX_TEXT:
            return None
        last = self._last
        if last[0] is text:
            return last[1]
        key = shape(text)
        verdict = self._verdicts.get(key, _UNSEEN)
        if verdict is _UNSEEN:
            found = bound(key.decode("utf-8", "surrogatepass"), self.stats)
            verdict = found if found is not None and found.work <= self.budget else None
            with self._lock:
                if len(self._verdicts) >= MAX_SHAPES:
                    self._verdicts.clear()
                self._verdicts[key] = verdict
        self._last = (text, verdict)
        return verdict

    def cheap(self, text: str) -> bool:
        return self.judge(text) is not None
