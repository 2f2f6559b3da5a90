"""Linked Data: every entity IRI of the graph resolves here, and so does the ontology.

``{base}id/...`` is served at ``/id/...`` (whatever the configured base), so the
IRIs in the data work as links on this host. Browsers get an HTML page with each
fact marked asserted (with its file) or inferred; RDF clients get the entity's
description (its statements, the blank nodes they lead to, and the statements
pointing at it) in Turtle, JSON-LD, N-Triples or RDF/XML by content negotiation.
Unknown IRIs get a 404: an HTML page for browsers, a problem document otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request, url_for
from rdflib import RDF, XSD, BNode, Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS
from werkzeug.exceptions import NotFound

from .. import __version__
from ..export import jsonld_context, new_graph, serialize
from ..formats import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, Format
from ..pages import entity_page, label_of
from ..store import Store
from . import current_settings, current_store
from .negotiation import choose

bp = Blueprint("pages", __name__)

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ONTOLOGY_IRI = "https://w3id.org/eusdp/ontology"
#: What an entity can be written in: HTML for people first, then RDF.
ENTITY_FORMATS: tuple[Format, ...] = (HTML, TURTLE, JSONLD, NTRIPLES, RDFXML)
RDF_FORMATS = ENTITY_FORMATS[1:]
_EXPORT_NAME = {TURTLE.name: "turtle", JSONLD.name: "jsonld", NTRIPLES.name: "ntriples",
                RDFXML.name: "rdfxml"}  # fmt: skip
#: Pages may load the project's own stylesheet; nothing else.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@bp.app_template_filter("local_href")
def local_href(iri: str) -> str:
    """Where an IRI is browsed: here for the graph's own IRIs, elsewhere as it is."""
    base = current_settings().base_iri
    if iri.startswith(f"{base}id/"):
        return "/id/" + quote(iri[len(base) + 3 :], safe="/")
    if iri.startswith(ONTOLOGY_IRI):
        return url_for("pages.ontology") + iri[len(ONTOLOGY_IRI) :]
    return iri


@bp.app_template_filter("graph_name")
def graph_name(iri: str) -> str:
    return iri.rsplit("/graph/", 1)[-1] + ".ttl"


@bp.app_template_filter("short_datatype")
def short_datatype(iri: str) -> str:
    return "xsd:" + iri[len(str(XSD)) :] if iri.startswith(str(XSD)) else iri


@bp.app_template_filter("qid")
def qid(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def _html(template: str, status: int = 200, **context: Any) -> Response:
    body = render_template(template, version=__version__, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Vary"] = "Accept"
    return response


def _rdf(graph: Graph, fmt: Format) -> Response:
    body = serialize(graph, _EXPORT_NAME[fmt.name], jsonld_context(current_settings()))
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response


def _format(offered: tuple[Format, ...]) -> Format:
    accept = request.headers.get("Accept")
    return choose(offered, requested=request.args.get("format"), accept=accept)


def describe_entity(store: Store, iri: URIRef, infer: bool) -> Graph:
    """The symmetric concise bounded description: statements from and to the entity,
    with the blank nodes (signatures, intervals) its statements lead to."""
    union = store.union(infer)
    out = new_graph(jsonld_context(store.settings))
    todo: list[Any] = [iri]
    seen: set[Any] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in union.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    for s, p in union.subject_predicates(iri):
        out.add((s, p, iri))
    return out


@bp.route("/")
def home() -> Response:
    store = current_store()
    union = store.union()
    rows = []
    for p in union.subjects(RDF.type, EUSDP.Partnership):
        partner = union.value(p, EUSDP.partner)
        rows.append(
            {
                "iri": str(p),
                "label": label_of(union, p),
                "date": str(union.value(p, EUSDP.signingDate) or ""),
                "partner": str(partner),
                "partner_label": label_of(union, partner) if partner is not None else "",
            }
        )
    rows.sort(key=lambda r: (r["date"], r["label"]))
    return _html("home.html", partnerships=rows, counts=store.counts())


@bp.route("/id/<path:rest>")
def entity(rest: str) -> Response:
    store = current_store()
    iri = f"{current_settings().base_iri}id/{rest}"
    fmt = _format(ENTITY_FORMATS)
    infer = request.args.get("infer", "true").lower() != "false"
    page = entity_page(store, iri)
    if page is None:
        if fmt is HTML:
            return _html("not_found.html", status=404, iri=iri)
        raise NotFound(f"the graph says nothing about <{iri}>")
    if fmt is HTML:
        return _html("entity.html", page=page, formats=RDF_FORMATS)
    return _rdf(describe_entity(store, URIRef(iri), infer), fmt)


@dataclass(frozen=True)
class Term:
    local: str
    label: str
    definition: str


def _terms(graph: Graph, kinds: Iterable[URIRef]) -> list[Term]:
    terms = {
        s
        for kind in kinds
        for s in graph.subjects(RDF.type, kind)
        if isinstance(s, URIRef) and str(s).startswith(str(EUSDP))
    }
    return sorted(
        (
            Term(
                local=str(t)[len(str(EUSDP)) :],
                label=label_of(graph, t),
                definition=str(graph.value(t, SKOS.definition) or ""),
            )
            for t in terms
        ),
        key=lambda t: t.local.lower(),
    )


@bp.route("/ontology")
def ontology() -> Response:
    store = current_store()
    graph = store.named_graph(f"{current_settings().base_iri}graph/ontology/eusdp")
    if graph is None:
        raise NotFound("the ontology graph is not loaded")
    fmt = _format(ENTITY_FORMATS)
    if fmt is not HTML:
        return _rdf(graph, fmt)
    onto = URIRef(ONTOLOGY_IRI)
    sections = [
        ("Classes", _terms(graph, [OWL.Class])),
        ("Object properties", _terms(graph, [OWL.ObjectProperty])),
        ("Datatype properties", _terms(graph, [OWL.DatatypeProperty])),
    ]
    return _html(
        "ontology.html",
        iri=ONTOLOGY_IRI,
        title=str(graph.value(onto, DCTERMS.title) or "eusdp ontology"),
        description=str(graph.value(onto, DCTERMS.description) or ""),
        version_info=str(graph.value(onto, OWL.versionInfo) or ""),
        sections=sections,
        formats=RDF_FORMATS,
    )


@bp.route("/graph/<path:rest>")
def graph_iri(rest: str) -> Response:
    """A named graph's IRI: see its triples in the Graph Store Protocol's terms."""
    iri = f"{current_settings().base_iri}graph/{rest}"
    if current_store().named_graph(iri) is None:
        raise NotFound(f"no graph <{iri}>")
    target = f"/data?graph={quote(iri, safe='')}"
    return Response(status=303, headers={"Location": target})

