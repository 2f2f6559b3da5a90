"""VoID + DCAT description of the dataset, built from the store's actual content.

Counts come from the graph itself, so the description cannot drift from the data.
The Wikidata links are described as a void:Linkset, the way link-discovery tools
(and Wikidata's own dataset registries) expect to find them.
"""

from __future__ import annotations

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, VOID

from . import __version__
from .store import Store

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
WIKIDATA = URIRef("http://www.wikidata.org/")
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")

#: The dump formats /data offers: (short name, media type).
DUMPS = (
    ("ttl", "text/turtle"),
    ("nt", "application/n-triples"),
    ("jsonld", "application/ld+json"),
    ("rdf", "application/rdf+xml"),
    ("trig", "application/trig"),
    ("nq", "application/n-quads"),
)


def dataset_iri(store: Store) -> URIRef:
    return URIRef(f"{store.settings.base_iri}dataset")


def describe(store: Store, service_root: str) -> Graph:
    """The dataset description; ``service_root`` is this server's URL (no trailing slash)."""
    g = Graph()
    g.bind("void", VOID)
    g.bind("dcat", DCAT)
    g.bind("dcterms", DCTERMS)
    g.bind("foaf", FOAF)
    g.bind("eusdp", EUSDP)
    base = store.settings.base_iri
    ds = dataset_iri(store)
    union = store.union(infer=True)
    counts = store.counts()

    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("EU Security and Defence Partnerships", lang="en")))
    g.add(
        (
            ds,
            DCTERMS.description,
            Literal(
                "The Security and Defence Partnerships the European Union signed from May 2024 "
                "on, their partner countries, cooperation areas, sources and events, with an "
                "OWL 2 RL closure kept in a graph of its own.",
                lang="en",
            ),
        )
    )
    g.add((ds, DCTERMS.license, LICENSE))
    g.add((ds, DCTERMS.hasVersion, Literal(__version__)))
    g.add((ds, VOID.uriSpace, Literal(f"{base}id/")))
    g.add((ds, VOID.vocabulary, URIRef(str(EUSDP))))
    for prop, number in (
        (VOID.triples, counts["asserted"] + counts["inferred"]),
        (VOID.entities, len(set(union.subjects(RDF.type, None)))),
        (VOID.distinctSubjects, len(set(union.subjects()))),
        (VOID.properties, len(set(union.predicates()))),
    ):
        g.add((ds, prop, Literal(number, datatype=XSD.integer)))
    g.add((ds, VOID.sparqlEndpoint, URIRef(f"{service_root}/sparql")))
    g.add((ds, FOAF.homepage, URIRef(f"{service_root}/")))

    for short, media in DUMPS:
        dump = URIRef(f"{service_root}/data?format={short}")
        g.add((ds, VOID.dataDump, dump))
        dist = BNode()
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCAT.downloadURL, dump))
        g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
        g.add((dist, DCTERMS.license, LICENSE))
    service = BNode()
    g.add((ds, DCAT.distribution, service))
    g.add((service, RDF.type, DCAT.Distribution))
    g.add((service, DCAT.accessURL, URIRef(f"{service_root}/sparql")))
    g.add((service, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))

    classes = {c for c in union.objects(None, RDF.type) if isinstance(c, URIRef)}
    for cls in sorted(classes):
        part = BNode()
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], cls))
        count = len(set(union.subjects(RDF.type, cls)))
        g.add((part, VOID.entities, Literal(count, datatype=XSD.integer)))

    for info in store.graphs():
        if info.role == "extra":
            continue
        sub = URIRef(info.iri)
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, VOID.triples, Literal(info.triples, datatype=XSD.integer)))
        g.add((sub, DCTERMS.description, Literal(f"{info.role} graph", lang="en")))

    links = list(union.subject_objects(EUSDP.wikidata))
    linkset = URIRef(f"{base}dataset/wikidata-links")
    g.add((ds, VOID.subset, linkset))
    g.add((linkset, RDF.type, VOID.Linkset))
    g.add((linkset, VOID.linkPredicate, EUSDP.wikidata))
    g.add((linkset, VOID.subjectsTarget, ds))
    g.add((linkset, VOID.objectsTarget, WIKIDATA))
    g.add((linkset, VOID.triples, Literal(len(links), datatype=XSD.integer)))
    g.add((WIKIDATA, RDF.type, VOID.Dataset))
    g.add((WIKIDATA, VOID.sparqlEndpoint, URIRef("https://query.wikidata.org/sparql")))
    g.add((WIKIDATA, VOID.uriSpace, Literal("http://www.wikidata.org/entity/")))
    return g
