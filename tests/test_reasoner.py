"""eusdp's reasoner derives what owlrl derives (once filtered), rule by rule and at scale.

The comparison with owlrl is the specification: on the project graph, on generated
graphs of ~3k and ~10k triples, and on a tiny graph for each rule. The generator
(``bench/generate.py``) is tested here too: deterministic for a seed, and the same shape
as the project's data.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
from bench.generate import generate_graph, generate_triples, plan, write_ntriples
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.term import Node

from eusdp.config import load_settings
from eusdp.inference import filter_derived, infer, run_owlrl
from eusdp.loader import load_dataset, project_sources
from eusdp.reasoner import Closure, Triple, closure, run_reasoner

ROOT = Path(__file__).resolve().parent.parent
EX = Namespace("http://example.org/")
EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ID = Namespace("https://w3id.org/eusdp/id/")
PREFIXES = """
@prefix ex: <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


@pytest.fixture(scope="module")
def project_graph() -> Graph:
    settings = load_settings(ontology_dir=ROOT / "ontology", data_dir=ROOT / "data")
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    graph = Graph()
    for source in sources:
        for t in dataset.graph(source.graph):
            graph.add(t)
    return graph


def both(graph: Graph) -> tuple[set[Triple], set[Triple], Closure, list[str]]:
    """Filtered closures (ours, owlrl's), our whole result and owlrl's messages."""
    ours = closure(graph)
    theirs, errors = run_owlrl(graph)
    kept_ours, _ = filter_derived(ours.derived, graph)
    kept_theirs, _ = filter_derived(theirs, graph)
    return set(kept_ours), set(kept_theirs), ours, errors


