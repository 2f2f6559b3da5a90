"""Facts of the graph that no canned query covers: dates with their sources, provenance,
and what must stay out. Expected values come from the source article and FACTS.md."""

from __future__ import annotations

from rdflib import RDF, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, XSD

from eusdp.store import Store

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ID = Namespace("https://w3id.org/eusdp/id/")
SCHEMA = Namespace("https://schema.org/")


def test_nine_partnerships_and_no_reported_one(store: Store) -> None:
    graph = store.union()
    partners = {
        str(graph.value(p, EUSDP.partner)).rsplit("/", 1)[1]
        for p in graph.subjects(RDF.type, EUSDP.Partnership)
    }
    assert partners == {
        "moldova", "norway", "japan", "south-korea", "albania", "north-macedonia",
        "united-kingdom", "canada", "india",
    }  # fmt: skip


def test_albania_keeps_both_dates_each_with_its_sources(store: Store) -> None:
    graph = store.union()
    adoption = ID["event/eu-albania-adoption"]
    signing = ID["event/eu-albania-signing"]
    assert graph.value(adoption, EUSDP.date) == Literal("2024-11-19", datatype=XSD.date)
    assert graph.value(signing, EUSDP.date) == Literal("2024-12-18", datatype=XSD.date)
    assert ID["source/article"] in set(graph.objects(adoption, DCTERMS.source))
    assert set(graph.objects(signing, DCTERMS.source)) == {
        ID["source/europeaninterest-albania"],
        ID["source/ansa-albania"],
    }
    assert (signing, RDF.type, EUSDP.Signing) in graph
    assert (adoption, RDF.type, EUSDP.Adoption) in graph


def test_japan_signing_and_eeas_announcement_are_both_kept(store: Store) -> None:
    graph = store.union()
    events = set(graph.objects(ID["partnership/eu-japan"], EUSDP.hasEvent))
    assert {EUSDP.Signing, EUSDP.Announcement} <= {
        t for e in events for t in graph.objects(e, RDF.type)
    }
    announcement = ID["event/eu-japan-announcement"]
    assert set(graph.objects(announcement, DCTERMS.source)) == {ID["source/eeas-japan-text"]}


def test_every_partnership_has_a_source_with_a_url(store: Store) -> None:
    graph = store.union()
    for partnership in graph.subjects(RDF.type, EUSDP.Partnership):
        urls = [
            graph.value(source, SCHEMA.url) for source in graph.objects(partnership, DCTERMS.source)
        ]
        assert any(isinstance(u, URIRef) for u in urls), partnership


def test_the_eight_of_the_eeas_list_are_non_binding_and_india_is_not_stated(store: Store) -> None:
    graph = store.union()
    binding = {
        str(p).rsplit("/", 1)[1]: graph.value(p, EUSDP.legallyBinding)
        for p in graph.subjects(RDF.type, EUSDP.Partnership)
    }
    assert binding.pop("eu-india") is None
    assert set(binding.values()) == {Literal(False)}
    assert len(binding) == 8


def test_signatories_where_verified(store: Store) -> None:
    graph = store.union()
    signing = ID["event/eu-canada-signing"]
    assert set(graph.objects(signing, EUSDP.signatory)) == {
        ID["person/kaja-kallas"],
        ID["person/anita-anand"],
        ID["person/david-mcguinty"],
    }
    # The UK's signatories are not verified: none are stated.
    assert list(graph.objects(ID["event/eu-united-kingdom-signing"], EUSDP.signatory)) == []


def test_constitutional_clauses(store: Store) -> None:
    graph = store.union()
    assert (ID["country/moldova"], RDF.type, EUSDP.NeutralCountry) in graph
    assert graph.value(ID["provision/moldova-constitution-article-11"], EUSDP.article) == Literal(
        "11"
    )
    assert (ID["provision/japan-constitution-article-9"], RDF.type, EUSDP.PacifistClause) in graph
    assert (ID["country/japan"], RDF.type, EUSDP.NeutralCountry) not in graph


def test_groupings_are_not_all_alliances(store: Store) -> None:
    graph = store.union()
    assert (ID["organisation/nato"], RDF.type, EUSDP.DefenceAlliance) in graph
    assert (ID["organisation/quad"], RDF.type, EUSDP.StrategicDialogue) in graph
    assert (ID["organisation/eea"], RDF.type, EUSDP.EconomicArea) in graph
    assert (ID["organisation/quad"], RDF.type, EUSDP.Alliance) not in graph
    assert (ID["organisation/eea"], RDF.type, EUSDP.Alliance) not in graph


def test_codes_and_publications_office_iris(store: Store) -> None:
    graph = store.union()
    norway = ID["country/norway"]
    assert graph.value(norway, EUSDP.iso3166Alpha3) == Literal("NOR")
    assert graph.value(norway, EUSDP.publicationsOfficeAuthority) == URIRef(
        "http://publications.europa.eu/resource/authority/country/NOR"
    )
