"""A syntactic check that an ontology stays inside OWL 2 RL, as owlrl implements it.

OWL 2 RL restricts where each class construct may stand (OWL 2 Profiles, section
4.2): an existential restriction may define a subclass but not a superclass, a
union may stand on the left of subClassOf but not on the right, and so on. A
construct outside those places is silently ignored by owlrl, which is worse than
an error: the ontology would promise entailments that never happen. This module
finds such constructs so that a test can forbid them.
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal
from rdflib.collection import Collection
from rdflib.term import Node

#: Constructs that are not in OWL 2 RL at all.
FORBIDDEN_TERMS = {
    OWL.ReflexiveProperty: "reflexive properties are not in OWL 2 RL",
    OWL.disjointUnionOf: "owl:disjointUnionOf is not in OWL 2 RL",
    OWL.hasSelf: "owl:hasSelf is not in OWL 2 RL",
    OWL.minCardinality: "minimum cardinality is not in OWL 2 RL",
    OWL.cardinality: "exact cardinality is not in OWL 2 RL",
    OWL.minQualifiedCardinality: "minimum cardinality is not in OWL 2 RL",
    OWL.qualifiedCardinality: "exact cardinality is not in OWL 2 RL",
}


def _members(graph: Graph, node: Node, key: Node) -> list[Node]:
    head = graph.value(node, key)
    return list(Collection(graph, head)) if head is not None else []




def _kind(graph: Graph, expr: Node) -> str:
    """The construct an anonymous class expression uses."""
    if not isinstance(expr, BNode):
        return "class"
    for key, name in (
        (OWL.intersectionOf, "intersection"),
        (OWL.unionOf, "union"),
        (OWL.complementOf, "complement"),
        (OWL.oneOf, "oneOf"),
        (OWL.someValuesFrom, "someValuesFrom"),
        (OWL.allValuesFrom, "allValuesFrom"),
        (OWL.hasValue, "hasValue"),
        (OWL.maxCardinality, "maxCardinality"),
        (OWL.maxQualifiedCardinality, "maxCardinality"),
        (OWL.minCardinality, "minCardinality"),
        (OWL.cardinality, "cardinality"),
        (OWL.minQualifiedCardinality, "minCardinality"),
        (OWL.qualifiedCardinality, "cardinality"),
        (OWL.hasSelf, "hasSelf"),
    ):
        if (expr, key, None) in graph:
            return name
    return "unknown"


def _check_sub(graph: Graph, expr: Node, where: str) -> Iterator[str]:
    """Subclass expressions: class, intersection/union of them, oneOf, some/hasValue."""
    kind = _kind(graph, expr)
    if kind in {"class", "oneOf", "hasValue"}:
        return
    if kind in {"intersection", "union"}:
        key = OWL.intersectionOf if kind == "intersection" else OWL.unionOf
        for member in _members(graph, expr, key):
            yield from _check_sub(graph, member, where)
    elif kind == "someValuesFrom":
        filler = graph.value(expr, OWL.someValuesFrom)
        if filler is not None and filler != OWL.Thing:
            yield from _check_sub(graph, filler, where)
    else:
        yield f"{where}: {kind} cannot define a subclass in OWL 2 RL"


def _check_super(graph: Graph, expr: Node, where: str) -> Iterator[str]:
    """Superclass expressions: class, intersection, complement, allValuesFrom, hasValue, max 0/1."""
    kind = _kind(graph, expr)
    if kind in {"class", "hasValue"}:
        return
    if kind == "intersection":
        for member in _members(graph, expr, OWL.intersectionOf):
            yield from _check_super(graph, member, where)
    elif kind == "complement":
        inner = graph.value(expr, OWL.complementOf)
        if inner is not None:
            yield from _check_sub(graph, inner, where)
    elif kind == "allValuesFrom":
        filler = graph.value(expr, OWL.allValuesFrom)
        if filler is not None:
            yield from _check_super(graph, filler, where)
    elif kind == "maxCardinality":
        value = graph.value(expr, OWL.maxCardinality) or graph.value(
            expr, OWL.maxQualifiedCardinality
        )
        if not (isinstance(value, Literal) and str(value) in {"0", "1"}):
            yield f"{where}: only maximum cardinality 0 or 1 is in OWL 2 RL"
    else:
        yield f"{where}: {kind} cannot stand as a superclass in OWL 2 RL"


def _check_equivalent(graph: Graph, expr: Node, where: str) -> Iterator[str]:
    """Equivalent-class expressions: class, intersection of them, hasValue."""
    kind = _kind(graph, expr)
    if kind in {"class", "hasValue"}:
        return
    if kind == "intersection":
        for member in _members(graph, expr, OWL.intersectionOf):
            yield from _check_equivalent(graph, member, where)
    else:
        yield f"{where}: {kind} cannot stand in an equivalent-class axiom in OWL 2 RL"


def _name(graph: Graph, node: Node) -> str:
    return node.n3(graph.namespace_manager) if not isinstance(node, BNode) else "[anonymous class]"


def rl_violations(graph: Graph) -> list[str]:
    """Every place where ``graph`` leaves OWL 2 RL; empty if it stays inside."""
    problems: list[str] = []
    for term, why in FORBIDDEN_TERMS.items():
        if (None, term, None) in graph or (None, RDF.type, term) in graph:
            problems.append(why)
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        where = f"{_name(graph, sub)} rdfs:subClassOf {_name(graph, sup)}"
        problems += _check_sub(graph, sub, where)
        problems += _check_super(graph, sup, where)
    for left, right in graph.subject_objects(OWL.equivalentClass):
        where = f"{_name(graph, left)} owl:equivalentClass {_name(graph, right)}"
        problems += _check_equivalent(graph, left, where)
        problems += _check_equivalent(graph, right, where)
    for prop in (RDFS.domain, RDFS.range):
        for subject, cls in graph.subject_objects(prop):
            problems += _check_super(graph, cls, f"{_name(graph, subject)} {graph.qname(prop)}")
    for left, right in graph.subject_objects(OWL.disjointWith):
        where = f"{_name(graph, left)} owl:disjointWith {_name(graph, right)}"
        problems += _check_sub(graph, left, where)
        problems += _check_sub(graph, right, where)
    return sorted(set(problems))