def parse(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


# --- the same closure as owlrl ----------------------------------------------------------


def test_same_closure_as_owlrl_on_the_project_graph(project_graph: Graph) -> None:
    ours, theirs, result, errors = both(project_graph)
    assert result.engine == "eusdp" and result.compilations == 1
    assert len(ours) > 600
    assert ours == theirs
    assert sorted(result.inconsistencies) == sorted(errors) == []


@pytest.mark.parametrize("target", [2_500, 10_000])
def test_same_closure_as_owlrl_on_generated_graphs(target: int) -> None:
    graph = generate_graph(target, seed=1)
    ours, theirs, result, errors = both(graph)
    assert result.engine == "eusdp"
    assert ours == theirs
    assert sorted(result.inconsistencies) == sorted(errors)


def test_derived_is_what_the_filters_account_for(project_graph: Graph) -> None:
    kept, report = infer(project_graph)
    assert report.engine == "eusdp"
    assert report.derived == report.kept + sum(report.dropped.values())
    # No owl:sameAs on every node (owlrl's eq-ref): far less to filter than owlrl.
    assert report.derived < len(run_owlrl(project_graph)[0])
    assert not any(p == OWL.sameAs for _, p, _ in run_reasoner(project_graph)[0])


# --- each rule on a tiny graph ------------------------------------------------------------

RULES = {
    "cax-sco": ("ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C . ex:a a ex:A .",
                [(EX.a, RDF.type, EX.B), (EX.a, RDF.type, EX.C)]),
    "cax-eqc": ("ex:A owl:equivalentClass ex:B . ex:a a ex:A . ex:b a ex:B .",
                [(EX.a, RDF.type, EX.B), (EX.b, RDF.type, EX.A)]),
    "cls-int1": ("ex:D owl:equivalentClass [ owl:intersectionOf ( ex:A ex:B ) ] . "
                 "ex:x a ex:A , ex:B . ex:y a ex:A .",
                 [(EX.x, RDF.type, EX.D)]),
    "cls-int2": ("ex:D owl:equivalentClass [ owl:intersectionOf ( ex:A ex:B ) ] . ex:x a ex:D .",
                 [(EX.x, RDF.type, EX.A), (EX.x, RDF.type, EX.B)]),
    "cls-hv1": ("ex:N owl:equivalentClass [ owl:onProperty ex:in ; owl:hasValue ex:nato ] . "
                "ex:x a ex:N .",
                [(EX.x, EX["in"], EX.nato)]),
    "cls-hv2": ("ex:N owl:equivalentClass [ owl:onProperty ex:in ; owl:hasValue ex:nato ] . "
                "ex:x ex:in ex:nato . ex:y ex:in ex:eu .",
                [(EX.x, RDF.type, EX.N)]),
    "cls-svf1": ("[ owl:onProperty ex:clause ; owl:someValuesFrom ex:Neutrality ] "
                 "rdfs:subClassOf ex:Neutral . ex:x ex:clause ex:c . ex:c a ex:Neutrality . "
                 "ex:y ex:clause ex:d .",
                 [(EX.x, RDF.type, EX.Neutral)]),
    "cls-svf2": ("[ owl:onProperty ex:p ; owl:someValuesFrom owl:Thing ] rdfs:subClassOf ex:P . "
                 "ex:x ex:p ex:y .",
                 [(EX.x, RDF.type, EX.P)]),
    "cls-avf": ("ex:A rdfs:subClassOf [ owl:onProperty ex:p ; owl:allValuesFrom ex:B ] . "
                "ex:x a ex:A ; ex:p ex:y .",
                [(EX.y, RDF.type, EX.B)]),
    "cls-uni": ("ex:U owl:equivalentClass [ owl:unionOf ( ex:A ex:B ) ] . ex:a a ex:A . "
                "ex:b a ex:B .",
                [(EX.a, RDF.type, EX.U), (EX.b, RDF.type, EX.U)]),
    "cls-oo": ("ex:C owl:equivalentClass [ owl:oneOf ( ex:a ex:b ) ] .",
               [(EX.a, RDF.type, EX.C), (EX.b, RDF.type, EX.C)]),
    "prp-inv1": ("ex:p owl:inverseOf ex:q . ex:a ex:p ex:b .", [(EX.b, EX.q, EX.a)]),
    "prp-inv2": ("ex:p owl:inverseOf ex:q . ex:a ex:q ex:b .", [(EX.b, EX.p, EX.a)]),
    "prp-symp": ("ex:p a owl:SymmetricProperty . ex:a ex:p ex:b .", [(EX.b, EX.p, EX.a)]),
    "prp-trp": ("ex:p a owl:TransitiveProperty . ex:a ex:p ex:b . ex:b ex:p ex:c . "
                "ex:c ex:p ex:d .",
                [(EX.a, EX.p, EX.c), (EX.a, EX.p, EX.d), (EX.b, EX.p, EX.d)]),
    "prp-spo1": ("ex:p rdfs:subPropertyOf ex:q . ex:q rdfs:subPropertyOf ex:r . ex:a ex:p ex:b .",
                 [(EX.a, EX.q, EX.b), (EX.a, EX.r, EX.b)]),
    "prp-spo2": ("ex:r owl:propertyChainAxiom ( ex:p ex:q ) . ex:a ex:p ex:b . ex:b ex:q ex:c . "
                 "ex:b ex:q ex:d .",
                 [(EX.a, EX.r, EX.c), (EX.a, EX.r, EX.d)]),
    "prp-spo2 (length 3)": ("ex:r owl:propertyChainAxiom ( ex:p ex:q ex:s ) . "
                            "ex:a ex:p ex:b . ex:b ex:q ex:c . ex:c ex:s ex:d .",
                            [(EX.a, EX.r, EX.d)]),
    "prp-spo2 (chain of a chain)": (
        "ex:r owl:propertyChainAxiom ( ex:p ex:q ) . ex:t owl:propertyChainAxiom ( ex:r ex:q ) . "
        "ex:a ex:p ex:b . ex:b ex:q ex:c . ex:c ex:q ex:d .",
        [(EX.a, EX.r, EX.c), (EX.a, EX.t, EX.d)]),
    "prp-eqp": ("ex:p owl:equivalentProperty ex:q . ex:a ex:p ex:b . ex:c ex:q ex:d .",
                [(EX.a, EX.q, EX.b), (EX.c, EX.p, EX.d)]),
    "prp-dom": ("ex:p rdfs:domain ex:A . ex:A rdfs:subClassOf ex:B . ex:a ex:p ex:b .",
                [(EX.a, RDF.type, EX.A), (EX.a, RDF.type, EX.B)]),
    "prp-rng": ("ex:p rdfs:range ex:A . ex:q rdfs:subPropertyOf ex:p . ex:a ex:q ex:b .",
                [(EX.b, RDF.type, EX.A)]),
    "scm-hv": ("ex:in rdfs:subPropertyOf ex:partOf . "
               "ex:N owl:equivalentClass [ owl:onProperty ex:in ; owl:hasValue ex:nato ] . "
               "ex:M owl:equivalentClass [ owl:onProperty ex:partOf ; owl:hasValue ex:nato ] . "
               "ex:x a ex:N .",
               [(EX.x, RDF.type, EX.M), (EX.x, EX.partOf, EX.nato)]),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_derives_what_it_should(rule: str) -> None:
    text, expected = RULES[rule]
    graph = parse(text)
    ours, theirs, result, _ = both(graph)
    assert result.engine == "eusdp"
    for t in expected:
        assert t in ours, t
    assert ours == theirs


def test_a_subproperty_cycle_and_a_transitive_cycle_terminate() -> None:
    graph = parse(
        "ex:p rdfs:subPropertyOf ex:q . ex:q rdfs:subPropertyOf ex:p . "
        "ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:A . ex:x a ex:A . "
        "ex:t a owl:TransitiveProperty . ex:a ex:t ex:b . ex:b ex:t ex:c . ex:c ex:t ex:a . "
        "ex:a ex:p ex:b ."
    )
    ours, theirs, _, _ = both(graph)
    assert (EX.b, EX.q, EX.a) not in ours
    assert (EX.a, EX.q, EX.b) in ours
    assert (EX.x, RDF.type, EX.B) in ours
    cycle = {EX.a, EX.b, EX.c}
    assert {(s, o) for s, p, o in ours if p == EX.t} | {
        (s, o) for s, p, o in graph if p == EX.t
    } == {(s, o) for s in cycle for o in cycle}
    assert ours == theirs


def test_schema_derived_from_the_data_is_compiled_again() -> None:
    graph = parse(
        "ex:broader rdfs:subPropertyOf rdfs:subClassOf . ex:A ex:broader ex:B . ex:a a ex:A ."
    )
    ours, theirs, result, _ = both(graph)
    assert result.compilations == 2
    assert (EX.a, RDF.type, EX.B) in ours
    assert ours == theirs


def _random_graph(seed: int) -> Graph:
    """A small random ontology (every compiled construct) with random facts."""
    rng = random.Random(seed)
    graph = Graph()
    classes = [EX[f"C{i}"] for i in range(4)]
    props = [EX[f"p{i}"] for i in range(4)]
    things = [EX[f"i{i}"] for i in range(5)]
    values: list[Node] = [*things, Literal("x"), Literal("1", datatype=XSD.integer)]
    pairs = {
        RDFS.subClassOf: classes, OWL.equivalentClass: classes, OWL.disjointWith: classes,
        RDFS.subPropertyOf: props, OWL.equivalentProperty: props, OWL.inverseOf: props,
    }  # fmt: skip
    lists = {OWL.propertyChainAxiom: props, OWL.intersectionOf: classes,
             OWL.unionOf: classes, OWL.oneOf: things}  # fmt: skip
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice([*pairs, *lists, RDFS.domain, RDFS.range, RDF.type, OWL.onProperty])
        if kind in pairs:
            graph.add((rng.choice(pairs[kind]), kind, rng.choice(pairs[kind])))
        elif kind in (RDFS.domain, RDFS.range):
            graph.add((rng.choice(props), kind, rng.choice(classes)))
        elif kind == RDF.type:
            character = rng.choice([OWL.SymmetricProperty, OWL.TransitiveProperty])
            graph.add((rng.choice(props), RDF.type, character))
        else:
            if kind in lists:
                head, expr = BNode(), BNode()
                Collection(graph, head, [rng.choice(lists[kind]) for _ in range(rng.randint(1, 3))])
                if kind == OWL.propertyChainAxiom:
                    graph.add((rng.choice(props), kind, head))
                    continue
                graph.add((expr, kind, head))
            else:
                expr = BNode()
                graph.add((expr, OWL.onProperty, rng.choice(props)))
                fillers: list[tuple[URIRef, list[Node]]] = [
                    (OWL.hasValue, values),
                    (OWL.allValuesFrom, [*classes]),
                    (OWL.someValuesFrom, [*classes, OWL.Thing]),
                ]
                key, filler = rng.choice(fillers)
                graph.add((expr, key, rng.choice(filler)))
            where = rng.choice([(rng.choice(classes), OWL.equivalentClass, expr),
                                (expr, RDFS.subClassOf, rng.choice(classes)),
                                (rng.choice(classes), RDFS.subClassOf, expr)])  # fmt: skip
            graph.add(where)
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.4:
            graph.add((rng.choice(things), RDF.type, rng.choice(classes)))
        else:
            graph.add((rng.choice(things), rng.choice(props), rng.choice(values)))
    return graph


@pytest.mark.parametrize("seed", range(100))
def test_same_closure_as_owlrl_on_random_ontologies(seed: int) -> None:
    graph = _random_graph(seed)
    ours, theirs, result, errors = both(graph)
    assert result.engine == "eusdp"
    assert ours == theirs
    assert sorted(result.inconsistencies) == sorted(errors)


# --- inconsistencies -----------------------------------------------------------------------


def test_disjoint_classes_with_a_common_member_are_reported() -> None:
    graph = parse("ex:A owl:disjointWith ex:B . ex:C rdfs:subClassOf ex:B . ex:x a ex:A , ex:C .")
    _, _, result, errors = both(graph)
    assert result.inconsistencies == [
        f"Disjoint classes {EX.A} and {EX.B} have a common individual {EX.x}"
    ]
    assert sorted(result.inconsistencies) == sorted(errors)


def test_a_partnership_typed_as_an_unconfirmed_report_is_reported(project_graph: Graph) -> None:
    graph = Graph()
    for t in project_graph:
        graph.add(t)
    graph.add((ID["partnership/eu-norway"], RDF.type, EUSDP.UnconfirmedReport))
    result = closure(graph)
    assert len(result.inconsistencies) == 1
    assert "partnership/eu-norway" in result.inconsistencies[0]
    assert sorted(result.inconsistencies) == sorted(run_owlrl(graph)[1])


@pytest.mark.parametrize(
    "text",
    [
        "ex:p a owl:IrreflexiveProperty . ex:a ex:p ex:a .",
        "ex:p a owl:AsymmetricProperty . ex:a ex:p ex:b . ex:b ex:p ex:a .",
        "ex:p owl:propertyDisjointWith ex:q . ex:a ex:p ex:b ; ex:q ex:b .",
        "[ a owl:AllDisjointClasses ; owl:members ( ex:A ex:B ) ] . ex:x a ex:A , ex:B .",
        "ex:x a owl:Nothing .",
        'ex:x ex:count "many"^^xsd:integer .',
    ],
)
def test_other_clashes_are_reported_as_owlrl_reports_them(text: str) -> None:
    graph = parse(text)
    _, _, result, errors = both(graph)
    assert result.inconsistencies
    assert sorted(result.inconsistencies) == sorted(errors)


# --- literals and what is not compiled ------------------------------------------------------


def test_literals_keep_their_datatype_and_language() -> None:
    graph = parse(
        'ex:code rdfs:subPropertyOf ex:label . ex:x ex:code "MD" , "Moldova"@en , '
        '"2024-05-21"^^xsd:date , "1"^^xsd:integer , "true"^^xsd:boolean .'
    )
    derived = {o for s, p, o in closure(graph).derived if (s, p) == (EX.x, EX.label)}
    asserted = set(graph.objects(EX.x, EX.code))
    assert derived == asserted
    by_text = {str(o): o for o in derived if isinstance(o, Literal)}
    assert by_text["MD"].datatype is None and by_text["MD"].language is None
    assert by_text["Moldova"].language == "en"
    assert by_text["2024-05-21"].datatype == XSD.date
    assert by_text["1"].datatype == XSD.integer


def test_equality_goes_to_owlrl_and_says_so() -> None:
    graph = parse(
        "ex:p a owl:FunctionalProperty . ex:a ex:p ex:b , ex:c . ex:b ex:q ex:d ."
    )
    result = closure(graph)
    assert result.engine == "owlrl" and result.fallback
    assert "FunctionalProperty" in result.fallback
    ours, _ = filter_derived(result.derived, graph)
    theirs, _ = filter_derived(run_owlrl(graph)[0], graph)
    assert set(ours) == set(theirs)
    assert (EX.c, EX.q, EX.d) in set(ours)
    with pytest.raises(ValueError, match="FunctionalProperty"):
        closure(graph, fallback=False)
    same = parse("ex:a owl:sameAs ex:b .")
    assert closure(same).engine == "owlrl"


def test_the_input_is_not_modified(project_graph: Graph) -> None:
    before = len(project_graph)
    closure(project_graph)
    assert len(project_graph) == before


# --- the generator -------------------------------------------------------------------------


def _count_types(graph: Graph) -> Counter[object]:
    return Counter(o for o in graph.objects(None, RDF.type))


def test_generate_is_deterministic_for_a_seed() -> None:
    first = list(generate_triples(5_000, seed=7))
    assert first == list(generate_triples(5_000, seed=7))
    assert first != list(generate_triples(5_000, seed=8))


def test_generate_keeps_the_shape_of_the_project_data(project_graph: Graph) -> None:
    graph = generate_graph(20_000, seed=3)
    copies = plan(20_000).copies
    assert copies > 10
    assert abs(len(graph) - 20_000) < plan(20_000).per_copy
    base, scaled = _count_types(project_graph), _count_types(graph)
    for cls in (EUSDP.Partnership, EUSDP.Country, EUSDP.Signing, EUSDP.Signature,
                EUSDP.OfficialAreaListing, URIRef("http://www.w3.org/ns/org#Membership")):
        assert scaled[cls] == copies * base[cls], cls
    assert scaled[EUSDP.CooperationArea] == base[EUSDP.CooperationArea]  # areas are shared
    assert (ID["country/norway-c1"], RDF.type, EUSDP.Country) in graph
    copied = re.compile(r"-c[0-9]+$")
    subjects = {str(s) for s in graph.subjects()}
    assert not any(s.startswith(ID["area/"]) and copied.search(s) for s in subjects)
    assert (ID["organisation/nato"], None, None) in graph
    # The individuals the ontology names are shared, never copied.
    assert (None, None, ID["organisation/nato-c1"]) not in graph
    signatures = set(graph.subjects(RDF.type, EUSDP.Signature))
    assert all(isinstance(s, BNode) for s in signatures)
    # The closure grows with the data: inferred/asserted about as in the project graph.
    ratio_base = len(closure(project_graph).derived) / len(project_graph)
    ratio_scaled = len(closure(graph).derived) / len(graph)
    assert 0.5 < ratio_scaled / ratio_base < 1.5


def test_copy_zero_is_the_project_data(project_graph: Graph) -> None:
    assert isomorphic(generate_graph(1), project_graph)


def test_ntriples_file_holds_the_same_graph(tmp_path: Path) -> None:
    path = tmp_path / "g.nt"
    lines = write_ntriples(4_000, path, seed=2)
    parsed = Graph().parse(path, format="nt")
    assert lines == len(parsed)
    assert isomorphic(parsed, generate_graph(4_000, seed=2))
