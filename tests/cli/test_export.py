"""Exports round-trip: every syntax, parsed back, is the graph that was exported."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.term import Node

from eusdp.export import (
    FORMATS,
    QUAD_FORMATS,
    TRIPLE_FORMATS,
    WHATS,
    ExportError,
    export,
    jsonld_context,
)
from eusdp.store import Store
from eusdp.terms import to_rdflib

ROOT = Path(__file__).resolve().parents[2]
EUSDP = "https://w3id.org/eusdp/ontology#"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON-LD must never fetch a context: any attempt to connect fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the export tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _plain(o: Node) -> Node:
    """``"x"^^xsd:string`` is ``"x"`` in RDF 1.1; rdflib needs telling."""
    return Literal(str(o)) if isinstance(o, Literal) and o.datatype == XSD.string else o


def _expected(store: Store, what: str) -> Graph:
    source = store.inferred if what == "inferred" else store.union(infer=what == "all")
    graph = Graph()
    for s, p, o in source:
        graph.add((s, p, _plain(o)))
    return graph


def test_fixture_has_what_the_syntaxes_must_carry(cli_store: Store) -> None:
    union = cli_store.union()
    objects = [o for o in union.objects() if isinstance(o, Literal)]
    datatypes = {o.datatype for o in objects}
    wanted = {XSD.date, XSD.gYearMonth, XSD.boolean, XSD.integer, XSD.decimal, XSD.double}
    assert wanted <= datatypes
    assert {o.language for o in objects} >= {"en", "fr"}
    assert any(isinstance(s, BNode) for s in union.subjects())
    assert len(cli_store.inferred) > 0


# rdflib's JSON-LD parser uses ConjunctiveGraph inside, and says so.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("what", WHATS)
@pytest.mark.parametrize("fmt", TRIPLE_FORMATS)
def test_triple_formats_round_trip(cli_store: Store, fmt: str, what: str) -> None:
    data = export(cli_store, what=what, fmt=fmt)  # type: ignore[arg-type]
    parsed = Graph().parse(data=data, format=TRIPLE_FORMATS[fmt])
    expected = _expected(cli_store, what)
    assert len(parsed) == len(expected) > 0
    assert isomorphic(parsed, expected)


@pytest.mark.parametrize("what", WHATS)
@pytest.mark.parametrize("fmt", QUAD_FORMATS)
def test_quad_formats_round_trip_and_keep_the_graphs(cli_store: Store, fmt: str, what: str) -> None:
    data = export(cli_store, what=what, fmt=fmt)  # type: ignore[arg-type]
    parsed = _parse_quads(data, QUAD_FORMATS[fmt])
    expected: dict[URIRef, Graph] = {}
    if what != "inferred":
        for source in cli_store.sources:  # the files themselves, read apart from the store
            expected[source.graph] = _as_oxigraph_keeps(source.path)
    if what != "asserted":
        expected[cli_store.inferred_iri] = cli_store.inferred
    assert set(parsed) == set(expected)
    for iri, graph in expected.items():
        mine = Graph()
        for s, p, o in graph:
            mine.add((s, p, _plain(o)))
        assert isomorphic(parsed[iri], mine), iri


def _as_oxigraph_keeps(path: Path) -> Graph:
    """A Turtle file as an Oxigraph store holds it. Oxigraph keeps the value of a numeric
    or date literal, not its spelling ("12.50"^^xsd:decimal comes back as "12.5"), so this,
    not rdflib's reading, is what an export of the store can give back."""
    store = ox.Store()
    store.load(path=path, format=ox.RdfFormat.TURTLE)
    graph = Graph()
    for quad in store:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))  # type: ignore[arg-type]
    return graph


def test_literals_keep_their_value_in_oxigraphs_spelling(cli_store: Store) -> None:
    """The fixture says "12.50"^^xsd:decimal; the store, its answers and its exports say 12.5."""
    data = export(cli_store, what="asserted", fmt="ntriples").decode()
    assert '"12.5"^^<http://www.w3.org/2001/XMLSchema#decimal>' in data
    assert '"12.50"' not in data


def _parse_quads(data: bytes, fmt: ox.RdfFormat) -> dict[URIRef, Graph]:
    """Read quads with Oxigraph (rdflib's Dataset.parse warns): one rdflib graph per name."""
    graphs: dict[URIRef, Graph] = {}
    for quad in ox.parse(data, format=fmt):
        assert isinstance(quad.graph_name, ox.NamedNode), "a triple outside the named graphs"
        graph = graphs.setdefault(URIRef(quad.graph_name.value), Graph())
        graph.add(
            (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))  # type: ignore[arg-type]
        )
    return graphs


def test_jsonld_is_compact_with_the_project_context(cli_store: Store) -> None:
    document = json.loads(export(cli_store, fmt="jsonld"))
    context = json.loads((ROOT / "ontology" / "context.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == context["@context"]
    text = json.dumps(document["@graph"])
    assert EUSDP not in text
    assert '"eusdp:partner"' in text and '"rdfs:label"' in text


def test_the_published_context_is_prefixes_only(cli_store: Store) -> None:
    context = jsonld_context(cli_store.settings)
    assert context, "context.jsonld has no prefixes"
    for prefix, namespace in context.items():
        assert isinstance(namespace, str) and not prefix.startswith("@"), prefix
        assert namespace.startswith(("http://", "https://")), prefix
        assert namespace.endswith(("/", "#")), prefix
    assert context["eusdp"] == EUSDP
    assert context["id"] == "https://w3id.org/eusdp/id/"


def test_turtle_uses_the_project_prefixes(cli_store: Store) -> None:
    text = export(cli_store, fmt="turtle").decode()
    assert f"@prefix eusdp: <{EUSDP}> ." in text
    assert "brick:" not in text


@pytest.mark.parametrize("fmt", ["ntriples", "nquads"])
def test_line_formats_are_sorted(cli_store: Store, fmt: str) -> None:
    lines = export(cli_store, fmt=fmt).decode().splitlines()
    assert lines == sorted(lines)


def test_inferred_and_asserted_are_apart(cli_store: Store) -> None:
    asserted = Graph().parse(data=export(cli_store, "asserted", "ntriples"), format="nt")
    inferred = Graph().parse(data=export(cli_store, "inferred", "ntriples"), format="nt")
    everything = Graph().parse(data=export(cli_store, "all", "ntriples"), format="nt")
    assert len(asserted) + len(inferred) == len(everything)


@pytest.mark.parametrize(("what", "fmt"), [("all", "yaml"), ("some", "turtle")])
def test_unknown_choices_are_refused(cli_store: Store, what: str, fmt: str) -> None:
    with pytest.raises(ExportError, match="choose one of"):
        export(cli_store, what=what, fmt=fmt)  # type: ignore[arg-type]


def test_every_format_is_tested() -> None:
    assert set(FORMATS) == {"turtle", "jsonld", "ntriples", "rdfxml", "trig", "nquads"}


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_project_graph_round_trips(store: Store, fmt: str) -> None:
    """The real data, not only the fixture, survives every syntax."""
    data = export(store, fmt=fmt)
    if fmt in QUAD_FORMATS:
        parsed = Graph()
        for graph in _parse_quads(data, QUAD_FORMATS[fmt]).values():
            parsed += graph
    else:
        parsed = Graph().parse(data=data, format=TRIPLE_FORMATS[fmt])
    assert isomorphic(parsed, _expected(store, "all"))
