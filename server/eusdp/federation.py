"""Federated queries made safe: SERVICE through an allowlist, evaluated here, never by an engine.

Both engines would fetch on their own: Oxigraph calls any ``SERVICE <http...>``
with its own HTTP client (no timeout, no size limit), rdflib's engine calls
SERVICE and loads FROM documents into a Dataset. Anyone who can send a query
could make the server request any URL, its own network included (server-side
request forgery). So every query passes :meth:`Federation.prepare` first, in
:meth:`eusdp.store.Store.query` and :meth:`~eusdp.store.Store.reference_query`,
the one choke point, and the engine never sees a SERVICE:

1. the text is scanned lexically (strings, IRIs and comments skipped) for
   ``SERVICE [SILENT] <iri> { ... }`` blocks and for FROM / FROM NAMED;
2. every SERVICE IRI (prefixed names resolved with the query's PREFIXes,
   relative ones against its BASE) must be on the allowlist; a variable
   SERVICE or any other IRI is refused (:class:`ServiceRefused`), and a FROM
   naming a graph the store does not hold is refused (:class:`DatasetRefused`),
   all before anything is fetched;
3. each allowed block is sent here, with urllib, as ``SELECT * WHERE { ... }``
   with the query's prologue, to the URL the allowlist maps the IRI to: a
   descriptive User-Agent, a deadline, a size limit, and retries with backoff
   on 429/5xx that honour ``Retry-After`` within the deadline. Redirects are not
   followed (a redirect could point anywhere);
4. the block is replaced by a ``VALUES`` block holding the remote rows, each
   term written by Oxigraph's own serialiser (IRIs validated, literals escaped
   as in N-Triples). VALUES cannot hold blank nodes: each remote blank node
   becomes a fresh ``urn:uuid:`` IRI, the same one for each use of its label in
   that answer (a Skolem IRI, RDF 1.1 §3.5), so joins inside the answer still
   hold and nothing can join with a local blank node. A triple term is refused.

Semantics are those of SPARQL 1.1 Federated Query: the block is evaluated on its
own at the remote and joined where it stands (an inline VALUES is joined at its
position exactly as SERVICE is). Write SERVICE patterns that are selective on
their own: the remote's whole answer counts against the size limit. A SERVICE
nested inside an allowed block is part of the remote query and left to the
remote. ``SERVICE SILENT`` turns a failure into one empty solution; a failing
non-silent SERVICE raises :class:`ServiceFailed` (``timeout`` says which kind:
the web layer answers 504 or 502).
"""

from __future__ import annotations

import email.utils
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPException, HTTPResponse
from typing import Any

import pyoxigraph as ox

from . import __version__

#: Wikidata's query service: the one SERVICE allowed by default.
WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
#: Wikimedia asks clients to say who they are and how to reach their authors.
USER_AGENT = (
    f"eusdp/{__version__} (https://w3id.org/eusdp/; contact via the project's issue tracker) "
    f"Python-urllib"
)
RESULTS_JSON = "application/sparql-results+json"
#: Statuses worth another try: too many requests, and the server's own failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 65_536


# --- errors ---------------------------------------------------------------------------


class FederationError(Exception):
    """Base of the errors of federated queries. ``service`` names the IRI at fault."""

    def __init__(self, message: str, service: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.service = service

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, for query worker processes
        return (type(self), (self.message, self.service))


class ServiceRefused(FederationError):
    """A SERVICE that is not on the allowlist, or given by a variable. Nothing was fetched."""


class DatasetRefused(FederationError):
    """A FROM / FROM NAMED naming a graph the store does not hold: it would have to be fetched."""


class ServiceFailed(FederationError):
    """An allowed SERVICE that did not answer usefully: ``timeout`` (a 504) or otherwise (502)."""

    def __init__(
        self, message: str, service: str | None = None, timeout: bool = False
    ) -> None:
        super().__init__(message, service)
        self.timeout = timeout

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.service, self.timeout))


