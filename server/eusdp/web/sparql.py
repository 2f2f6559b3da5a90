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
from collections.abc import Iterator
from html import escape

import pyoxigraph as ox
from flask import Blueprint, Response, request

from ..errors import (
    BadParameter,
    ProblemError,
    QueryTooComplex,
    UpdateNotAllowed,
    UpdateSyntaxError,
)
from ..formats import (
    ALL_FORMATS,
    GRAPH_FORMATS,
    HTML,
    JSON,
    serialize_triples,
)
from ..querying import FORMS, QueryJob, declared_prefixes, query_form
from ..sparqlparse import UpdateSyntax, parse_update
from ..store import Store
from . import current_settings, current_store
from .answers import answer, deadline_param
from .negotiation import choose
from .protocol import (
    Params,
    ProtocolRequest,
    choose_format,
    flag,
    read_body,
    read_protocol_request,
)

bp = Blueprint("sparql", __name__)

#: Deepest bracket nesting accepted; real queries stay far below, Oxigraph dies near 3000.
MAX_NESTING = 256

# --- looking at a query without running it --------------------------------------------

# Strings, IRIs and comments are skipped: brackets in them do not count.
_TOKENS = re.compile(
    r"""(?P<skip>"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|<[^<>"{}|^`\\\s]*>|\#[^\n]*)|(?P<open>[({\[])|(?P<close>[)}\]])""",
    re.DOTALL,
)


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of SPARQL text, read without parsing it."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        if match.group("open"):
            depth += 1
            deepest = max(deepest, depth)
        elif match.group("close"):
            depth = max(0, depth - 1)
    return deepest


def _check_nesting(text: str) -> None:
    if text.count("(") + text.count("{") + text.count("[") <= MAX_NESTING:
        return  # fewer brackets than the limit cannot nest deeper: no scan on the hot path
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise QueryTooComplex(
            f"brackets nest {depth} deep; this endpoint takes at most {MAX_NESTING}",
            depth=depth,
            limit=MAX_NESTING,
        )


def update_problem(text: str, params: Params) -> ProblemError:
    """The error to answer an update with. Parses with rdflib and never executes anything.

    A well-formed update is refused as read-only (403); a malformed one, or one
    whose USING/WITH clauses conflict with ``using-graph-uri`` /
    ``using-named-graph-uri`` (Protocol §2.2.3), is a bad request (400).
    """
    _check_nesting(text)
    try:
        parsed = parse_update(text)
    except UpdateSyntax as exc:
        return UpdateSyntaxError(
            f"Malformed update at line {exc.line}, column {exc.column}: {exc.message}",
            line=exc.line,
            column=exc.column,
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
        parsed = parse_update(text)
    except (UpdateSyntax, RecursionError):
        return False
    return "request" in parsed and bool(parsed["request"])


# --- the endpoint ---------------------------------------------------------------------


def _graph_iris(req: ProtocolRequest, name: str) -> list[str]:
    iris = list(req.values(name))
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as exc:
            raise BadParameter(f"{name} {iri!r} is not an absolute IRI: {exc}") from None
    return iris


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """The Protocol endpoint. The body is read only after its declared size is checked."""
    settings = current_settings()
    req = read_protocol_request(
        request.method,
        request.query_string,
        request.headers.get("Content-Type"),
        read_body(settings.max_query_bytes),
        max_query_bytes=settings.max_query_bytes,
    )
    if req.operation == "service":
        return _service_description(req, current_store())
    if req.operation == "update":
        raise update_problem(req.text, req.params)
    return _run_query(req)


def _run_query(req: ProtocolRequest) -> Response:
    return answer(
        query_job(
            req,
            accept=request.headers.get("Accept"),
            base_url=request.base_url,
            max_rows=current_settings().max_rows,
        ),
        deadline_param(req),
    )


def query_job(
    req: ProtocolRequest, *, accept: str | None, base_url: str, max_rows: int | None
) -> QueryJob:
    """Check a query request and say what to run, in which format. No Flask here: the
    ``/sparql`` lane (:mod:`eusdp.web.lane`) calls it outside any app context.

    Relative IRIs resolve against the endpoint's URL (the base the Protocol suggests), so
    ``<thing>`` means the same to every client."""
    infer = flag(req.value("infer"), "infer", True)
    default_graphs = _graph_iris(req, "default-graph-uri")
    named_graphs = _graph_iris(req, "named-graph-uri")
    _check_nesting(req.text)
    form = query_form(req.text)
    if form is None and _is_update(req.text):
        raise UpdateNotAllowed(
            "This SPARQL endpoint is read-only: the text is an update, not a query.",
            operation="update",
        )
    # An unreadable text still runs (with any format), so that the engine says what is wrong.
    chosen = choose(FORMS[form], requested=req.value("format"), accept=accept) if form else JSON
    return QueryJob(
        req.text,
        chosen.name,
        infer=infer,
        default_graph_uris=tuple(default_graphs),
        named_graph_uris=tuple(named_graphs),
        base_iri=base_url,
        max_rows=max_rows,
        prefixes=declared_prefixes(req.text) if chosen.rdf is not None else (),
    )


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
    chosen = choose_format(req, (*GRAPH_FORMATS, HTML))
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
