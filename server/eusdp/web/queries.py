"""``/queries``: the canned queries, their texts, their answers, and ``/openapi.json``.

- ``GET /queries`` lists them: JSON for programs (the default), an HTML page with
  a form per query for people who ask for ``text/html``;
- ``GET /queries/<name>.rq`` is the query file itself (``application/sparql-query``),
  so YASGUI or grlc can load it;
- ``GET /queries/<name>?param=...`` runs one, with the negotiation, ``format=``,
  ``infer=false`` and truncation headers of ``/sparql`` (POST too, for queries
  whose ``method`` decorator says POST);
- ``GET /openapi.json`` describes all of it (see :mod:`eusdp.openapi`).

The catalog is loaded once per app, when the blueprint is registered, so a
broken query file stops the server at start (with its file and line) rather
than failing the first person who asks for it. Request values are checked and
bound as RDF terms by :meth:`CannedQuery.bind`; nothing is pasted into a query.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import parse_options_header

from .. import catalog as canned
from ..catalog import CannedQuery, Catalog, CatalogError, load_catalog
from ..errors import BadParameter, QueryTooLarge, UnknownQuery, UnsupportedMediaType
from ..formats import HTML
from ..openapi import (
    JSON_MEDIA_TYPE,
    LISTING_FORMATS,
    RESERVED_PARAMETERS,
    SPARQL_QUERY,
    formats_for,
    openapi_document,
)
from ..querying import QueryJob, bindings_tuple, declared_prefixes
from ..terms import OxTerm
from . import current_settings, state
from .answers import answer, deadline_param
from .protocol import (
    FORM,
    ProtocolRequest,
    body_limit,
    check_charset,
    choose_format,
    decode_utf8,
    flag,
    parse_pairs,
)

log = logging.getLogger("eusdp.queries")
bp = Blueprint("queries", __name__)

_CATALOG = "eusdp.catalog"
T = TypeVar("T")


@bp.record_once
def _load(setup: BlueprintSetupState) -> None:
    """Load and check the catalog as the app is built: once per app, never per request."""
    app = setup.app
    assert isinstance(app, Flask)
    with app.app_context():
        queries_dir = current_settings().queries_dir
    catalog = load_catalog(queries_dir)
    for query in catalog:
        for param in query.params:
            if param.name in RESERVED_PARAMETERS:
                raise CatalogError(
                    query.path,
                    f"parameter {param.name} cannot be set over HTTP: "
                    f"{' and '.join(RESERVED_PARAMETERS)} are reserved for every query",
                )
    app.extensions[_CATALOG] = catalog


def current_catalog() -> Catalog:
    """The current app's catalog (inside a request or app context)."""
    value = current_app.extensions[_CATALOG]
    assert isinstance(value, Catalog)
    return value


def _get(name: str) -> CannedQuery:
    try:
        return current_catalog().get(name)
    except canned.UnknownQuery as exc:
        raise UnknownQuery(str(exc), query=exc.name, suggestions=list(exc.suggestions)) from None


# --- the listing -----------------------------------------------------------------------


def query_entry(query: CannedQuery, url: str, text_url: str) -> dict[str, Any]:
    """What the listing says about one query: what it is, what it takes, where it runs."""
    return {
        "name": query.name,
        "summary": query.summary,
        "description": query.description,
        "tags": list(query.tags),
        "method": query.method,
        "query_type": query.query_type,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "default": p.default,
                "enum": list(p.enum),
                "required": p.required,
            }
            for p in query.params
        ],
        "formats": [f.name for f in formats_for(query.query_type)],
        "url": url,
        "text_url": text_url,
    }


@bp.get("/queries")
def listing() -> Response:
    """JSON unless the client prefers HTML (a browser does); ``format=`` decides first."""
    params = parse_pairs(decode_utf8(request.query_string, "the URL query string"), "the URL")
    req = ProtocolRequest("service", "", params)
    chosen = _reserved("format", lambda: choose_format(req, LISTING_FORMATS))
    catalog = current_catalog()
    if chosen is HTML:
        page = listing_page(catalog, _run_url, _text_url)
        response = Response(page, content_type=HTML.content_type)
    else:
        entries = [
            query_entry(q, _run_url(q, external=True), _text_url(q, external=True)) for q in catalog
        ]
        body = json.dumps({"queries": entries}, ensure_ascii=False, indent=2) + "\n"
        response = Response(body, content_type=JSON_MEDIA_TYPE)
    response.vary.add("Accept")
    return response


