"""Read-only rdflib views over named graphs of an Oxigraph store (eusdp.rdfview)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import RDF, RDFS, SH, XSD, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.paths import MulPath
from rdflib.term import Variable

from eusdp.rdfview import OxigraphView, ReadOnlyView, view_graph

EX = Namespace("http://example.org/")
G1, G2, G3 = (
    "http://example.org/graph/1",
    "http://example.org/graph/2",
    "http://example.org/graph/3",
)
ALICE, BOB, CAROL, PERSON = EX.alice, EX.bob, EX.carol, EX.Person

PREFIXES = """
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
# Seven triples, one of them (alice knows bob) also in graph 2, two through a blank node.
GRAPH_1 = (
    PREFIXES
    + """
ex:alice a ex:Person ;
    rdfs:label "Alice"@en ;
    ex:born "2024-05-21"^^xsd:date ;
    ex:nick "ally" ;
    ex:address [ ex:city "Ghent" ] ;
    ex:knows ex:bob .
"""
)
GRAPH_2 = (
    PREFIXES
    + """
ex:alice ex:knows ex:bob .
ex:bob a ex:Person ;
    ex:age 42 .
"""
)
# Stored, but in neither view below.
GRAPH_3 = PREFIXES + "ex:carol a ex:Person ; ex:knows ex:alice ."

GRAPH_2_TRIPLES = {
    (ALICE, EX.knows, BOB),
    (BOB, RDF.type, PERSON),
    (BOB, EX.age, Literal("42", datatype=XSD.integer)),
}


@pytest.fixture
def oxstore() -> ox.Store:
    store = ox.Store()
    for iri, turtle in ((G1, GRAPH_1), (G2, GRAPH_2), (G3, GRAPH_3)):
        store.load(turtle.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(iri))
    return store


@pytest.fixture
def union(oxstore: ox.Store) -> Graph:
    return view_graph(oxstore, [G1, G2], namespaces=[("ex", str(EX))])


@pytest.fixture
def only_g2(oxstore: ox.Store) -> Graph:
    return view_graph(oxstore, [G2])


def expected_union() -> Graph:
    """The union as rdflib would hold it, blank node and all, for isomorphism checks."""
    address = BNode()
    graph = Graph()
    for triple in [
        (ALICE, RDF.type, PERSON),
        (ALICE, RDFS.label, Literal("Alice", lang="en")),
        (ALICE, EX.born, Literal("2024-05-21", datatype=XSD.date)),
        (ALICE, EX.nick, Literal("ally")),
        (ALICE, EX.address, address),
        (address, EX.city, Literal("Ghent")),
        (ALICE, EX.knows, BOB),
        (BOB, RDF.type, PERSON),
        (BOB, EX.age, Literal("42", datatype=XSD.integer)),
    ]:
        graph.add(triple)
    return graph


# --- the union and its size ----------------------------------------------------------


def test_union_holds_a_triple_of_two_graphs_once(union: Graph) -> None:
    triples = list(union)
    assert len(triples) == 9
    assert triples.count((ALICE, EX.knows, BOB)) == 1
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    assert isomorphic(graph, expected_union())


def test_len_counts_distinct_triples(oxstore: ox.Store, union: Graph, only_g2: Graph) -> None:
    assert len(oxstore) == 12  # 7 + 3 + 2 quads stored
    assert len(union) == 9
    assert len(only_g2) == 3
    assert len(view_graph(oxstore, [G1])) == 7
    assert len(view_graph(oxstore, [G1, G2, G3])) == 11


def test_len_is_the_same_from_many_threads(oxstore: ox.Store) -> None:
    view = view_graph(oxstore, [G1, G2])
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: len(view), range(8))) == [9] * 8


def test_single_graph_view_leaves_the_other_graphs_out(only_g2: Graph) -> None:
    assert set(only_g2) == GRAPH_2_TRIPLES
    assert (ALICE, RDFS.label, Literal("Alice", lang="en")) not in only_g2
    assert list(only_g2.subjects(RDF.type, PERSON)) == [BOB]


def test_graphs_outside_the_view_stay_out(union: Graph) -> None:
    assert (CAROL, RDF.type, PERSON) not in union
    assert list(union.triples((CAROL, None, None))) == []
    assert set(union.subjects(EX.knows, None)) == {ALICE}


