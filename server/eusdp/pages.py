"""What a Linked Data page shows about one entity, free of HTML and Flask.

Each fact is marked asserted or inferred (with the file it comes from), objects
carry their labels, and incoming links are listed too, so a person can browse
the graph without writing SPARQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
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
        graph = store.named_graph(str(source.graph))
        if graph is not None and triple in graph:
            return str(source.graph)
    return None


def _value_label(union: Graph, value: Node) -> str:
    if isinstance(value, URIRef):
        return label_of(union, value)
    if isinstance(value, BNode):  # a qualified node (signature, interval): say what it is
        kind = union.value(value, RDF.type)
        return f"[{label_of(union, kind)}]" if kind is not None else "[anonymous node]"
    return str(value)


def _fact(store: Store, union: Graph, triple: tuple[Node, Node, Node], value: Node) -> Fact:
    inferred = triple in store.inferred
    return Fact(
        predicate=str(triple[1]),
        predicate_label=label_of(union, triple[1]),
        value=str(value),
        value_label=_value_label(union, value),
        is_iri=isinstance(value, URIRef),
        inferred=inferred,
        graph=None if inferred else _graph_of(store, triple),
        language=value.language if isinstance(value, Literal) else None,
        datatype=str(value.datatype) if isinstance(value, Literal) and value.datatype else None,
    )


def _without_super_property_copies(
    union: Graph, pairs: list[tuple[Node, Node]]
) -> list[tuple[Node, Node]]:
    """Drop a statement when the same value is stated with one of the property's
    sub-properties (``eusdp:wikidata`` makes ``skos:exactMatch``; show it once)."""
    by_value: dict[Node, set[Node]] = {}
    for p, v in pairs:
        by_value.setdefault(v, set()).add(p)
    kept = []
    for p, v in pairs:
        others = by_value[v] - {p}
        if any(_sub_property(union, q, p) for q in others):
            continue
        kept.append((p, v))
    return kept


def _sub_property(union: Graph, sub: Node, sup: Node) -> bool:
    """``sub`` is a sub-property of ``sup`` by a chain of subPropertyOf."""
    seen: set[Node] = set()
    todo = [sub]
    while todo:
        current = todo.pop()
        for parent in union.objects(current, RDFS.subPropertyOf):
            if parent == sup:
                return True
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return False


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
    outgoing = _without_super_property_copies(union, outgoing)
    incoming = [
        (s, p) for p, s in _without_super_property_copies(union, [(p, s) for s, p in incoming])
    ]
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