# --- HTTP -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteOptions:
    """How to call a remote SPARQL endpoint. ``timeout`` bounds each call, retries included."""

    timeout: float = 10.0
    max_bytes: int = 10_000_000
    retries: int = 3
    user_agent: str = USER_AGENT
    #: Seconds before the first retry when the server gives no Retry-After; doubles each time.
    backoff: float = 0.5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not instructions: following one could lead anywhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_http_url(url: str, what: str) -> None:
    """Only http(s) URLs with a host: urllib would also read ``file:`` and ``ftp:``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{what}: not an http(s) URL: {url!r}")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def post_query(
    url: str,
    query: str,
    options: RemoteOptions,
    *,
    service: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """POST ``query`` to a SPARQL endpoint; the body of its 200 answer, within the limits.

    Raises :class:`ServiceFailed` naming ``service`` (default: ``url``) for every
    failure: unreachable, timed out, an error status after the retries, too large.
    """
    name = service or url
    try:
        check_http_url(url, "remote endpoint")
    except ValueError as exc:
        raise ServiceFailed(str(exc), name) from None
    deadline = time.monotonic() + options.timeout
    data = urllib.parse.urlencode({"query": query}).encode("utf-8")
    headers = {
        "Accept": RESULTS_JSON,
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": options.user_agent,
    }
    attempt = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServiceFailed(f"{name} did not answer within {options.timeout:g} s", name, True)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=left) as response:
                return _read_limited(response, options, deadline, name)
        except urllib.error.HTTPError as exc:
            status, wait = exc.code, retry_after(exc.headers.get("Retry-After"))
            exc.close()
            if status not in RETRY_STATUSES or attempt >= options.retries:
                raise ServiceFailed(_status_message(name, status, attempt), name) from None
            delay = wait if wait is not None else options.backoff * 2**attempt
            if time.monotonic() + delay >= deadline:
                raise ServiceFailed(
                    f"{name} answered HTTP {status} and asks to wait {delay:g} s, "
                    f"longer than the {options.timeout:g} s allowed",
                    name,
                    timeout=status == 504,
                ) from None
            sleep(delay)
            attempt += 1
        except TimeoutError:
            raise ServiceFailed(
                f"{name} did not answer within {options.timeout:g} s", name, True
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ServiceFailed(
                    f"{name} did not answer within {options.timeout:g} s", name, True
                ) from None
            raise ServiceFailed(f"{name} cannot be reached: {exc.reason}", name) from None
        except (HTTPException, OSError) as exc:
            raise ServiceFailed(f"{name} broke off the answer: {exc}", name) from None


def _status_message(name: str, status: int, attempt: int) -> str:
    tries = f" (after {attempt + 1} tries)" if attempt else ""
    if 300 <= status < 400:
        return f"{name} answered with a redirect (HTTP {status}), which is not followed"
    return f"{name} answered HTTP {status}{tries}"


def _read_limited(
    response: HTTPResponse, options: RemoteOptions, deadline: float, name: str
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > options.max_bytes:
        raise ServiceFailed(
            f"{name} sent {declared} bytes; at most {options.max_bytes} are read", name
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ServiceFailed(f"{name} did not answer within {options.timeout:g} s", name, True)
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > options.max_bytes:
            raise ServiceFailed(
                f"{name} sent more than {options.max_bytes} bytes; the answer is dropped", name
            )
        chunks.append(chunk)


@dataclass(frozen=True)
class Rows:
    """A remote SELECT answer: its variables (names) and rows (Oxigraph terms or None)."""

    variables: tuple[str, ...]
    rows: tuple[tuple[ox.NamedNode | ox.Literal | None, ...], ...]


def select(
    url: str, query: str, options: RemoteOptions, *, service: str | None = None
) -> Rows:
    """Run a SELECT at a remote endpoint and read its JSON answer strictly."""
    name = service or url
    body = post_query(url, query, options, service=name)
    return parse_results(body, name)


def parse_results(body: bytes, name: str) -> Rows:
    """SPARQL results JSON -> :class:`Rows`; garbage is a :class:`ServiceFailed`.

    The error is raised here, not where it was found: an exception keeps the frames it
    went through, and :func:`_read_results`' frame holds the parser's iterator, which
    PyO3 binds to the thread that made it. Whoever keeps the error (a test, a log
    record) would keep the iterator too, and free it from whatever thread collects it."""
    try:
        return _read_results(body, name)
    except (SyntaxError, ValueError, OSError) as exc:
        failure = ServiceFailed(f"{name} answered something that is not SPARQL JSON: {exc}", name)
    except ServiceFailed as exc:
        failure = exc.with_traceback(None)
    raise failure


def _read_results(body: bytes, name: str) -> Rows:
    parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    if not isinstance(parsed, ox.QuerySolutions):
        raise ServiceFailed(f"{name} answered a boolean, not a table", name)
    variables = tuple(v.value for v in parsed.variables)
    skolem: dict[str, ox.NamedNode] = {}
    rows = tuple(
        tuple(_local(solution[i], skolem, name) for i in range(len(variables)))
        for solution in parsed
    )
    return Rows(variables, rows)


def _local(
    term: object, skolem: dict[str, ox.NamedNode], name: str
) -> ox.NamedNode | ox.Literal | None:
    if term is None or isinstance(term, ox.NamedNode | ox.Literal):
        return term
    if isinstance(term, ox.BlankNode):
        if term.value not in skolem:
            skolem[term.value] = ox.NamedNode(f"urn:uuid:{uuid.uuid4()}")
        return skolem[term.value]
    raise ServiceFailed(f"{name} answered a triple term, which cannot be joined here", name)


# --- the lexical scan -----------------------------------------------------------------

_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_PN_CHARS = _PN_CHARS_BASE + "_0-9\u00b7\u0300-\u036f\u203f-\u2040\\-"
_VAR_CHARS = _PN_CHARS_BASE + "_0-9\u00b7\u0300-\u036f\u203f-\u2040"
_TOKEN = re.compile(
    rf"""(?P<comment>\#[^\n]*)
    |(?P<string>"{{3}}.*?"{{3}}|'{{3}}.*?'{{3}}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<iri><[^<>"{{}}|^`\\\s]*>)
    |(?P<var>[?$][{_VAR_CHARS}]+)
    |(?P<pname>(?:[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)?:
        (?:(?:[{_PN_CHARS}:]|%[0-9A-Fa-f]{{2}}|\\[_~.!$&'()*+,;=/?\#@%-])
           (?:(?:[{_PN_CHARS}.:]|%[0-9A-Fa-f]{{2}}|\\[_~.!$&'()*+,;=/?\#@%-])*
              (?:[{_PN_CHARS}:]|%[0-9A-Fa-f]{{2}}|\\[_~.!$&'()*+,;=/?\#@%-]))?)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<open>\{{)|(?P<close>\}})
    |(?P<space>\s+)
    |(?P<other>.)""",
    re.DOTALL | re.VERBOSE,
)


#: Words without which a query can neither call a service nor name a dataset (Oxigraph,
#: like most engines, reads no ``\u`` escapes outside strings, so they cannot hide).
def mentions(text: str, *words: str) -> bool:
    """Whether any of these (lower-case, ASCII) keywords appears in ``text``, in any case.

    A containment test on the lowered text, before any regex: a fifteenth of the time of
    an IGNORECASE search, on every query. It never misses a keyword Oxigraph would read
    (its keywords are ASCII, matched without case); the only extra hits it could give
    (``K`` from the Kelvin sign) lead to the full scan, never past it.
    """
    global _LAST
    last = _LAST
    if last[0] is text:
        lowered = last[1]
    else:
        lowered = text.lower()
        _LAST = (text, lowered)
    for word in words:  # a loop, not any(...): no generator to make, on every query
        if word in lowered:
            return True
    return False


#: The last text lowered, and its lowered form: a query is asked about up to five times
#: on its way (cacheable, federate, FROM, again...), 0.5 µs a time at 400 characters.
#: One tuple, swapped whole: a thread that reads another's text just lowers its own.
_LAST: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """The significant tokens of a query (comments and spaces dropped)."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind not in {"comment", "space"}:
            found.append(Token(kind, match.group(), match.start(), match.end()))
    return found


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"error at {line}:{column}"


@dataclass(frozen=True)
class ServiceBlock:
    """One ``SERVICE [SILENT] target { ... }`` of a query, where it stands in the text."""

    start: int
    end: int
    silent: bool
    #: The absolute IRI, or None for a variable (``variable`` then holds its text).
    iri: str | None
    variable: str | None
    #: The group pattern, braces included, as written.
    pattern: str
    #: The variables the pattern mentions, in order of first use (names without ?/$).
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Scan:
    """What federation needs to know about a query, read without parsing it."""

    prologue: str
    prefixes: Mapping[str, str]
    base: str | None
    services: tuple[ServiceBlock, ...]
    #: (clause, graph IRI) for each FROM / FROM NAMED.
    datasets: tuple[tuple[str, str], ...]


def scan(
    text: str, base_iri: str | None = None, prefixes: Mapping[str, str] | None = None
) -> Scan:
    """Find the prologue, the SERVICE blocks (outermost only) and the dataset clauses.

    A SERVICE that is not followed by a target and a braced pattern is a
    ``SyntaxError`` (as Oxigraph reports them: "error at L:C: ...").
    """
    toks = tokens(text)
    declared: dict[str, str] = dict(prefixes or {})
    base = base_iri
    i = 0
    prologue_end = 0
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "word" else ""
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base = _resolve(toks[i + 1].text[1:-1], base)
            prologue_end, i = toks[i + 1].end, i + 2
        elif (
            word == "PREFIX"
            and i + 2 < len(toks)
            and toks[i + 1].kind == "pname"
            and toks[i + 1].text.endswith(":")
            and toks[i + 2].kind == "iri"
        ):
            declared[toks[i + 1].text[:-1]] = _resolve(toks[i + 2].text[1:-1], base)
            prologue_end, i = toks[i + 2].end, i + 3
        else:
            break
    services: list[ServiceBlock] = []
    datasets: list[tuple[str, str]] = []
    depth = 0
    while i < len(toks):
        tok = toks[i]
        word = tok.text.upper() if tok.kind == "word" else ""
        if tok.kind == "open":
            depth += 1
        elif tok.kind == "close":
            depth = max(0, depth - 1)
        elif word == "FROM" and depth == 0:
            clause, j = "FROM", i + 1
            if j < len(toks) and toks[j].kind == "word" and toks[j].text.upper() == "NAMED":
                clause, j = "FROM NAMED", j + 1
            if j < len(toks) and toks[j].kind in {"iri", "pname"}:
                datasets.append((clause, _term_iri(toks[j], declared, base, text)))
                i = j
        elif word == "SERVICE":
            block, i = _service(text, toks, i, declared, base)
            services.append(block)
            continue
        i += 1
    return Scan(text[:prologue_end], declared, base, tuple(services), tuple(datasets))


def _service(
    text: str, toks: Sequence[Token], i: int, prefixes: Mapping[str, str], base: str | None
) -> tuple[ServiceBlock, int]:
    start = toks[i].start
    j = i + 1
    silent = j < len(toks) and toks[j].kind == "word" and toks[j].text.upper() == "SILENT"
    if silent:
        j += 1
    if j >= len(toks) or toks[j].kind not in {"iri", "pname", "var"}:
        at = toks[j].start if j < len(toks) else len(text)
        raise SyntaxError(f"{_position(text, at)}: SERVICE needs an IRI before its pattern")
    target = toks[j]
    iri = None if target.kind == "var" else _term_iri(target, prefixes, base, text)
    j += 1
    if j >= len(toks) or toks[j].kind != "open":
        at = toks[j].start if j < len(toks) else len(text)
        raise SyntaxError(f"{_position(text, at)}: SERVICE needs a pattern in braces")
    open_at, depth = j, 0
    names: dict[str, None] = {}
    while j < len(toks):
        if toks[j].kind == "open":
            depth += 1
        elif toks[j].kind == "close":
            depth -= 1
            if depth == 0:
                break
        elif toks[j].kind == "var":
            names.setdefault(toks[j].text[1:], None)
        j += 1
    else:
        raise SyntaxError(f"{_position(text, len(text))}: SERVICE pattern has no closing brace")
    block = ServiceBlock(
        start=start,
        end=toks[j].end,
        silent=silent,
        iri=iri,
        variable=target.text if target.kind == "var" else None,
        pattern=text[toks[open_at].start : toks[j].end],
        variables=tuple(names),
    )
    return block, j + 1


_ESCAPE = re.compile(r"\\(.)")


def _term_iri(tok: Token, prefixes: Mapping[str, str], base: str | None, text: str) -> str:
    if tok.kind == "iri":
        return _resolve(tok.text[1:-1], base)
    prefix, _, local = tok.text.partition(":")
    if prefix not in prefixes:
        raise SyntaxError(f"{_position(text, tok.start)}: prefix {prefix}: is not declared")
    return prefixes[prefix] + _ESCAPE.sub(r"\1", local)


def _resolve(iri: str, base: str | None) -> str:
    if urllib.parse.urlsplit(iri).scheme or base is None:
        return iri
    return urllib.parse.urljoin(base, iri)


# --- the rewrite ----------------------------------------------------------------------


def values_block(variables: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Inline data joined where a SERVICE stood: the rows, or no solution at all.

    Written so that both engines agree (rdflib mis-evaluates empty VALUES and
    lone empty groups): no rows is two VALUES that cannot join.
    """
    if not variables:
        if rows:
            return "OPTIONAL {}"
        none = "?eusdp_service_nothing"
        return f"{{ VALUES {none} {{ true }} VALUES {none} {{ false }} }}"
    if not rows:
        first = f"?{variables[0]}"
        return f"{{ VALUES {first} {{ true }} VALUES {first} {{ false }} }}"
    head = " ".join(f"?{v}" for v in variables)
    lines = [
        "    (" + " ".join("UNDEF" if t is None else str(t) for t in row) + ")" for row in rows
    ]
    return f"{{ VALUES ({head}) {{\n" + "\n".join(lines) + "\n  } }"


def empty_solution(variables: Sequence[str]) -> str:
    """One solution that binds nothing: what a failing SERVICE SILENT gives."""
    if not variables:
        return "OPTIONAL {}"
    head = " ".join(f"?{v}" for v in variables)
    undef = " ".join("UNDEF" for _ in variables)
    return f"{{ VALUES ({head}) {{ ({undef}) }} }}"


def without_services(text: str, prefixes: Mapping[str, str] | None = None) -> str:
    """The query with each SERVICE block replaced by its own pattern: for checking its
    syntax and variables without fetching anything (the catalog does this at load)."""
    if not mentions(text, "service", "from"):
        return text  # no SERVICE: nothing to replace, no token scan
    found = scan(text, prefixes=prefixes)
    for block in reversed(found.services):
        inner = without_services(block.pattern[1:-1], found.prefixes)
        text = text[: block.start] + "{" + inner + "}" + text[block.end :]
    return text


@dataclass(frozen=True)
class Federation:
    """The allowlist, where each allowed IRI is really sent, and how calls are made."""

    allowlist: tuple[str, ...] = (WIKIDATA_SPARQL,)
    mapping: Mapping[str, str] = field(default_factory=dict)
    options: RemoteOptions = field(default_factory=RemoteOptions)

    def url_for(self, iri: str) -> str:
        return self.mapping.get(iri, iri)

    def check(
        self, text: str, *, base_iri: str | None = None, graphs: Collection[str] | None = None
    ) -> Scan:
        """Refuse what must not be fetched. Nothing is fetched here."""
        found = scan(text, base_iri)
        if graphs is not None:
            for clause, iri in found.datasets:
                if iri not in graphs:
                    raise DatasetRefused(
                        f"{clause} <{iri}> names a graph this store does not hold; "
                        "graphs are never fetched from elsewhere",
                        iri,
                    )
        for block in found.services:
            if block.iri is None:
                raise ServiceRefused(
                    f"SERVICE {block.variable}: a variable service is not allowed; "
                    f"name the endpoint (allowed: {self._allowed()})",
                    None,
                )
            if block.iri not in self.allowlist:
                raise ServiceRefused(
                    f"SERVICE <{block.iri}> is not allowed (allowed: {self._allowed()})",
                    block.iri,
                )
        return found

    def _allowed(self) -> str:
        return ", ".join(f"<{iri}>" for iri in self.allowlist) or "none"

    def prepare(
        self, text: str, *, base_iri: str | None = None, graphs: Collection[str] | None = None
    ) -> str:
        """The query with every SERVICE evaluated and inlined; refusals come first."""
        if not mentions(text, "service", "from"):
            return text  # no SERVICE and no FROM: nothing to refuse or fetch, no token scan
        found = self.check(text, base_iri=base_iri, graphs=graphs)
        if not found.services:
            return text
        replacements = [self._evaluate(block, found) for block in found.services]
        for block, replacement in zip(
            reversed(found.services), reversed(replacements), strict=True
        ):
            text = text[: block.start] + replacement + text[block.end :]
        return text

    def _evaluate(self, block: ServiceBlock, found: Scan) -> str:
        assert block.iri is not None
        prologue = found.prologue
        if found.base and not re.search(r"\bBASE\b", prologue, re.IGNORECASE):
            prologue = f"BASE <{found.base}>\n{prologue}"
        remote = f"{prologue}\nSELECT * WHERE {block.pattern}\n"
        try:
            answer = select(self.url_for(block.iri), remote, self.options, service=block.iri)
        except ServiceFailed:
            if block.silent:
                return empty_solution(block.variables)
            raise
        return values_block(answer.variables, answer.rows)


def federation_from(
    allowlist: Sequence[str], mapping: Sequence[tuple[str, str]], options: RemoteOptions
) -> Federation:
    """Build and check: mapped IRIs must be allowed, and every URL called must be http(s)."""
    allowed = tuple(allowlist)
    for iri in allowed:
        check_http_url(iri, "federation_allowlist")
    mapped = dict(mapping)
    for iri, url in mapped.items():
        if iri not in allowed:
            raise ValueError(f"federation_map: {iri!r} is not in federation_allowlist")
        check_http_url(url, "federation_map")
    return Federation(allowed, mapped, options)


def iter_rows(rows: Rows) -> Iterator[dict[str, ox.NamedNode | ox.Literal]]:
    """Rows as dicts of the bound variables (for callers that read answers by name)."""
    for row in rows.rows:
        yield {v: t for v, t in zip(rows.variables, row, strict=True) if t is not None}