def test_a_graph_named_twice_counts_once(oxstore: ox.Store) -> None:
    twice = view_graph(oxstore, [G2, G2])
    assert len(twice) == 3
    assert set(twice) == GRAPH_2_TRIPLES


def test_no_graphs_and_unknown_graphs_are_empty(oxstore: ox.Store) -> None:
    for view in (view_graph(oxstore, []), view_graph(oxstore, ["http://example.org/nothing"])):
        assert len(view) == 0
        assert list(view) == []
        assert (BOB, RDF.type, PERSON) not in view


# --- pattern lookups -------------------------------------------------------------------


def test_subject_bound(union: Graph) -> None:
    predicates = [p for _, p, _ in union.triples((ALICE, None, None))]
    assert len(predicates) == 6  # alice knows bob in both graphs, and once here
    assert set(predicates) == {RDF.type, RDFS.label, EX.born, EX.nick, EX.address, EX.knows}
    assert union.value(ALICE, RDFS.label) == Literal("Alice", lang="en")
    assert set(union.predicate_objects(BOB)) == {
        (RDF.type, PERSON),
        (EX.age, Literal("42", datatype=XSD.integer)),
    }


def test_predicate_bound(union: Graph) -> None:
    assert set(union.triples((None, RDF.type, None))) == {
        (ALICE, RDF.type, PERSON),
        (BOB, RDF.type, PERSON),
    }
    assert list(union.subject_objects(EX.knows)) == [(ALICE, BOB)]


def test_object_bound(union: Graph) -> None:
    assert list(union.triples((None, None, BOB))) == [(ALICE, EX.knows, BOB)]
    assert set(union.subjects(RDF.type, PERSON)) == {ALICE, BOB}
    assert list(union.subject_predicates(Literal("ally"))) == [(ALICE, EX.nick)]


def test_fully_bound(union: Graph) -> None:
    assert list(union.triples((ALICE, EX.knows, BOB))) == [(ALICE, EX.knows, BOB)]
    assert list(union.triples((BOB, EX.knows, ALICE))) == []


def test_contains(union: Graph) -> None:
    assert (ALICE, EX.knows, BOB) in union
    assert (BOB, EX.age, Literal("42", datatype=XSD.integer)) in union
    assert (ALICE, EX.nick, None) in union
    assert (None, None, Literal("Ghent")) in union
    assert (BOB, EX.knows, ALICE) not in union
    assert (ALICE, EX.nick, Literal("ally", lang="en")) not in union


def test_blank_node_found_by_one_lookup_serves_the_next(union: Graph) -> None:
    address = union.value(ALICE, EX.address)
    assert isinstance(address, BNode)
    assert union.value(address, EX.city) == Literal("Ghent")
    assert (address, EX.city, Literal("Ghent")) in union
    assert list(union.subjects(EX.city, Literal("Ghent"))) == [address]
    assert list(union.subjects(EX.address, address)) == [ALICE]


def test_literals_equal_the_ones_rdflib_parses(union: Graph) -> None:
    parsed = Graph().parse(data=GRAPH_1, format="turtle")
    for predicate, literal in [
        (RDFS.label, Literal("Alice", lang="en")),
        (EX.born, Literal("2024-05-21", datatype=XSD.date)),
        (EX.nick, Literal("ally")),
    ]:
        assert union.value(ALICE, predicate) == parsed.value(ALICE, predicate) == literal
        assert (ALICE, predicate, literal) in union
    # Oxigraph calls "ally" an xsd:string; rdflib, and so the view, a plain literal.
    nick = union.value(ALICE, EX.nick)
    assert isinstance(nick, Literal) and nick.datatype is None and nick.language is None
    assert {t for t in parsed if not any(isinstance(n, BNode) for n in t)} <= set(union)


def test_patterns_nothing_can_match_yield_nothing(union: Graph) -> None:
    view = union.store
    assert list(union.triples((Literal("Alice", lang="en"), None, None))) == []
    assert list(view.triples((None, Literal("p"), None))) == []
    assert list(view.triples((None, BNode(), None))) == []
    assert list(view.triples((None, EX.address / EX.city, None))) == []  # type: ignore[arg-type]
    assert list(union.triples((URIRef("relative"), None, None))) == []  # not an IRI Oxigraph takes


