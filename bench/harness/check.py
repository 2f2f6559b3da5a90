"""Before timing: does every server return the same rows for each workload?

Answers are compared as multisets of normalised rows (SPARQL JSON) or as sets of
normalised triples (N-Triples): blank node labels are dropped (each server names its
own), ``xsd:string`` is the plain literal's datatype, and order is ignored (the canned
queries' ORDER BY leaves ties whose order the engines choose freely).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .loadgen import Request

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
#: Above this many lines an N-Triples answer is compared by its count of triples only.
FULL_COMPARE_LINES = 300_000


@dataclass
class Answer:
    count: int
    rows: Counter[Any] | None  # None: compared by count only
    error: str = ""


def fetch(port: int, request: Request, timeout: float = 600.0) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{request.path}",
                                 headers={"Accept": request.accept}, method=request.method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _term(binding: dict[str, str] | None) -> tuple[str, ...] | None:
    if binding is None:
        return None
    kind = "literal" if binding["type"] == "typed-literal" else binding["type"]
    if kind == "bnode":
        return ("bnode",)
    datatype = binding.get("datatype")
    if datatype in (XSD_STRING, LANG_STRING):
        datatype = None
    return (kind, binding["value"], datatype or "", binding.get("xml:lang", "").lower())


def parse_solutions(body: bytes) -> Answer:
    data = json.loads(body)
    if "boolean" in data:
        return Answer(1, Counter([("boolean", data["boolean"])]))
    names = data["head"]["vars"]
    rows: Counter[Any] = Counter(
        tuple(_term(row.get(name)) for name in names) for row in data["results"]["bindings"]
    )
    return Answer(sum(rows.values()), rows)


def parse_triples(body: bytes) -> Answer:
    from rdflib import BNode, Graph, Literal

    lines = sum(1 for line in body.splitlines() if line.strip() and not line.startswith(b"#"))
    if lines > FULL_COMPARE_LINES:
        return Answer(lines, None)

    def norm(term: Any) -> tuple[str, ...]:
        if isinstance(term, BNode):
            return ("bnode",)
        if isinstance(term, Literal):
            datatype = str(term.datatype) if term.datatype else ""
            return ("literal", str(term), "" if datatype == XSD_STRING else datatype,
                    (term.language or "").lower())
        return ("iri", str(term))

    graph = Graph()
    graph.parse(data=body.decode("utf-8"), format="nt")
    rows: Counter[Any] = Counter((norm(s), norm(p), norm(o)) for s, p, o in graph)
    return Answer(len(graph), rows)


def answer(port: int, request: Request, graph: bool) -> Answer:
    try:
        status, body = fetch(port, request)
    except OSError as exc:
        return Answer(0, None, f"no answer: {exc}")
    if status != 200:
        return Answer(0, None, f"HTTP {status}: {body[:200]!r}")
    try:
        return parse_triples(body) if graph else parse_solutions(body)
    except Exception as exc:  # any unreadable answer is a failed check, not a crash
        return Answer(0, None, f"unreadable answer: {type(exc).__name__}: {exc}")


def same(reference: Answer, other: Answer) -> bool:
    if reference.error or other.error or reference.count != other.count:
        return False
    if reference.rows is None or other.rows is None:
        return True  # large exports: compared by count
    if reference.rows == other.rows:
        return True
    # Blank nodes cannot be told apart, so a set of triples with several blank nodes may
    # collapse differently per server; fall back to comparing the triples without them.
    strip = {k: v for k, v in reference.rows.items() if ("bnode",) not in k}
    return strip == {k: v for k, v in other.rows.items() if ("bnode",) not in k}


def difference(reference: Answer, other: Answer, limit: int = 3) -> str:
    if other.error:
        return other.error
    if reference.rows is None or other.rows is None:
        return f"{other.count} vs {reference.count} triples"
    missing = list((reference.rows - other.rows).elements())[:limit]
    extra = list((other.rows - reference.rows).elements())[:limit]
    return f"{other.count} vs {reference.count} rows; missing {missing}; extra {extra}"
