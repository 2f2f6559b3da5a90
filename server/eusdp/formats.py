"""The one media-type table: which formats an answer can take, and how to pick one.

Every surface that returns query results (the SPARQL endpoint, the canned
queries, the CLI's ``query`` and ``export``) goes through this module, so a
format is added, renamed or dropped in exactly one place. Nothing here knows
about Flask: :func:`negotiate` takes the raw ``Accept`` header and
:func:`serialize_result` returns bytes.

Serialisation is Oxigraph's throughout (it writes every format listed here,
JSON-LD included), so the bytes the endpoint sends and the bytes the CLI
writes are the same.

Row limit: an answer longer than ``max_rows`` (SELECT rows, or CONSTRUCT /
DESCRIBE triples) is cut to its first ``max_rows`` items and flagged with
``Serialized.truncated``; the web layer turns the flag into the response header
``X-Eusdp-Truncated: true`` (plus ``X-Eusdp-Max-Rows``). A header, not a change
to the document, because the W3C result formats have no place for such a note
and a client that ignores headers still gets a valid, if shorter, answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import IO, NamedTuple, TypeVar, cast

import pyoxigraph as ox

T = TypeVar("T")


#: Response header set on an answer cut at ``max_rows``.
TRUNCATED_HEADER = "X-Eusdp-Truncated"
#: Response header giving the limit that cut the answer.
MAX_ROWS_HEADER = "X-Eusdp-Max-Rows"


@dataclass(frozen=True)
class Format:
    """One serialisation: its ``format=`` short name, media type(s) and Oxigraph writer."""

    name: str
    media_type: str
    label: str
    #: Further media types a client may ask for to get this format (never sent back).
    aliases: tuple[str, ...] = ()
    results: ox.QueryResultsFormat | None = field(default=None, compare=False)
    rdf: ox.RdfFormat | None = field(default=None, compare=False)

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` to send: textual types say their charset, which is always UTF-8."""
        if self.media_type.startswith("text/"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type

    @property
    def iri(self) -> str | None:
        """The W3C format IRI (``http://www.w3.org/ns/formats/...``) for service descriptions."""
        if self.results is not None:
            return self.results.iri
        if self.rdf is not None:
            return self.rdf.iri
        return None

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)


QRF = ox.QueryResultsFormat
RF = ox.RdfFormat

JSON = Format(
    "json", "application/sparql-results+json", "SPARQL JSON", ("application/json",), QRF.JSON
)
XML = Format("xml", "application/sparql-results+xml", "SPARQL XML", (), QRF.XML)
CSV = Format("csv", "text/csv", "CSV", (), QRF.CSV)
TSV = Format("tsv", "text/tab-separated-values", "TSV", (), QRF.TSV)

TURTLE = Format("ttl", "text/turtle", "Turtle", ("application/x-turtle",), rdf=RF.TURTLE)
# application/json is also accepted for graphs: JSON-LD is the JSON a graph can be.
JSONLD = Format("jsonld", "application/ld+json", "JSON-LD", ("application/json",), rdf=RF.JSON_LD)
NTRIPLES = Format("nt", "application/n-triples", "N-Triples", ("text/plain",), rdf=RF.N_TRIPLES)
RDFXML = Format("rdf", "application/rdf+xml", "RDF/XML", (), rdf=RF.RDF_XML)
TRIG = Format("trig", "application/trig", "TriG", (), rdf=RF.TRIG)
NQUADS = Format("nq", "application/n-quads", "N-Quads", (), rdf=RF.N_QUADS)

#: Not a result format: the human face of a page (the endpoint's query form).
HTML = Format("html", "text/html", "HTML", ("application/xhtml+xml",))

#: SELECT answers, in order of preference (the first is the default).
RESULTS_FORMATS: tuple[Format, ...] = (JSON, XML, CSV, TSV)
#: ASK answers. CSV/TSV have no standard boolean form; Oxigraph writes ``true``/``false``.
BOOLEAN_FORMATS: tuple[Format, ...] = (JSON, XML, CSV, TSV)
#: CONSTRUCT / DESCRIBE answers and other graphs, Turtle first.
GRAPH_FORMATS: tuple[Format, ...] = (TURTLE, JSONLD, NTRIPLES, RDFXML, TRIG, NQUADS)
#: Every result format, for listings (``format=`` names, service descriptions).
ALL_FORMATS: tuple[Format, ...] = (*RESULTS_FORMATS, *GRAPH_FORMATS)


OxResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


def offered_for(result: OxResult) -> tuple[Format, ...]:
    """The formats an Oxigraph answer can be written in."""
    if isinstance(result, ox.QueryBoolean):
        return BOOLEAN_FORMATS
    if isinstance(result, ox.QueryTriples):
        return GRAPH_FORMATS
    return RESULTS_FORMATS


