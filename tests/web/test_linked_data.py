"""Linked Data: every entity IRI of the project graph resolves on this server, for people
(HTML) and for RDF clients (content negotiation); the ontology's terms resolve too."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, XSD

from eusdp.config import Settings
from eusdp.store import Store
from eusdp.web import create_app

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ID = "https://w3id.org/eusdp/id/"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture()
def project_app(project_settings: Settings, store: Store) -> Flask:
    return create_app(project_settings, store)


@pytest.fixture()
def web(project_app: Flask) -> FlaskClient:
    return project_app.test_client()


def test_every_entity_iri_resolves(web: FlaskClient, store: Store) -> None:
    entities = {str(s) for s in store.union().subjects() if str(s).startswith(ID)}
    assert len(entities) > 150
    for iri in sorted(entities):
        response = web.get("/id/" + iri[len(ID) :], headers={"Accept": "text/turtle"})
        assert response.status_code == 200, iri
        graph = Graph().parse(data=response.data, format="turtle")
        assert (URIRef(iri), None, None) in graph, iri


def test_country_page_for_people(web: FlaskClient) -> None:
    response = web.get("/id/country/norway", headers=BROWSER)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>Norway</h1>" in page
    assert 'href="http://www.wikidata.org/entity/Q20"' in page
    assert "NATO-member partner" in page  # an inferred type, shown as inferred
    assert 'class="inferred"' in page and ">inferred<" in page
    assert "data/countries.ttl" in page  # asserted facts name their file
    assert 'href="/id/source/article"' in page  # sources are links on this host
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Vary"] == "Accept"


# rdflib's JSON-LD parser uses ConjunctiveGraph inside, and says so.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_partnership_for_rdf_clients(web: FlaskClient, accept: str, fmt: str) -> None:
    response = web.get("/id/partnership/eu-albania", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == accept
    graph = Graph().parse(data=response.data, format=fmt)
    albania = URIRef(ID + "partnership/eu-albania")
    assert (albania, EUSDP.signingDate, Literal("2024-12-18", datatype=XSD.date)) in graph
    assert (albania, EUSDP.adoptionDate, Literal("2024-11-19", datatype=XSD.date)) in graph
    assert (albania, EUSDP.partner, URIRef(ID + "country/albania")) in graph


def test_format_parameter_and_infer_false(web: FlaskClient) -> None:
    norway = URIRef(ID + "country/norway")
    inferred = Graph().parse(data=web.get("/id/country/norway?format=ttl").data, format="turtle")
    asserted = Graph().parse(
        data=web.get("/id/country/norway?format=ttl&infer=false").data, format="turtle"
    )
    assert (norway, RDF.type, EUSDP.NATOMemberPartner) in inferred
    assert (norway, RDF.type, EUSDP.NATOMemberPartner) not in asserted
    assert (norway, RDF.type, EUSDP.Country) in asserted


def test_blank_nodes_come_with_the_description(web: FlaskClient) -> None:
    graph = Graph().parse(
        data=web.get("/id/event/eu-canada-signing?format=ttl").data, format="turtle"
    )
    signers = set(graph.objects(None, EUSDP.signer))
    assert URIRef(ID + "person/anita-anand") in signers


def test_unknown_iri_is_a_404_for_people_and_for_clients(web: FlaskClient) -> None:
    page = web.get("/id/country/atlantis", headers=BROWSER)
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "says nothing about" in page.get_data(as_text=True)
    problem = web.get("/id/country/atlantis", headers={"Accept": "text/turtle"})
    assert problem.status_code == 404
    assert problem.mimetype == "application/problem+json"
    assert problem.get_json()["status"] == 404


def test_unknown_format_and_unacceptable(web: FlaskClient) -> None:
    assert web.get("/id/country/norway?format=pdf").status_code == 400
    response = web.get("/id/country/norway", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.get_json()["detail"]


def test_ontology_resolves_with_anchors_for_its_terms(web: FlaskClient) -> None:
    page = web.get("/ontology", headers=BROWSER).get_data(as_text=True)
    assert 'id="Partnership"' in page and 'id="coversArea"' in page
    graph = Graph().parse(data=web.get("/ontology?format=ttl").data, format="turtle")
    assert (URIRef("https://w3id.org/eusdp/ontology"), RDF.type, OWL.Ontology) in graph


def test_term_links_on_pages_point_to_the_ontology_page(web: FlaskClient) -> None:
    page = web.get("/id/country/norway", headers=BROWSER).get_data(as_text=True)
    assert 'href="/ontology#Country"' in page


def test_home_lists_the_nine_partnerships_in_order(web: FlaskClient) -> None:
    page = web.get("/", headers=BROWSER).get_data(as_text=True)
    order = ["Moldova", "Norway", "Japan", "South Korea", "North Macedonia", "Albania",
             "EU–UK", "Canada", "India"]  # fmt: skip
    positions = [page.index(f"EU–{name}" if not name.startswith("EU") else name) for name in order]
    assert positions == sorted(positions)


def test_graph_iris_point_to_the_graph_store(web: FlaskClient) -> None:
    response = web.get("/graph/data/partnerships")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/data?graph=https%3A%2F%2Fw3id.org")
    assert web.get("/graph/data/nothing").status_code == 404
