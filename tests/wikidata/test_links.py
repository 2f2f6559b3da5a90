"""The Wikidata links themselves: published as a VoID Linkset, kept by the JSON-LD export,
never a source of duplicates (eusdp:wikidata is no owl:sameAs)."""

from __future__ import annotations

import warnings

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, SKOS, VOID, XSD

from eusdp.describe import describe
from eusdp.export import export
from eusdp.store import Store

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
WD = "http://www.wikidata.org/entity/"


def links(graph: Graph) -> set[tuple[URIRef, URIRef]]:
    return {(s, o) for s, o in graph.subject_objects(EUSDP.wikidata)}  # type: ignore[misc]


def test_there_are_24_links_all_to_wikidata_items(store: Store) -> None:
    found = links(store.union(infer=False))
    assert len(found) == 24
    assert all(str(item).startswith(WD + "Q") for _, item in found)
    assert (URIRef("https://w3id.org/eusdp/id/country/norway"), URIRef(WD + "Q20")) in found


def test_the_link_is_an_exact_match_and_no_same_as(store: Store) -> None:
    union = store.union(infer=True)
    assert (EUSDP.wikidata, RDF.type, OWL.ObjectProperty) in union
    assert (EUSDP.wikidata, URIRef(str(RDF) + "type"), OWL.ObjectProperty) in union
    assert (EUSDP.wikidata, URIRef("http://www.w3.org/2000/01/rdf-schema#subPropertyOf"),
            SKOS.exactMatch) in union
    assert not any(str(o).startswith(WD) for o in union.objects(None, OWL.sameAs))
    assert not any(str(s).startswith(WD) for s in union.subjects())


def test_jsonld_export_keeps_every_link(store: Store) -> None:
    data = export(store, what="asserted", fmt="jsonld")
    assert b'"eusdp:wikidata"' in data
    with warnings.catch_warnings():  # rdflib's JSON-LD parser warns about its own ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        back = Graph().parse(data=data, format="json-ld")
    assert links(back) == links(store.union(infer=False))


def test_the_links_are_a_void_linkset(store: Store) -> None:
    g = describe(store, "http://127.0.0.1:8000")
    (linkset,) = g.subjects(RDF.type, VOID.Linkset)
    assert (linkset, VOID.linkPredicate, EUSDP.wikidata) in g
    assert (linkset, VOID.objectsTarget, URIRef("http://www.wikidata.org/")) in g
    assert (linkset, VOID.triples, Literal(24, datatype=XSD.integer)) in g
    assert (URIRef("https://w3id.org/eusdp/dataset"), VOID.subset, linkset) in g
