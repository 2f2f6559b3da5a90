"""The graph as a file: asserted, inferred or both, in the common RDF syntaxes.

Triple syntaxes (Turtle, JSON-LD, N-Triples, RDF/XML) get one merged graph;
quad syntaxes (TriG, N-Quads) keep the named graphs, so a reader can still
tell each source file's triples and the reasoner's apart. JSON-LD is compacted
with the project's published context (``ontology/context.jsonld``), handed to
the serialiser as a dict so that nothing is ever fetched. Line-based syntaxes
are sorted, so two exports of the same data differ only where the data does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import XSD, Graph
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from .config import Settings
from .resources import resource_root
from .store import Store

What = Literal["all", "asserted", "inferred"]
WHATS: tuple[What, ...] = ("all", "asserted", "inferred")

#: Our format names -> rdflib's (triples) and Oxigraph's (quads: rdflib's writers warn).
TRIPLE_FORMATS = {"turtle": "turtle", "jsonld": "json-ld", "ntriples": "nt", "rdfxml": "xml"}
QUAD_FORMATS = {"trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}
FORMATS = (*TRIPLE_FORMATS, *QUAD_FORMATS)
_SORTED = {"ntriples", "nquads"}

CONTEXT_FILE = "context.jsonld"


class ExportError(ValueError):
    """An export that cannot be made: an unknown format or selection, or unserialisable data."""


def jsonld_context(settings: Settings) -> dict[str, Any]:
    """The project's JSON-LD ``@context`` (its own prefixes), as a dict.

    Read from the configured ontology folder, else from the packaged one, so a
    test ontology without a context still exports with the published prefixes.
    """
    for folder in (settings.ontology_dir, resource_root() / "ontology"):
        path = folder / CONTEXT_FILE
        if path.is_file():
            document = json.loads(path.read_text(encoding="utf-8"))
            context = document.get("@context") if isinstance(document, dict) else None
            if not isinstance(context, dict):
                raise ExportError(f"{path}: no @context object")
            return context
    raise ExportError(f"no {CONTEXT_FILE} in {settings.ontology_dir}")


def prefixes(context: dict[str, Any]) -> dict[str, str]:
    """The prefix -> namespace entries of a context (terms whose value is an IRI string)."""
    return {k: v for k, v in context.items() if isinstance(v, str) and not k.startswith("@")}


def export(
    store: Store,
    what: What = "all",
    fmt: str = "turtle",
    context: dict[str, Any] | None = None,
) -> bytes:
    """Serialise the project graph: ``what`` picks the triples, ``fmt`` the syntax."""
    if what not in WHATS:
        raise ExportError(f"unknown selection {what!r}; choose one of {', '.join(WHATS)}")
    if context is None:
        context = jsonld_context(store.settings)
    if fmt == "ntriples":  # straight from Oxigraph: no rdflib copy of a large graph
        triples = (quad.triple for quad in _quads(store, what))
        return _sorted(fmt, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")
    if fmt in QUAD_FORMATS:
        names = prefixes(context)
        data = ox.serialize(_quads(store, what), format=QUAD_FORMATS[fmt], prefixes=names)
        return _sorted(fmt, data or b"")
    if fmt in TRIPLE_FORMATS:
        return serialize(_graph(store, what, context), fmt, context)
    raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def serialize(graph: Graph, fmt: str, context: dict[str, Any]) -> bytes:
    """Serialise a graph in one of the :data:`TRIPLE_FORMATS` (rdflib writes them best)."""
    name = TRIPLE_FORMATS.get(fmt)
    if name is None:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(TRIPLE_FORMATS)}")
    options: dict[str, Any] = {}
    if fmt == "jsonld":
        options = {"context": context, "auto_compact": True}
    try:
        data: bytes = graph.serialize(format=name, encoding="utf-8", **options)
    except Exception as exc:  # e.g. RDF/XML cannot write a predicate it cannot split
        raise ExportError(f"cannot write {fmt}: {exc}") from None
    return _sorted(fmt, data)


def _sorted(fmt: str, data: bytes) -> bytes:
    """Line-based syntaxes in sorted order, so that exports diff well."""
    if fmt not in _SORTED:
        return data
    # A set: a triple that two source files state is one triple of the union.
    lines = sorted({line for line in data.split(b"\n") if line.strip()})
    return b"\n".join(lines) + b"\n" if lines else b""


def new_graph(context: dict[str, Any]) -> Graph:
    """An empty graph that knows the project's prefixes and no others."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in prefixes(context).items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def _graph(store: Store, what: What, context: dict[str, Any]) -> Graph:
    source = store.inferred if what == "inferred" else store.union(infer=what == "all")
    graph = new_graph(context)
    graph.addN((s, p, _plain(o), graph) for s, p, o in source)
    return graph


def _graph_iris(store: Store, what: What) -> list[str]:
    """The named graphs a selection reads: each source file's, the inferred one, or both."""
    iris: list[str] = []
    if what != "inferred":
        iris += [str(s.graph) for s in store.sources if s.role != "extra"]
    if what != "asserted":
        iris.append(str(store.inferred_iri))
    return iris


def _quads(store: Store, what: What) -> Iterator[ox.Quad]:
    """Each source file's graph and the inferred graph, read from Oxigraph (which writes
    them fast; an xsd:string literal is already the plain literal there)."""
    return store.quads_of(_graph_iris(store, what))


def _plain(term: Node) -> Node:
    """``"x"^^xsd:string`` as ``"x"``: the same literal in RDF 1.1, but rdflib tells them
    apart and JSON-LD cannot keep the difference; without this it would not round-trip."""
    if isinstance(term, RdfLiteral) and term.datatype == XSD.string:
        return RdfLiteral(str(term))
    return term

