"""The graph as documents: ``/data`` (dumps and the Graph Store Protocol, read side),
``/graphs``, ``/context.jsonld`` and the VoID description (``/.well-known/void``, ``/void``).

``/data`` parameters (the rules themselves live in :func:`eusdp.graphstore.select`):
- none: the whole dataset, asserted + inferred; ``infer=false`` (or ``what=asserted``)
  for the asserted triples only, ``what=inferred`` for the reasoner's alone;
- ``default``: the default graph, the union a query sees (asserted + inferred, or
  asserted only with ``infer=false``); ``graph=IRI``: one named graph, as stored;
- ``format=`` a short name (ttl, jsonld, nt, rdf, trig, nq) or media type, else ``Accept``;
  Turtle by default, a 406 problem listing the offered types when nothing fits;
- ``download=false``: ``Content-Disposition: inline`` instead of ``attachment``, so a
  browser shows the text; the file name is sent either way (Save As still gets one).

Every representation carries a strong ETag (store version + selection + format)
and answers ``If-None-Match`` with 304. Writes (PUT, POST, DELETE, PATCH) get a
405 problem with ``Allow``: the store is read-only by construction.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from flask import Blueprint, Response, request, url_for
from werkzeug.wsgi import wrap_file

from ..describe import describe
from ..errors import ReadOnlyGraphStore
from ..export import jsonld_context
from ..formats import GRAPH_FORMATS, Format
from ..graphstore import cached, etag, graph_listing, render, select, write_graph
from . import current_store
from .fastpath import mark_cacheable
from .protocol import ProtocolRequest, choose_format, flag

bp = Blueprint("data", __name__)

READ_METHODS = ["GET", "HEAD", "OPTIONS"]
WRITE_METHODS = ["PUT", "POST", "DELETE", "PATCH"]
#: Dumps and descriptions change only with a new build: let caches keep them a while.
DATA_CACHE_CONTROL = "public, max-age=300"
#: The context is published for JSON-LD processors, which fetch it often: a day.
CONTEXT_CACHE_CONTROL = "public, max-age=86400"
#: Media types of the two JSON documents; ``Format`` only for its ``content_type``.
JSON = Format("json", "application/json", "JSON")
JSONLD_CONTEXT = Format("jsonld", "application/ld+json", "JSON-LD context")


def _params() -> ProtocolRequest:
    """The URL parameters, read with the SPARQL endpoint's rules (a repeated value is a 400)."""
    return ProtocolRequest("service", "", request.args.to_dict(flat=False))


#: Bytes read from a dump file per chunk sent.
FILE_CHUNK = 1024 * 1024


def _open(body: Callable[[], bytes | Path]) -> bytes | BinaryIO:
    """The body, or its file opened. Another server on the same cache folder may prune
    the file between ``body()`` and the opening (``inference.prune_unused``, after a
    day unserved); ``body()`` then writes it anew, and a fresh file is not pruned."""
    data = body()
    if isinstance(data, bytes):
        return data
    try:
        return data.open("rb")
    except FileNotFoundError:
        data = body()
        return data if isinstance(data, bytes) else data.open("rb")


def _conditional(
    body: Callable[[], bytes | Path], tag: str, fmt: Format, cache_control: str, vary: bool = True
) -> Response:
    """A response with validators; 304 without writing anything when the client has it.

    A body kept in a file (a large dump) is streamed from it, never read whole, and is
    left out of the response cache.
    """
    response = Response(content_type=fmt.content_type)
    response.set_etag(tag)
    response.headers["Cache-Control"] = cache_control
    if vary:
        response.vary.add("Accept")
    if request.if_none_match.contains_weak(tag):  # RFC 9110 §13.1.2: weak comparison
        response.status_code = 304  # werkzeug drops the entity headers when sending it
        return response
    data = _open(body)
    if not isinstance(data, bytes):  # written whole and renamed into place: it never changes
        response.content_length = os.fstat(data.fileno()).st_size
        if request.method == "HEAD":  # a HEAD response's body is dropped, never closed
            data.close()
        else:
            response.response = wrap_file(request.environ, data, FILE_CHUNK)
            response.direct_passthrough = True
        return response
    response.set_data(data)
    mark_cacheable(request.environ)  # a function of the URL, Accept, Host and the graph
    return response


@bp.route("/data", methods=[*READ_METHODS, *WRITE_METHODS], provide_automatic_options=False)
def data() -> Response:
    """Dumps and the Graph Store Protocol's GET (§5.2), on one route as Fuseki's ``/data``."""
    if request.method in WRITE_METHODS:
        raise ReadOnlyGraphStore(
            f"{request.method} is a Graph Store write; this store is read-only "
            "(it serves the project's files and changes only with a new build)",
            allowed=READ_METHODS,
        )
    if request.method == "OPTIONS":
        response = Response(status=204, headers={"Allow": ", ".join(READ_METHODS)})
        del response.headers["Content-Type"]  # no body, so no type
        return response
    store = current_store()
    params = _params()
    infer = params.value("infer")
    selection = select(
        store,
        default="default" in params.params,
        graph=params.value("graph"),
        what=params.value("what"),
        infer=None if infer is None else flag(infer, "infer", True),
    )
    chosen = choose_format(params, GRAPH_FORMATS)
    download = flag(params.value("download"), "download", True)
    response = _conditional(
        lambda: render(store, selection, chosen.name),
        etag(store, "data", selection, chosen.name),
        chosen,
        DATA_CACHE_CONTROL,
    )
    disposition = "attachment" if download else "inline"
    filename = f"{selection.stem(store.settings.base_iri)}.{chosen.name}"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Link"] = f'<{url_for("data.void")}>; rel="describedby"'
    return response


@bp.get("/graphs")
def graphs() -> Response:
    """The store's graphs as JSON: IRI, role, triples, source file name, and a ``/data`` link."""
    store = current_store()
    listing = graph_listing(store)
    for entry in listing:
        entry["data"] = url_for("data.data", graph=entry["iri"])
    body = json.dumps(listing, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    return _conditional(lambda: body, etag(store, "graphs"), JSON, DATA_CACHE_CONTROL, vary=False)


@bp.get("/context.jsonld")
def context() -> Response:
    """The project's JSON-LD context, for clients that compact or expand our JSON-LD.

    Its tag is a hash of its bytes (they come from a file, not from the store).
    CORS comes from the app-wide policy: JSON-LD processors in browsers fetch it.
    """
    document = {"@context": jsonld_context(current_store().settings)}
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    tag = hashlib.blake2b(body, digest_size=12).hexdigest()
    return _conditional(lambda: body, tag, JSONLD_CONTEXT, CONTEXT_CACHE_CONTROL, vary=False)


@bp.get("/void")
@bp.get("/.well-known/void")  # registered first, so url_for builds this one
def void() -> Response:
    """The VoID + DCAT description, with this server's URL as the root of its links.

    ``/.well-known/void`` is where RFC 5785 and the VoID guide say to look;
    ``/void`` is the same document under a name people type.
    """
    store = current_store()
    root = request.url_root.rstrip("/")
    chosen = choose_format(_params(), GRAPH_FORMATS)

    def write() -> bytes:
        context = jsonld_context(store.settings)
        return cached(
            store,
            ("void", root, chosen.name),
            lambda: write_graph(describe(store, root), chosen.name, context),
        )

    return _conditional(write, etag(store, "void", root, chosen.name), chosen, DATA_CACHE_CONTROL)
