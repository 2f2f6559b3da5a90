"""What a Linked Data page shows about one entity, free of HTML and Flask.

Each fact is marked asserted or inferred (with the file it comes from), objects
carry their labels, and incoming links are listed too, so a person can browse
the graph without writing SPARQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from .store import Store

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
SCHEMA = Namespace("https://schema.org/")
MAX_INCOMING = 300


@dataclass(frozen=True)
class Fact:
    """One statement on the page: the property, the value, and where it comes from."""

    predicate: str
    predicate_label: str
    value: str
    value_label: str
    is_iri: bool
    inferred: bool
    graph: str | None  # the named graph (file) of an asserted fact
    language: str | None = None
    datatype: str | None = None


@dataclass
class EntityPage:
    iri: str
    label: str
    description: str | None
    types: list[Fact] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    incoming: list[Fact] = field(default_factory=list)
    wikidata: str | None = None


def label_of(graph: Graph, node: Node) -> str:
    """The English label of a node, or a readable end of its IRI."""
    for prop in (RDFS.label, SKOS.prefLabel):
        labels = list(graph.objects(node, prop))
        english = [str(x) for x in labels if isinstance(x, Literal) and x.language == "en"]
        if english or labels:
            return (english or [str(x) for x in labels])[0]
    text = str(node)
    for sep in ("#", "/"):
        if sep in text.rstrip(sep):
            return text.rstrip(sep).rsplit(sep, 1)[1]
    return text


def _graph_of(store: Store, triple: tuple[Node, Node, Node]) -> str | None:
    for source in store.sources:
        if triple in store.dataset.graph(source.graph):
            return str(source.graph)
    return None


def _fact(store: Store, union: Graph, triple: tuple[Node, Node, Node], value: Node) -> Fact:
    inferred = triple in store.inferred
    return Fact(
        predicate=str(triple[1]),
        predicate_label=label_of(union, triple[1]),
        value=str(value),
        value_label=label_of(union, value) if isinstance(value, URIRef) else str(value),
        is_iri=isinstance(value, URIRef),
        inferred=inferred,
        graph=None if inferred else _graph_of(store, triple),
        language=value.language if isinstance(value, Literal) else None,
        datatype=str(value.datatype) if isinstance(value, Literal) and value.datatype else None,
    )


def entity_page(store: Store, iri: str) -> EntityPage | None:
    """Everything the graph says about ``iri`` and points at it; ``None`` if it knows nothing."""
    union = store.union(infer=True)
    node = URIRef(iri)
    outgoing = sorted(union.predicate_objects(node), key=lambda po: (str(po[0]), str(po[1])))
    incoming = sorted(union.subject_predicates(node), key=lambda sp: (str(sp[1]), str(sp[0])))
    if not outgoing and not incoming:
        return None
    description = union.value(node, SCHEMA.description) or union.value(node, SKOS.definition)
    page = EntityPage(
        iri=iri,
        label=label_of(union, node),
        description=str(description) if description is not None else None,
    )
    for p, o in outgoing:
        fact = _fact(store, union, (node, p, o), o)
        if p == RDF.type:
            page.types.append(fact)
        else:
            page.facts.append(fact)
        if p == EUSDP.wikidata:
            page.wikidata = str(o)
    # A source document is cited by hundreds of statements: show a page's worth.
    for s, p in incoming[:MAX_INCOMING]:
        page.incoming.append(_fact(store, union, (s, p, node), s))
    return page