def find_format(name: str, offered: Sequence[Format] = ALL_FORMATS) -> Format | None:
    """Look a ``format=`` value up among ``offered``: a short name or any of its media types."""
    for fmt in offered:  # a short name as the server writes it: every answer looks one up
        if name == fmt.name:
            return fmt
    key = name.strip().lower()
    for fmt in offered:
        if key == fmt.name or key in fmt.media_types:
            return fmt
    return None


# --- content negotiation --------------------------------------------------------------


@dataclass(frozen=True)
class MediaRange:
    """One element of an ``Accept`` header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """-1 if this range does not match ``media_type``; else 0 (``*/*``), 1 (``t/*``), 2."""
        mtype, _, msub = media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else -1
        if self.type != mtype:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == msub else -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an ``Accept`` header leniently: an element that cannot be read is ignored."""
    ranges: list[MediaRange] = []
    for element in (header or "").split(","):
        media, *params = (part.strip() for part in element.split(";"))
        mtype, sep, msub = media.lower().partition("/")
        if not sep or not mtype or not msub or (mtype == "*" and msub != "*"):
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append(MediaRange(mtype, msub, q))
    return ranges


def negotiate(accept: str | None, offered: Sequence[Format]) -> Format | None:
    """Pick the format of ``offered`` the client prefers, or ``None`` if it accepts none.

    Remembered for the last few hundred (header, offer) pairs: a client sends the same
    ``Accept`` with every request, and reading it cost a tenth of a small query's time
    in the server (``bench/run --scale 1``).

    For each format the most specific matching range sets its quality (RFC 9110
    §12.5.1), so ``text/*;q=0, text/csv`` still accepts CSV. The highest quality
    wins; ties go to the more specific match, then to the server's order. No (or
    empty, or unreadable) ``Accept`` header means anything: the first offered format.
    """
    return _negotiate(accept, tuple(offered))


@lru_cache(maxsize=512)
def _negotiate(accept: str | None, offered: tuple[Format, ...]) -> Format | None:
    ranges = parse_accept(accept)
    if not ranges:  # absent, empty or unreadable: the client did not say
        return offered[0] if offered else None
    best: tuple[float, int, int] | None = None
    chosen: Format | None = None
    for index, fmt in enumerate(offered):
        matches = [(r.specificity(mt), r.q) for mt in fmt.media_types for r in ranges]
        matches = [m for m in matches if m[0] >= 0]
        if not matches:
            continue
        spec, q = max(matches, key=lambda m: (m[0], m[1]))
        key = (q, spec, -index)
        if q > 0 and (best is None or key > best):
            best, chosen = key, fmt
    return chosen


# --- serialisation --------------------------------------------------------------------


class Serialized(NamedTuple):
    """A written answer: the bytes, their format, and whether ``max_rows`` cut it.
    (A named tuple: one is made per query, at a fifth of a frozen dataclass's cost.)"""

    body: bytes
    format: Format
    truncated: bool = False


def _take(items: Iterable[T], max_rows: int | None) -> tuple[list[T], bool]:
    """The first ``max_rows`` items, and whether there were more. Reads one past the limit."""
    if max_rows is None:
        return list(items), False
    head = list(islice(items, max_rows + 1))
    return head[:max_rows], len(head) > max_rows


class _Enough(Exception):
    """Raised by :class:`_LineWriter` to stop Oxigraph writing: the limit is reached."""


class _LineWriter:
    """A file for Oxigraph to write TSV into that stops it one row past ``max_rows``.

    Oxigraph evaluates lazily while it writes, so stopping the writer stops the query: an
    endless ``SELECT *`` costs ``max_rows`` rows, not the deadline.
    """

    def __init__(self, max_rows: int | None) -> None:
        self.parts: list[bytes] = []
        self.lines = 0
        self.limit = None if max_rows is None else max_rows + 1  # + 1: the header line

    def write(self, chunk: bytes) -> int:
        self.parts.append(bytes(chunk))
        self.lines += chunk.count(b"\n")
        if self.limit is not None and self.lines > self.limit:
            raise _Enough
        return len(chunk)

    def flush(self) -> None:
        pass

    def rows(self) -> tuple[bytes, bool]:
        """What was written, cut after the last row allowed, and whether it was cut."""
        tsv = b"".join(self.parts)
        if self.limit is None or self.lines <= self.limit:
            return tsv, False
        return b"\n".join(tsv.split(b"\n", self.limit)[: self.limit]) + b"\n", True


def _solutions(
    solutions: ox.QuerySolutions, fmt: Format, max_rows: int | None
) -> tuple[bytes, bool]:
    """A SELECT answer in ``fmt``, cut at ``max_rows``, written by Oxigraph throughout.

    The answer is first written as TSV, where a row is exactly one line (terms are in
    N-Triples syntax, whose strings escape line breaks), so rows are counted and cut on
    the byte level; then it is read back and written in the format asked for. Three
    passes in Rust cost about a fifth of building the rows in Python (measured: 10 ms
    against 55 ms for 9,000 rows).
    """
    writer = _LineWriter(max_rows)
    try:
        solutions.serialize(cast(IO[bytes], writer), format=QRF.TSV)  # it calls write()
    except _Enough:
        pass
    tsv, truncated = writer.rows()
    if fmt is TSV:
        return tsv, truncated
    data = ox.parse_query_results(tsv, format=QRF.TSV).serialize(format=fmt.results) or b""
    if truncated and fmt is JSON:
        # Said in the answer itself too (as Datasette's "truncated"), not only in a header
        # that a saved file loses. Placed before "results": readers that stream (Oxigraph's
        # own among them) accept unknown members there, not after the bindings. The head
        # before it holds only variable names, which cannot contain a quote.
        data = data.replace(b'"results":', b'"truncated":true,"results":', 1)
    return data, truncated


class _JsonWriter:
    """A file for Oxigraph to write SPARQL JSON into that gives up once the answer may
    have more than ``max_rows`` rows.

    Oxigraph writes the rows of a JSON answer one after the other, separated by
    ``},{`` (a row is an object of term objects, and a term's own members are separated
    by ``","``). Inside a string that sequence can occur too, but never followed by an
    unescaped quote, so counting ``},{`` over-counts rows, never under-counts them: an
    answer where it occurs fewer than ``max_rows`` times has at most ``max_rows`` rows.
    """

    def __init__(self, max_rows: int) -> None:
        self.parts: list[bytes] = []
        self.max_rows = max_rows
        self.seen = 0

    def write(self, chunk: bytes) -> int:
        self.parts.append(bytes(chunk))
        self.seen += chunk.count(b"},{")  # a separator across two chunks is caught below
        if self.seen >= self.max_rows:
            raise _Enough
        return len(chunk)

    def flush(self) -> None:
        pass


_ROW_SEPARATOR = b"},{"


def _json_within(solutions: ox.QuerySolutions, max_rows: int) -> bytes | None:
    """The answer as SPARQL JSON written by Oxigraph in one pass, if it provably has at
    most ``max_rows`` rows; ``None`` (the solutions consumed) if it may have more."""
    writer = _JsonWriter(max_rows)
    try:
        solutions.serialize(cast(IO[bytes], writer), format=QRF.JSON)
    except _Enough:
        return None
    data = b"".join(writer.parts)
    return data if data.count(_ROW_SEPARATOR) < max_rows else None


def serialize_result(
    result: OxResult,
    fmt: Format | str,
    *,
    max_rows: int | None = None,
    prefixes: dict[str, str] | None = None,
    again: Callable[[], OxResult] | None = None,
) -> Serialized:
    """Write an Oxigraph answer in ``fmt`` (a :class:`Format`, short name or media type).

    Raises ``ValueError`` if the format is unknown or cannot hold this kind of
    answer (a graph as CSV, a table as Turtle). ``prefixes`` only shape Turtle
    and TriG. The answer is consumed.

    ``again`` evaluates the same query once more. Given, a SELECT answer asked for as
    JSON (the default format) is written in one pass, and only an answer that may be
    longer than ``max_rows`` is evaluated again and cut the slower way (see
    :func:`_solutions`): the TSV round trip cost a third of a small query's time in the
    query worker (bench adhoc:1 at 1x, evaluated and written 5,000 times in a loop: 65 µs
    a query through TSV, 47 µs straight to JSON).
    """
    offered = offered_for(result)
    chosen = fmt if isinstance(fmt, Format) else find_format(fmt, offered)
    if chosen is None or chosen not in offered:
        names = ", ".join(f.name for f in offered)
        raise ValueError(
            f"format {fmt if isinstance(fmt, str) else fmt.name!r} "
            f"cannot hold this answer; use one of: {names}"
        )
    if isinstance(result, ox.QueryBoolean):
        return Serialized(result.serialize(format=chosen.results) or b"", chosen)
    if isinstance(result, ox.QueryTriples):
        triples, truncated = _take(result, max_rows)
        body = ox.serialize(triples, format=chosen.rdf, prefixes=prefixes)
        return Serialized(body or b"", chosen, truncated)
    if chosen is JSON and (max_rows is None or again is not None):
        whole = (
            result.serialize(format=QRF.JSON) or b""
            if max_rows is None
            else _json_within(result, max_rows)
        )
        if whole is not None:
            return Serialized(whole, chosen)
        assert again is not None
        result = again()
        if not isinstance(result, ox.QuerySolutions):
            raise ValueError("evaluated again, the query gave another kind of answer")
    data, truncated = _solutions(result, chosen, max_rows)
    return Serialized(data, chosen, truncated)


def serialize_triples(
    triples: Iterable[ox.Triple], fmt: Format, *, prefixes: dict[str, str] | None = None
) -> bytes:
    """Write plain triples (a service description, a page's graph) in a graph format."""
    if fmt.rdf is None:
        raise ValueError(f"{fmt.label} is not a graph format")
    return ox.serialize(triples, format=fmt.rdf, prefixes=prefixes) or b""