def test_paths_are_resolved_by_rdflib_over_the_view(union: Graph) -> None:
    assert list(union.objects(ALICE, EX.address / EX.city)) == [Literal("Ghent")]
    assert set(union.subjects(MulPath(EX.knows, "+"), BOB)) == {ALICE}


# --- writes ----------------------------------------------------------------------------


def test_writes_raise_and_change_nothing(oxstore: ox.Store, union: Graph) -> None:
    triple = (BOB, EX.knows, ALICE)
    with pytest.raises(ReadOnlyView, match="read-only view"):
        union.add(triple)
    with pytest.raises(ReadOnlyView):
        union.addN([(*triple, union)])
    with pytest.raises(ReadOnlyView):
        union.remove((ALICE, None, None))
    with pytest.raises(ReadOnlyView):
        union.parse(data='<http://example.org/x> <http://example.org/y> "1" .', format="nt")
    with pytest.raises(TypeError):  # ReadOnlyView is one, for callers that catch those
        union.update("INSERT DATA { <http://example.org/x> <http://example.org/y> 1 }")
    with pytest.raises(ReadOnlyView):  # pySHACL and others wrap graphs in Datasets
        Dataset(store=union.store).graph(EX.elsewhere)
    assert len(oxstore) == 12
    assert triple not in union


# --- what the project does with views ---------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [
        "nt",
        "turtle",
        "xml",
        pytest.param(
            "json-ld",
            # rdflib's JSON-LD parser uses ConjunctiveGraph inside, and says so.
            marks=pytest.mark.filterwarnings(
                "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"
            ),
        ),
    ],
)
def test_serialisations_parse_back_to_the_union(union: Graph, fmt: str) -> None:
    data = union.serialize(format=fmt)
    assert isomorphic(Graph().parse(data=data, format=fmt), expected_union())


def test_only_the_given_prefixes_are_bound(oxstore: ox.Store, union: Graph) -> None:
    assert list(union.namespaces()) == [("ex", URIRef(str(EX)))]
    assert union.serialize(format="turtle").startswith("@prefix ex: <http://example.org/> .")
    assert list(view_graph(oxstore, [G2]).namespaces()) == []


def test_bindings_follow_rdflibs_override(oxstore: ox.Store) -> None:
    view = OxigraphView(oxstore, [G1])
    view.bind("ex", URIRef("http://example.org/"))
    view.bind("ex", URIRef("http://example.com/"), override=False)
    view.bind("other", URIRef("http://example.org/"), override=False)
    assert list(view.namespaces()) == [("ex", URIRef("http://example.org/"))]
    view.bind("e", URIRef("http://example.org/"))
    assert view.namespace("ex") is None
    assert view.namespace("e") == URIRef("http://example.org/")
    assert view.prefix(URIRef("http://example.org/")) == "e"
    assert list(view.contexts()) == []


def test_identifier(oxstore: ox.Store) -> None:
    view = view_graph(oxstore, [G1], identifier="http://example.org/view")
    assert view.identifier == URIRef("http://example.org/view")


def test_rdflib_sparql_engine_reads_the_view(union: Graph) -> None:
    rows = union.query(
        """SELECT ?who ?label WHERE {
             ?who ex:knows ?friend ; rdfs:label ?label .
             ?friend ex:age ?age .
           }""",
        initNs={"ex": EX, "rdfs": RDFS},
    )
    assert rows.bindings == [
        {Variable("who"): ALICE, Variable("label"): Literal("Alice", lang="en")}
    ]
    count = union.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert count.bindings == [{Variable("n"): Literal("9", datatype=XSD.integer)}]


@pytest.mark.parametrize("inplace", [False, True])  # True: validated without a copy
def test_pyshacl_reports_a_violation_on_a_view(union: Graph, inplace: bool) -> None:
    shapes = Graph().parse(
        format="turtle",
        data="""
            @prefix sh: <http://www.w3.org/ns/shacl#> .
            @prefix ex: <http://example.org/> .
            ex:PersonShape a sh:NodeShape ;
                sh:targetClass ex:Person ;
                sh:property [ sh:path ex:born ; sh:minCount 1 ] .
        """,
    )
    conforms, report, _ = validate(data_graph=union, shacl_graph=shapes, inplace=inplace)
    assert conforms is False
    assert set(report.objects(None, SH.focusNode)) == {BOB}
    assert set(report.objects(None, SH.resultPath)) == {EX.born}
    assert len(union) == 9  # validating did not write into the view