def _run_url(query: CannedQuery, external: bool = False) -> str:
    return url_for("queries.run", name=query.name, _external=external)


def _text_url(query: CannedQuery, external: bool = False) -> str:
    return url_for("queries.text", name=query.name, _external=external)


# --- one query -------------------------------------------------------------------------


@bp.get("/queries/<name>.rq")
def text(name: str) -> Response:
    """The file as it is: its decorators are comments, so it runs unchanged elsewhere."""
    query = _get(name)
    response = Response(query.text, content_type=f"{SPARQL_QUERY}; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{query.name}.rq"'
    return response


@bp.route("/queries/<name>", methods=["GET", "POST"])
def run(name: str) -> Response:
    """Check every parameter and the format before anything runs, then run and write."""
    query = _get(name)
    if request.method == "POST" and query.method != "POST":
        raise MethodNotAllowed(valid_methods=["GET", "HEAD", "OPTIONS"])
    job, deadline = _job(query, _request_params())
    return answer(job, deadline)


def _job(query: CannedQuery, params: dict[str, list[str]]) -> tuple[QueryJob, float | None]:
    """The job a request with these parameters asks for (its cache key), and its deadline."""
    req = ProtocolRequest("query", query.text, params)
    bindings = _bind(query, req.params)
    infer = _reserved("infer", lambda: flag(req.value("infer"), "infer", True))
    chosen = _reserved("format", lambda: choose_format(req, formats_for(query.query_type)))
    deadline = _reserved("timeout", lambda: deadline_param(req))
    job = QueryJob(
        query.text,
        chosen.name,
        infer=infer,
        bindings=bindings_tuple(bindings),
        max_rows=current_settings().max_rows,
        prefixes=declared_prefixes(query.text) if chosen.rdf is not None else (),
    )
    return job, deadline


def prime(app: Flask, budget: float) -> list[str]:
    """Answer each canned query as a plain ``GET /queries/<name>`` would, into the cache.

    Run once by the server before its processes fork, so that each inherits the answers:
    the first client of a showcase query never waits for its evaluation (at a million
    triples, seconds). Queries are taken in catalogue order until ``budget`` seconds
    are spent; one that needs a parameter, fails or overruns is left to its first
    request, and one that calls a SERVICE is never cached, so never asked here. One
    that is provably cheap (:mod:`eusdp.cost`) is only evaluated: the answer cache does
    not keep those, and its first request costs little anyway. The
    query workers used are stopped after, so none outlives the fork.
    Returns the names primed.
    """
    primed: list[str] = []
    stop = time.monotonic() + budget
    with app.test_request_context():
        service = state().queries
        try:
            for query in current_catalog():
                left = stop - time.monotonic()
                if left <= 0:
                    break
                try:
                    job, _ = _job(query, {})
                    if not service.cacheable(job):  # SERVICE: never cached, never called here
                        continue
                    service.run(job, left, keep=True)
                except Exception as exc:  # any failure leaves it to its first request
                    log.info("not primed: %s (%s)", query.name, exc)
                    continue
                primed.append(query.name)
        finally:
            service.close()
    return primed


def _request_params() -> dict[str, list[str]]:
    """The URL's parameters, plus a form body on POST; strictly UTF-8, as on /sparql."""
    params = parse_pairs(decode_utf8(request.query_string, "the URL query string"), "the URL")
    if request.method != "POST":
        return params
    limit = body_limit(current_settings().max_query_bytes)
    if request.content_length is not None and request.content_length > limit:
        raise QueryTooLarge(
            f"the request body is {request.content_length} bytes; at most {limit} are read",
            limit=limit,
        )
    request.max_content_length = limit
    body = request.get_data(cache=False)
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype.lower() == FORM:
        check_charset(options, FORM)
        form = parse_pairs(decode_utf8(body, "the form body"), "the form body")
        return {k: params.get(k, []) + form.get(k, []) for k in {**params, **form}}
    if body:
        raise UnsupportedMediaType(
            f"a POST to a canned query carries its parameters as {FORM}",
            accepted=[FORM],
        )
    return params


def _bind(query: CannedQuery, params: Mapping[str, Sequence[str]]) -> dict[str, OxTerm]:
    """The query's own parameters as RDF terms; a 400 naming the parameter if one is wrong."""
    raw: dict[str, str] = {}
    for key, values in params.items():
        if key in RESERVED_PARAMETERS:
            continue
        if len(values) > 1:
            raise BadParameter(
                f"parameter {key!r} given {len(values)} times; give it once", parameter=key
            )
        raw[key] = values[0]
    try:
        return query.bind(raw)
    except canned.BadParameter as exc:
        raise BadParameter(str(exc), parameter=exc.name) from None


def _reserved(name: str, read: Callable[[], T]) -> T:
    """Read ``format`` or ``infer`` with /sparql's rules, naming the parameter on a 400."""
    try:
        return read()
    except BadParameter as exc:
        raise BadParameter(exc.description or "", parameter=name) from None


# --- /openapi.json ---------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    """Generated from the catalog on each request: cheap, and the server URL is the caller's."""
    document = openapi_document(current_catalog(), server_url=request.url_root.rstrip("/"))
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return Response(body, content_type=JSON_MEDIA_TYPE)


# --- the HTML page ---------------------------------------------------------------------

_INPUT_TYPES = {"iri": "url", "date": "date", "integer": "number"}


def listing_page(
    catalog: Catalog,
    run_url: Callable[[CannedQuery], str],
    text_url: Callable[[CannedQuery], str],
) -> str:
    """The catalog for people: a table, then a form per query. No script, no style (strict CSP)."""
    rows = "\n".join(
        "<tr>"
        f'<td><a href="#{escape(q.name)}">{escape(q.name)}</a></td>'
        f"<td>{escape(q.summary)}</td>"
        f"<td>{escape(q.query_type.upper())}</td>"
        f"<td>{escape(', '.join(p.name for p in q.params))}</td>"
        f"<td>{escape(', '.join(q.tags))}</td>"
        f'<td><a href="{escape(run_url(q))}">run</a> '
        f'<a href="{escape(text_url(q))}">{escape(q.name)}.rq</a></td>'
        "</tr>"
        for q in catalog
    )
    sections = "\n".join(_query_section(q, run_url(q), text_url(q)) for q in catalog)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>eusdp canned queries</title>
</head>
<body>
<h1>eusdp canned queries</h1>
<p>{len(catalog)} ready-made SPARQL queries over the knowledge graph of the EU's Security and
Defence Partnerships. Each runs at its own URL; its text runs unchanged at the
<a href="{escape(url_for("sparql.endpoint"))}">SPARQL endpoint</a>.
Described for programs in <a href="{escape(url_for("queries.openapi"))}">OpenAPI</a>.</p>
<table>
<thead><tr><th>Query</th><th>Summary</th><th>Answer</th><th>Parameters</th><th>Tags</th>
<th>Links</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{sections}
</body>
</html>
"""


def _query_section(query: CannedQuery, run_url: str, text_url: str) -> str:
    fields = "\n".join(_field(query, p) for p in query.params)
    formats = "".join(
        f'<option value="{escape(f.name)}">{escape(f.label)}</option>'
        for f in formats_for(query.query_type)
    )
    n = escape(query.name)
    return f"""<section id="{n}">
<h2>{n}</h2>
<p>{escape(query.summary)}</p>
<p>{escape(query.description)}</p>
<p><a href="{escape(text_url)}">Query text</a></p>
<form method="{escape(query.method.lower())}" action="{escape(run_url)}">
{fields}
<p><label for="{n}--format">Format</label>
<select id="{n}--format" name="format"><option value="">(negotiated)</option>{formats}</select>
<label for="{n}--infer">Inferred triples</label>
<select id="{n}--infer" name="infer"><option value="true">included</option>
<option value="false">asserted only</option></select></p>
<p><button type="submit">Run {n}</button></p>
</form>
</section>"""


def _field(query: CannedQuery, param: canned.Parameter) -> str:
    """One parameter's input: a list for an enumeration, else a typed text box."""
    ident = escape(f"{query.name}--{param.name}")
    name = escape(param.name)
    required = " required" if param.required and param.default is None else ""
    if param.enum:
        options = "".join(
            f'<option value="{escape(v)}"{" selected" if v == param.default else ""}>'
            f"{escape(v)}</option>"
            for v in param.enum
        )
        control = f'<select id="{ident}" name="{name}"{required}>{options}</select>'
    else:
        kind = _INPUT_TYPES.get(param.type, "text")
        value = f' value="{escape(param.default)}"' if param.default is not None else ""
        control = f'<input id="{ident}" name="{name}" type="{kind}" size="60"{value}{required}>'
    note = f" {escape(param.description)}" if param.description else ""
    return f'<p><label for="{ident}">{name}</label> ({escape(param.type)}) {control}{note}</p>'
