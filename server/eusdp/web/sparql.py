"""``/sparql``: the SPARQL 1.1 Protocol, query operation only, read strictly.

A request is first read into a :class:`ProtocolRequest` by a plain function
(:func:`read_protocol_request`) that knows the Protocol's rules and nothing of
Flask: which methods and body types carry a query, that ``query`` and
``update`` may each appear once and not together, that text is UTF-8. The view
then either describes the service (no query), refuses an update (403 if it is
well formed: the endpoint is read-only; 400 if not), or runs the query and
writes the answer in the negotiated format.

Two guards protect the process rather than the Protocol:
- ``SERVICE`` goes only to the endpoints on the allowlist, and FROM only to graphs
  the store holds: :mod:`eusdp.federation` checks and evaluates them inside
  ``Store.query`` before the engine sees the query (which would otherwise fetch any
  URL, letting anyone make this server send requests into its own network); its
  errors become 403, 502 or 504 problems in the app's error handler;
- nesting deeper than :data:`MAX_NESTING` is refused (400): Oxigraph's parser
  recurses and a few thousand nested brackets overflow an 8 MB stack, which kills
  the process instead of raising. (``eusdp.serve`` also gives request threads a
  large stack, for long operator chains the bracket count cannot see.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from urllib.parse import parse_qsl

import pyoxigraph as ox
from flask import Blueprint, Response, request
from pyparsing import ParseBaseException
from rdflib.plugins.sparql.parser import parseUpdate
from werkzeug.http import parse_options_header

from ..errors import (
    BadEncoding,
    BadParameter,
    NotAcceptable,
    ProblemError,
    QueryTooComplex,
    QueryTooLarge,
    UnsupportedMediaType,
    UpdateNotAllowed,
    UpdateSyntaxError,
    query_syntax_error,
)
from ..formats import (
    ALL_FORMATS,
    GRAPH_FORMATS,
    HTML,
    MAX_ROWS_HEADER,
    TRUNCATED_HEADER,
    Format,
    find_format,
    negotiate,
    offered_for,
    serialize_result,
    serialize_triples,
)
from ..store import Store
from . import current_settings, current_store

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
#: Deepest bracket nesting accepted; real queries stay far below, Oxigraph dies near 3000.
MAX_NESTING = 256

Params = Mapping[str, Sequence[str]]
#: Every ``format=`` value this endpoint knows, whatever the answer.
KNOWN_FORMATS: tuple[Format, ...] = (*ALL_FORMATS, HTML)


@dataclass(frozen=True)
class ProtocolRequest:
    """What a Protocol request asks for, once its transport has been read and checked."""

    #: "query", "update", or "service" (no operation: describe the service).
    operation: str
    text: str = ""
    params: Params = field(default_factory=dict)

    def values(self, name: str) -> tuple[str, ...]:
        return tuple(self.params.get(name, ()))

    def value(self, name: str) -> str | None:
        """The single value of an optional parameter; repeating it is an error."""
        values = self.values(name)
        if len(values) > 1:
            raise BadParameter(f"parameter {name!r} given {len(values)} times; give it once")
        return values[0] if values else None


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEncoding(
            f"{what} is not valid UTF-8 (byte {exc.start}); the SPARQL Protocol requires UTF-8"
        ) from None


def _parse_pairs(text: str, what: str) -> dict[str, list[str]]:
    """Parse ``a=1&b=2``; percent-escapes must decode to UTF-8."""
    params: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"{what} has percent-escapes that are not UTF-8: {exc.reason}") from None
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def _check_charset(options: Mapping[str, str], mimetype: str) -> None:
    charset = options.get("charset", "utf-8").strip().lower()
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(
            f"{mimetype} with charset={charset}: the SPARQL Protocol requires UTF-8",
            accepted=[FORM, QUERY, UPDATE],
        )


def read_protocol_request(
    method: str,
    query_string: bytes,
    content_type: str | None,
    body: bytes,
    *,
    max_query_bytes: int,
) -> ProtocolRequest:
    """Read a request the way the SPARQL 1.1 Protocol (§2.1, §2.2) defines it.

    GET carries everything in the URL; a form POST in the body (URL parameters
    such as ``default-graph-uri`` are merged in, as common clients send them
    there); a direct POST carries the operation text as the body and the rest
    in the URL. Raises a typed error for every violation.
    """
    url = _parse_pairs(_decode(query_string, "the URL query string"), "the URL query string")
    params = url
    if method == "POST":
        mimetype, options = parse_options_header(content_type or "")
        mimetype = mimetype.lower()
        if mimetype in (FORM, QUERY, UPDATE):
            _check_charset(options, mimetype)
        if mimetype == FORM:
            form = _parse_pairs(_decode(body, "the form body"), "the form body")
            params = {k: url.get(k, []) + form.get(k, []) for k in {**url, **form}}
        elif mimetype in (QUERY, UPDATE):
            name = "query" if mimetype == QUERY else "update"
            if "query" in url or "update" in url:
                raise BadParameter(
                    f"a {mimetype} POST carries the {name} as its body; "
                    "the URL must not also give 'query' or 'update'"
                )
            params = {**url, name: [_decode(body, f"the {name}")]}
        else:
            given = f"Content-Type {mimetype!r}" if mimetype else "no Content-Type"
            raise UnsupportedMediaType(
                f"a POST to the SPARQL endpoint needs Content-Type {FORM}, {QUERY} "
                f"or {UPDATE}; got {given}",
                accepted=[FORM, QUERY, UPDATE],
            )
    queries, updates = params.get("query", []), params.get("update", [])
    if len(queries) > 1 or len(updates) > 1:
        raise BadParameter("give exactly one 'query' (or one 'update') per request")
    if queries and updates:
        raise BadParameter("a request carries a 'query' or an 'update', not both")
    if updates and method != "POST":
        raise BadParameter("an update must be sent with POST (and this endpoint is read-only)")
    if not queries and not updates:
        if method == "POST":
            raise BadParameter("no 'query' given")
        return ProtocolRequest("service", "", params)
    operation, text = ("query", queries[0]) if queries else ("update", updates[0])
    size = len(text.encode("utf-8"))
    if size > max_query_bytes:
        raise QueryTooLarge(
            f"the {operation} is {size} bytes; this endpoint takes at most {max_query_bytes}",
            limit=max_query_bytes,
        )
    return ProtocolRequest(operation, text, params)


# --- looking at a query without running it --------------------------------------------

# Strings, IRIs and comments are skipped: brackets or the word SERVICE in them do not count.
_TOKENS = re.compile(
    r"""(?P<skip>"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|<[^<>"{}|^`\\\s]*>|\#[^\n]*)|(?P<open>[({\[])|(?P<close>[)}\]])"""
    r"""|(?P<service>(?<![?$:\w.-])SERVICE(?![\w:-]))""",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class QueryScan:
    """What a token scan sees: the deepest bracket nesting and whether SERVICE is used."""

    depth: int
    service: bool


def scan_query(text: str) -> QueryScan:
    """Scan SPARQL text for nesting depth and the SERVICE keyword, without parsing it."""
    depth = deepest = 0
    service = False
    for match in _TOKENS.finditer(text):
        if match.group("open"):
            depth += 1
            deepest = max(deepest, depth)
        elif match.group("close"):
            depth = max(0, depth - 1)
        elif match.group("service"):
            service = True
    return QueryScan(deepest, service)


def _check_nesting(scan: QueryScan) -> None:
    if scan.depth > MAX_NESTING:
        raise QueryTooComplex(
            f"brackets nest {scan.depth} deep; this endpoint takes at most {MAX_NESTING}",
            depth=scan.depth,
            limit=MAX_NESTING,
        )


def update_problem(text: str, params: Params) -> ProblemError:
    """The error to answer an update with. Parses with rdflib and never executes anything.

    A well-formed update is refused as read-only (403); a malformed one, or one
    whose USING/WITH clauses conflict with ``using-graph-uri`` /
    ``using-named-graph-uri`` (Protocol §2.2.3), is a bad request (400).
    """
    _check_nesting(scan_query(text))
    try:
        parsed = parseUpdate(text)
    except ParseBaseException as exc:
        return UpdateSyntaxError(
            f"Malformed update at line {exc.lineno}, column {exc.col}: {exc.msg}",
            line=exc.lineno,
            column=exc.col,
        )
    except RecursionError:
        return UpdateSyntaxError("Malformed update: nested too deeply to parse")
    operations = parsed["request"] if "request" in parsed else []
    if not operations:
        return UpdateSyntaxError("Malformed update: no operation given")
    if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
        # CompValue.get returns the key itself when absent: test membership instead.
        if any("using" in op or "withClause" in op for op in operations):
            return BadParameter(
                "using-graph-uri/using-named-graph-uri may not be combined with an update "
                "that has its own USING or WITH clause"
            )
    return UpdateNotAllowed(
        "This SPARQL endpoint is read-only: updates are not accepted.", operation="update"
    )


def _is_update(text: str) -> bool:
    """True if text that failed as a query is a well-formed SPARQL Update."""
    try:
        parsed = parseUpdate(text)
    except (ParseBaseException, RecursionError):
        return False
    return "request" in parsed and bool(parsed["request"])


# --- the endpoint ---------------------------------------------------------------------


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    raise BadParameter(f"parameter {name!r} must be true or false, not {value!r}")


def _graph_iris(req: ProtocolRequest, name: str) -> list[str]:
    iris = list(req.values(name))
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as exc:
            raise BadParameter(f"{name} {iri!r} is not an absolute IRI: {exc}") from None
    return iris


def _choose(req: ProtocolRequest, offered: Sequence[Format]) -> Format:
    """The ``format=`` parameter if given, else content negotiation on ``Accept``."""
    requested = req.value("format")
    if requested:
        chosen = find_format(requested, offered)
        if chosen is None:
            if find_format(requested, KNOWN_FORMATS) is None:
                names = ", ".join(f.name for f in offered)
                raise BadParameter(f"unknown format {requested!r}; this answer offers: {names}")
            raise _not_acceptable(offered, f"format={requested}")
        return chosen
    chosen = negotiate(request.headers.get("Accept"), offered)
    if chosen is None:
        raise _not_acceptable(offered, f"Accept: {request.headers.get('Accept', '')}")
    return chosen


def _not_acceptable(offered: Sequence[Format], asked: str) -> NotAcceptable:
    types = [f.media_type for f in offered]
    return NotAcceptable(
        f"{asked} matches none of the formats this answer can take: {', '.join(types)}",
        offered=types,
    )


def _body_limit(max_query_bytes: int) -> int:
    """Largest request body read: a form-encoded query can be three times its text, plus params."""
    return 3 * max_query_bytes + 16_384


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """The Protocol endpoint. The body is read only after its declared size is checked."""
    settings = current_settings()
    limit = _body_limit(settings.max_query_bytes)
    if request.content_length is not None and request.content_length > limit:
        raise QueryTooLarge(
            f"the request body is {request.content_length} bytes; at most {limit} are read",
            limit=settings.max_query_bytes,
        )
    request.max_content_length = limit
    body = request.get_data(cache=False) if request.method == "POST" else b""
    req = read_protocol_request(
        request.method,
        request.query_string,
        request.headers.get("Content-Type"),
        body,
        max_query_bytes=settings.max_query_bytes,
    )
    if req.operation == "service":
        return _service_description(req, current_store())
    if req.operation == "update":
        raise update_problem(req.text, req.params)
    return _run_query(req, current_store(), settings.max_rows)


def _run_query(req: ProtocolRequest, store: Store, max_rows: int) -> Response:
    """Check, run, negotiate, write. Relative IRIs resolve against the endpoint's URL (the
    base the Protocol suggests), so ``<thing>`` means the same to every client."""
    infer = _flag(req.value("infer"), "infer", True)
    default_graphs = _graph_iris(req, "default-graph-uri")
    named_graphs = _graph_iris(req, "named-graph-uri")
    _check_nesting(scan_query(req.text))
    try:
        result = store.query(
            req.text,
            infer=infer,
            default_graph_uris=default_graphs,
            named_graph_uris=named_graphs,
            base_iri=request.base_url,
        )
    except SyntaxError as exc:
        if _is_update(req.text):
            raise UpdateNotAllowed(
                "This SPARQL endpoint is read-only: the text is an update, not a query.",
                operation="update",
            ) from None
        raise query_syntax_error(exc) from None
    chosen = _choose(req, offered_for(result))
    written = serialize_result(result, chosen, max_rows=max_rows)
    response = Response(written.body, content_type=chosen.content_type)
    response.vary.add("Accept")
    if written.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
        response.headers[MAX_ROWS_HEADER] = str(max_rows)
    return response


# --- service description and query form ----------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
SD_PREFIXES = {
    "sd": SD,
    "void": VOID,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "formats": "http://www.w3.org/ns/formats/",
}


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def service_description(endpoint: str, store: Store) -> Iterator[ox.Triple]:
    """SPARQL 1.1 Service Description of this endpoint, its formats and its dataset."""
    service = ox.NamedNode(endpoint)
    yield ox.Triple(service, RDF_TYPE, _sd("Service"))
    yield ox.Triple(service, _sd("endpoint"), service)
    yield ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query"))
    for fmt in ALL_FORMATS:
        if fmt.iri:
            yield ox.Triple(service, _sd("resultFormat"), ox.NamedNode(fmt.iri))
    dataset, default = ox.BlankNode(), ox.BlankNode()
    yield ox.Triple(service, _sd("defaultDataset"), dataset)
    yield ox.Triple(dataset, RDF_TYPE, _sd("Dataset"))
    yield ox.Triple(dataset, _sd("defaultGraph"), default)
    yield ox.Triple(default, RDF_TYPE, _sd("Graph"))
    yield ox.Triple(
        default,
        RDFS_COMMENT,
        ox.Literal(
            "The union of the ontology, data and inferred graphs "
            "(without the inferred graph when infer=false)."
        ),
    )
    for info in store.graphs():
        named, graph = ox.BlankNode(), ox.BlankNode()
        yield ox.Triple(dataset, _sd("namedGraph"), named)
        yield ox.Triple(named, RDF_TYPE, _sd("NamedGraph"))
        yield ox.Triple(named, _sd("name"), ox.NamedNode(info.iri))
        yield ox.Triple(named, _sd("graph"), graph)
        yield ox.Triple(graph, RDF_TYPE, _sd("Graph"))
        yield ox.Triple(
            graph,
            ox.NamedNode(VOID + "triples"),
            ox.Literal(
                str(info.triples), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            ),
        )


def _service_description(req: ProtocolRequest, store: Store) -> Response:
    chosen = _choose(req, (*GRAPH_FORMATS, HTML))
    if chosen is HTML:
        response = Response(_query_form(request.base_url), content_type=HTML.content_type)
    else:
        body = serialize_triples(
            service_description(request.base_url, store), chosen, prefixes=SD_PREFIXES
        )
        response = Response(body, content_type=chosen.content_type)
    response.vary.add("Accept")
    return response


def _query_form(endpoint: str) -> str:
    """A plain HTML form for people: no script, no style, so the strictest CSP holds."""
    options = "".join(
        f'<option value="{escape(f.name)}">{escape(f.label)}</option>' for f in ALL_FORMATS
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>eusdp SPARQL endpoint</title>
</head>
<body>
<h1>eusdp SPARQL endpoint</h1>
<p>Query the knowledge graph of the EU's Security and Defence Partnerships at
<code>{escape(endpoint)}</code> (SPARQL 1.1 Protocol, read-only).</p>
<form method="get" action="{escape(endpoint)}">
<p><label for="query">Query</label><br>
<textarea id="query" name="query" rows="16" cols="90" required>SELECT ?s ?p ?o
WHERE {{ ?s ?p ?o }}
LIMIT 25</textarea></p>
<p><label for="format">Format</label>
<select id="format" name="format"><option value="">(negotiated)</option>{options}</select>
<label for="infer">Inferred triples</label>
<select id="infer" name="infer"><option value="true">included</option>
<option value="false">asserted only</option></select></p>
<p><button type="submit">Run query</button></p>
</form>
</body>
</html>
"""
