"""The ontology: inside OWL 2 RL, documented, and each axiom derives what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS

from eusdp.inference import infer
from eusdp.profile import rl_violations

ROOT = Path(__file__).resolve().parent.parent
EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ID = "https://w3id.org/eusdp/id/"
VANN = Namespace("http://purl.org/vocab/vann/")
ORG = Namespace("http://www.w3.org/ns/org#")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ROOT / "ontology" / "eusdp.ttl")


def derive(ontology: Graph, data: str) -> Graph:
    """The filtered closure of the ontology plus a few Turtle statements."""
    graph = Graph()
    for t in ontology:
        graph.add(t)
    graph.parse(
        data=f"@prefix eusdp: <{EUSDP}> . @prefix id: <{ID}> . "
        f"@prefix org: <{ORG}> . @prefix skos: <{SKOS}> .\n{data}",
        format="turtle",
    )
    inferred, _ = infer(graph)
    return inferred


def test_ontology_stays_inside_owl2_rl(ontology: Graph) -> None:
    assert rl_violations(ontology) == []


@pytest.mark.parametrize(
    ("axiom", "expected"),
    [
        (
            "eusdp:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty eusdp:p ;"
            " owl:someValuesFrom eusdp:B ] .",
            "someValuesFrom cannot stand as a superclass",
        ),
        ("eusdp:A rdfs:subClassOf [ owl:unionOf ( eusdp:B eusdp:C ) ] .", "union cannot stand"),
        ("eusdp:p a owl:ReflexiveProperty .", "reflexive properties are not in OWL 2 RL"),
        (
            "eusdp:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty eusdp:p ;"
            " owl:minCardinality 1 ] .",
            "minimum cardinality is not in OWL 2 RL",
        ),
        (
            "eusdp:A owl:equivalentClass [ a owl:Restriction ; owl:onProperty eusdp:p ;"
            " owl:allValuesFrom eusdp:B ] .",
            "allValuesFrom cannot stand in an equivalent-class axiom",
        ),
    ],
)
def test_profile_check_catches_constructs_outside_rl(axiom: str, expected: str) -> None:
    graph = Graph().parse(
        data=f"@prefix eusdp: <{EUSDP}> . @prefix owl: <{OWL}> . "
        f"@prefix rdfs: <{RDFS}> .\n{axiom}",
        format="turtle",
    )
    assert any(expected in v for v in rl_violations(graph)), rl_violations(graph)


def test_header_has_what_linked_open_vocabularies_expects(ontology: Graph) -> None:
    onto = URIRef("https://w3id.org/eusdp/ontology")
    assert (onto, RDF.type, OWL.Ontology) in ontology
    for prop in (
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.license,
        DCTERMS.creator,
        DCTERMS.created,
        DCTERMS.modified,
        OWL.versionIRI,
        OWL.versionInfo,
        VANN.preferredNamespacePrefix,
        VANN.preferredNamespaceUri,
    ):
        assert ontology.value(onto, prop) is not None, prop
    assert str(ontology.value(onto, VANN.preferredNamespaceUri)) == str(EUSDP)


def test_every_term_has_an_english_label_and_a_definition(ontology: Graph) -> None:
    terms = {
        s
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology.subjects(RDF.type, kind)
        if isinstance(s, URIRef) and str(s).startswith(str(EUSDP))
    }
    assert len(terms) > 60
    for term in sorted(terms):
        labels = [o for o in ontology.objects(term, RDFS.label) if o.language == "en"]
        assert labels, f"{term} has no English rdfs:label"
        assert ontology.value(term, SKOS.definition) is not None, f"{term} has no definition"


def test_required_classes_exist(ontology: Graph) -> None:
    for name in (
        "Partnership", "Country", "CooperationArea", "Alliance", "DefenceAlliance",
        "StrategicDialogue", "EconomicArea", "SupranationalUnion", "Treaty", "Region",
        "EUBody", "Policy", "Initiative", "SourceDocument", "Event",
    ):  # fmt: skip
        assert (EUSDP[name], RDF.type, OWL.Class) in ontology, name


# --- each axiom, and what it derives ----------------------------------------------


def test_inverse_partner_and_partner_in(ontology: Graph) -> None:
    inferred = derive(ontology, "id:p eusdp:partner id:c .")
    assert (URIRef(ID + "c"), EUSDP.partnerIn, URIRef(ID + "p")) in inferred


def test_domain_and_range_type_both_ends(ontology: Graph) -> None:
    inferred = derive(ontology, "id:p eusdp:partner id:c .")
    assert (URIRef(ID + "p"), RDF.type, EUSDP.Partnership) in inferred
    assert (URIRef(ID + "c"), RDF.type, EUSDP.PartnerCountry) in inferred
    assert (URIRef(ID + "c"), RDF.type, EUSDP.Country) in inferred  # through subClassOf


def test_symmetric_allied_with(ontology: Graph) -> None:
    inferred = derive(ontology, "id:jp eusdp:alliedWith id:us .")
    assert (URIRef(ID + "us"), EUSDP.alliedWith, URIRef(ID + "jp")) in inferred


def test_chain_and_symmetry_make_security_partners_both_ways(ontology: Graph) -> None:
    inferred = derive(ontology, "id:p eusdp:partner id:c ; eusdp:euParty id:eu .")
    assert (URIRef(ID + "c"), EUSDP.securityPartnerOf, URIRef(ID + "eu")) in inferred
    assert (URIRef(ID + "eu"), EUSDP.securityPartnerOf, URIRef(ID + "c")) in inferred


def test_transitive_area_hierarchy_and_covers_area_chain(ontology: Graph) -> None:
    inferred = derive(
        ontology,
        """id:low skos:broader id:mid . id:mid skos:broader id:top .
        id:p eusdp:areaListing id:l . id:l eusdp:listsArea id:low .""",
    )
    low, mid, top, p = (URIRef(ID + n) for n in ("low", "mid", "top", "p"))
    assert (low, SKOS.broaderTransitive, top) in inferred
    assert (top, SKOS.narrowerTransitive, low) in inferred
    assert (p, EUSDP.cooperationArea, low) in inferred  # chain areaListing/listsArea
    assert (p, EUSDP.coversArea, mid) in inferred  # chain cooperationArea/broaderTransitive
    assert (p, EUSDP.coversArea, top) in inferred
    assert (p, EUSDP.cooperationArea, top) not in inferred  # named areas stay as named


def test_membership_chain_and_defined_nato_member_partner(ontology: Graph) -> None:
    inferred = derive(
        ontology,
        """id:p eusdp:partner id:c .
        [] org:member id:c ; org:organization id:organisation\\/nato .""",
    )
    c = URIRef(ID + "c")
    assert (c, EUSDP.memberOf, URIRef(ID + "organisation/nato")) in inferred
    assert (c, EUSDP.NATOMemberPartner, None) not in inferred
    assert (c, RDF.type, EUSDP.NATOMemberPartner) in inferred


def test_defined_classes_need_both_conditions(ontology: Graph) -> None:
    inferred = derive(
        ontology,
        """[] org:member id:notpartner ; org:organization id:organisation\\/nato .
        id:notpartner a eusdp:Country .""",
    )
    assert (URIRef(ID + "notpartner"), RDF.type, EUSDP.NATOMemberPartner) not in inferred


def test_defined_eu_candidate_and_asian_partner(ontology: Graph) -> None:
    inferred = derive(
        ontology,
        """id:p1 eusdp:partner id:md . id:p2 eusdp:partner id:jp .
        [] eusdp:candidate id:md ; eusdp:candidacyFor id:organisation\\/eu .
        id:jp eusdp:continent id:region\\/asia .""",
    )
    assert (URIRef(ID + "md"), RDF.type, EUSDP.EUCandidatePartner) in inferred
    assert (URIRef(ID + "jp"), RDF.type, EUSDP.AsianPartner) in inferred
    assert (URIRef(ID + "md"), RDF.type, EUSDP.AsianPartner) not in inferred


def test_neutrality_clause_makes_a_neutral_country(ontology: Graph) -> None:
    inferred = derive(
        ontology, "id:md eusdp:constitutionalProvision [ a eusdp:NeutralityClause ] ."
    )
    assert (URIRef(ID + "md"), RDF.type, EUSDP.NeutralCountry) in inferred


def test_signatory_chain(ontology: Graph) -> None:
    inferred = derive(ontology, "id:e eusdp:signature [ eusdp:signer id:person ] .")
    assert (URIRef(ID + "e"), EUSDP.signatory, URIRef(ID + "person")) in inferred


def test_wikidata_link_does_not_merge_entities(ontology: Graph) -> None:
    inferred = derive(
        ontology,
        "id:c a eusdp:Country ; eusdp:wikidata <http://www.wikidata.org/entity/Q1> .",
    )
    wd = URIRef("http://www.wikidata.org/entity/Q1")
    assert (URIRef(ID + "c"), SKOS.exactMatch, wd) in inferred
    assert not list(inferred.triples((wd, None, None)))
    assert not list(inferred.triples((None, OWL.sameAs, None)))


def test_inferred_graph_holds_no_junk(ontology: Graph) -> None:
    inferred = derive(ontology, "id:p eusdp:partner id:c ; eusdp:euParty id:eu .")
    for s, p, o in inferred:
        assert not isinstance(s, Literal)
        assert not (p == OWL.sameAs and s == o)
        assert o not in (OWL.Thing, RDFS.Resource)
        assert not isinstance(s, BNode) or (s, OWL.onProperty, None) not in ontology
