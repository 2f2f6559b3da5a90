"""/queries: the listing, the query texts, and canned queries run over the real project graph.

Expected answers are written by hand from ``data/*.ttl`` (dates, labels, memberships), never
computed by the code under test. A few tests use a tiny catalog of their own (a literal
parameter, an ASK, a POST query), run over the same real graph.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS
from web_support import QUERY_NAMES
from werkzeug.test import TestResponse

from eusdp.catalog import CatalogError
from eusdp.config import Settings
from eusdp.store import Store
from eusdp.web import create_app
from eusdp.web.queries import prime

ROOT = Path(__file__).resolve().parents[2]
ID = "https://w3id.org/eusdp/id/"
COUNTRY = ID + "country/"
RESULTS_JSON = "application/sparql-results+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

NAMES = list(QUERY_NAMES)

#: Partner countries in NATO (data/memberships.ttl): the three founders of 4 April 1949 by
#: label, then Albania (1 April 2009), then North Macedonia (27 March 2020). Iceland is a
#: member but not a partner.
NATO_PARTNERS = ["Canada", "Norway", "United Kingdom", "Albania", "North Macedonia"]


@pytest.fixture()
def app(project_settings: Settings, store: Store) -> Flask:
    """The app over the real project graph and the real queries/ folder."""
    return create_app(project_settings, store)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def problem(response: TestResponse, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    doc = response.get_json()
    assert isinstance(doc, dict)
    assert doc["status"] == status
    assert doc["code"] == code
    assert doc["type"] == f"https://w3id.org/eusdp/problems/{code}"
    return doc


def rows(response: TestResponse) -> list[dict[str, str]]:
    """SPARQL JSON rows as {variable: value}."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == RESULTS_JSON
    doc = json.loads(response.data)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


def labels(response: TestResponse, variable: str = "partnerLabel") -> list[str]:
    return [row[variable] for row in rows(response)]


# --- the listing -----------------------------------------------------------------------


def test_listing_is_json_by_default(client: FlaskClient) -> None:
    response = client.get("/queries")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "Accept" in response.vary
    entries = response.get_json()["queries"]
    assert [e["name"] for e in entries] == NAMES


def test_listing_describes_each_query(client: FlaskClient) -> None:
    entries = {e["name"]: e for e in client.get("/queries").get_json()["queries"]}
    area = entries["partners-by-area"]
    assert area["summary"] == "Partners that cooperate with the EU in an area"
    assert area["description"].startswith("The partner countries whose partnership covers")
    assert area["tags"] == ["areas", "partners"]
    assert area["method"] == "GET"
    assert area["query_type"] == "select"
    assert area["formats"] == ["json", "xml", "csv", "tsv"]
    assert area["parameters"] == [
        {
            "name": "area",
            "type": "iri",
            "description": "A cooperation area of the scheme, e.g. "
            "https://w3id.org/eusdp/id/area/critical-infrastructure",
            "default": "https://w3id.org/eusdp/id/area/critical-infrastructure",
            "enum": [],
            "required": False,
        }
    ]
    assert area["url"] == "http://localhost/queries/partners-by-area"
    assert area["text_url"] == "http://localhost/queries/partners-by-area.rq"
    profile = entries["partner-profile"]
    assert profile["query_type"] == "construct"
    assert profile["formats"] == ["ttl", "jsonld", "nt", "rdf", "trig", "nq"]
    year = entries["partnerships-in-year"]["parameters"][0]
    assert (year["name"], year["type"], year["default"]) == ("year", "integer", "2024")
    assert entries["partners-in-nato"]["parameters"] == []


def test_listing_urls_work(client: FlaskClient) -> None:
    for entry in client.get("/queries").get_json()["queries"]:
        assert client.get(entry["url"]).status_code == 200, entry["name"]
        assert client.get(entry["text_url"]).status_code == 200, entry["name"]


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/*"])
def test_listing_is_json_for_api_clients(client: FlaskClient, accept: str) -> None:
    assert client.get("/queries", headers={"Accept": accept}).mimetype == "application/json"


def test_listing_is_html_for_browsers(client: FlaskClient) -> None:
    response = client.get("/queries", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert "<table>" in page and "<script" not in page
    for name in NAMES:
        assert f'<a href="/queries/{name}.rq">' in page
        assert f'<form method="get" action="/queries/{name}">' in page
    # A form field per parameter, typed and filled with the default.
    assert (
        '<input id="partners-by-area--area" name="area" type="url" size="60" '
        'value="https://w3id.org/eusdp/id/area/critical-infrastructure">'
    ) in page
    assert 'name="year" type="number" size="60" value="2024">' in page
    assert '<option value="ttl">Turtle</option>' in page  # partner-profile's formats


def test_listing_format_parameter(client: FlaskClient) -> None:
    assert client.get("/queries?format=html").mimetype == "text/html"
    assert client.get("/queries?format=json", headers={"Accept": BROWSER}).mimetype == (
        "application/json"
    )
    problem(client.get("/queries?format=ttl"), 406, "not-acceptable")
    problem(client.get("/queries", headers={"Accept": "image/png"}), 406, "not-acceptable")
    assert problem(client.get("/queries?format=bogus"), 400, "bad-parameter")["parameter"] == (
        "format"
    )


# --- the query text --------------------------------------------------------------------


def test_query_text(client: FlaskClient) -> None:
    response = client.get("/queries/partners-in-nato.rq")
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-query"
    assert response.mimetype_params == {"charset": "utf-8"}
    assert response.data == (ROOT / "queries" / "partners-in-nato.rq").read_bytes()
    assert response.get_data(as_text=True).startswith(
        "#+ summary: Partner countries that are also members of NATO\n"
    )


def test_query_text_of_unknown_query(client: FlaskClient) -> None:
    doc = problem(client.get("/queries/partners-in-nat.rq"), 404, "unknown-query")
    assert "partners-in-nato" in doc["suggestions"]  # type: ignore[operator]


# --- answers ---------------------------------------------------------------------------


def test_partners_in_nato(client: FlaskClient) -> None:
    response = client.get("/queries/partners-in-nato?format=json")
    assert response.content_type == RESULTS_JSON
    assert "Accept" in response.vary
    assert json.loads(response.data)["head"]["vars"] == [
        "partner",
        "partnerLabel",
        "joined",
        "foundingMember",
    ]
    assert [(r["partnerLabel"], r["joined"], r["foundingMember"]) for r in rows(response)] == [
        ("Canada", "1949-04-04", "true"),
        ("Norway", "1949-04-04", "true"),
        ("United Kingdom", "1949-04-04", "true"),
        ("Albania", "2009-04-01", "false"),
        ("North Macedonia", "2020-03-27", "false"),
    ]


def test_partners_by_area(client: FlaskClient) -> None:
    area = ID + "area/military-mobility"
    response = client.get("/queries/partners-by-area", query_string={"area": area})
    assert [(r["partner"], r["partnerLabel"], r["area"]) for r in rows(response)] == [
        (COUNTRY + "canada", "Canada", area),
        (COUNTRY + "united-kingdom", "United Kingdom", area),
    ]


def test_partnerships_in_year(client: FlaskClient) -> None:
    response = client.get("/queries/partnerships-in-year?year=2025")
    assert [(r["partnerLabel"], r["signingDate"]) for r in rows(response)] == [
        ("United Kingdom", "2025-05-19"),
        ("Canada", "2025-06-23"),
    ]


#: Signed in 2024 (data/partnerships.ttl), in signing order.
SIGNED_2024 = ["Moldova", "Norway", "Japan", "South Korea", "North Macedonia", "Albania"]


@pytest.mark.parametrize("query_string", ["", "?year=", "?year=2024", "?year=%2B2024"])
def test_default_and_empty_values(client: FlaskClient, query_string: str) -> None:
    """No value, or an empty one (an empty form field), means the default: 2024."""
    assert labels(client.get("/queries/partnerships-in-year" + query_string)) == SIGNED_2024


def test_partnerships_in_a_year_without_any(client: FlaskClient) -> None:
    assert rows(client.get("/queries/partnerships-in-year?year=1999")) == []


def test_partner_profile_as_turtle(client: FlaskClient) -> None:
    japan = URIRef(COUNTRY + "japan")
    query_string = {"country": str(japan), "format": "ttl"}
    response = client.get("/queries/partner-profile", query_string=query_string)
    assert response.status_code == 200
    assert response.content_type == "text/turtle; charset=utf-8"
    text = response.get_data(as_text=True)
    assert str(japan) in text
    assert "@prefix eusdp: <https://w3id.org/eusdp/ontology#> ." in text  # the query's prefixes
    graph = Graph().parse(data=text, format="turtle")
    assert (japan, RDFS.label, Literal("Japan", lang="en")) in graph
    partnership = URIRef(ID + "partnership/eu-japan")
    assert (partnership, URIRef("https://w3id.org/eusdp/ontology#partner"), japan) in graph
    assert URIRef(COUNTRY + "norway") not in set(graph.subjects())


def test_construct_is_turtle_by_default_and_negotiates(client: FlaskClient) -> None:
    assert client.get("/queries/partner-profile").mimetype == "text/turtle"
    response = client.get("/queries/partner-profile", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    ids = {node.get("@id") for node in json.loads(response.data)}
    assert COUNTRY + "japan" in ids  # the default country
    nt = client.get("/queries/partner-profile?format=nt").get_data(as_text=True)
    assert f'<{COUNTRY}japan> <{RDFS.label}> "Japan"@en .' in nt


def test_csv_answer(client: FlaskClient) -> None:
    response = client.get("/queries/partners-in-nato?format=csv")
    assert response.content_type == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == ["partner", "partnerLabel", "joined", "foundingMember"]
    assert table[1] == [COUNTRY + "canada", "Canada", "1949-04-04", "true"]
    assert [row[1] for row in table[1:]] == NATO_PARTNERS


def test_tsv_answer(client: FlaskClient) -> None:
    response = client.get(
        "/queries/partners-in-nato", headers={"Accept": "text/tab-separated-values"}
    )
    assert response.mimetype == "text/tab-separated-values"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "?partner\t?partnerLabel\t?joined\t?foundingMember"
    assert lines[1].startswith(f'<{COUNTRY}canada>\t"Canada"@en\t')


def test_xml_answer(client: FlaskClient) -> None:
    response = client.get("/queries/partners-in-nato?format=xml")
    assert response.mimetype == "application/sparql-results+xml"
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(response.data)
    found = root.findall(".//r:binding[@name='partnerLabel']/r:literal", ns)
    assert [e.text for e in found] == NATO_PARTNERS


def test_infer_false_sees_asserted_triples_only(client: FlaskClient) -> None:
    """eusdp:NATOMemberPartner is only ever inferred: without inference, nobody is one."""
    assert labels(client.get("/queries/partners-in-nato?infer=false")) == []
    assert labels(client.get("/queries/partners-in-nato?infer=true")) == NATO_PARTNERS


def test_truncation_headers(project_settings: Settings, store: Store) -> None:
    client = create_app(replace(project_settings, max_rows=2), store).test_client()
    response = client.get("/queries/partners-in-nato")
    assert labels(response) == ["Canada", "Norway"]
    assert response.headers["X-Eusdp-Truncated"] == "true"
    assert response.headers["X-Eusdp-Max-Rows"] == "2"
    whole = client.get("/queries/partnerships-in-year?year=2025")
    assert len(rows(whole)) == 2
    assert "X-Eusdp-Truncated" not in whole.headers


@pytest.mark.parametrize("name", NAMES)
def test_every_query_runs_with_its_defaults(client: FlaskClient, name: str) -> None:
    response = client.get(f"/queries/{name}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data


# --- errors ----------------------------------------------------------------------------


def test_unknown_query(client: FlaskClient) -> None:
    doc = problem(client.get("/queries/partners-in-nat"), 404, "unknown-query")
    assert doc["query"] == "partners-in-nat"
    suggestions = doc["suggestions"]
    assert isinstance(suggestions, list)
    assert suggestions[0] == "partners-in-nato"  # the closest spelling first
    assert "partners-in-nato" in str(doc["detail"])


def test_unknown_parameter(client: FlaskClient) -> None:
    doc = problem(client.get("/queries/partners-in-nato?country=x"), 400, "bad-parameter")
    assert doc["parameter"] == "country"
    assert "unknown parameter" in str(doc["detail"])


def test_parameter_of_another_query(client: FlaskClient) -> None:
    doc = problem(client.get("/queries/partners-by-area?year=2024"), 400, "bad-parameter")
    assert doc["parameter"] == "year"
    assert "partners-by-area takes area" in str(doc["detail"])


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/queries/partners-by-area?area=not%20an%20iri", "area"),
        ("/queries/partners-by-area?area=cyber", "area"),
        ("/queries/partnerships-in-year?year=abc", "year"),
        ("/queries/partnerships-in-year?year=20.25", "year"),
        ("/queries/partnerships-in-year?year=2024&year=2025", "year"),
        ("/queries/partners-in-nato?format=bogus", "format"),
        ("/queries/partners-in-nato?format=json&format=csv", "format"),
        ("/queries/partners-in-nato?infer=maybe", "infer"),
    ],
)
def test_bad_values_name_the_parameter(client: FlaskClient, url: str, parameter: str) -> None:
    doc = problem(client.get(url), 400, "bad-parameter")
    assert doc["parameter"] == parameter
    assert parameter in str(doc["detail"])


def test_format_the_answer_cannot_take(client: FlaskClient) -> None:
    doc = problem(client.get("/queries/partners-in-nato?format=ttl"), 406, "not-acceptable")
    assert "text/csv" in doc["offered"]  # type: ignore[operator]
    problem(client.get("/queries/partner-profile?format=csv"), 406, "not-acceptable")
    response = client.get("/queries/partners-in-nato", headers={"Accept": "text/turtle"})
    problem(response, 406, "not-acceptable")


def test_post_to_a_get_query(client: FlaskClient) -> None:
    response = client.post("/queries/partners-in-nato")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" not in response.headers["Allow"]


def test_not_utf8(client: FlaskClient) -> None:
    problem(client.get("/queries/partners-by-area?area=%FF"), 400, "bad-encoding")


# --- injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        'https://w3id.org/eusdp/id/area/cyber"',
        "https://w3id.org/eusdp/id/area/cyber}",
        "https://w3id.org/eusdp/id/area/cyber> . ?s ?p ?o",
        "https://w3id.org/eusdp/id/area/cyber> } UNION { ?partnership ?p ?o } #",
        "<https://w3id.org/eusdp/id/area/cyber>",
        'x:y" } #',
    ],
)
def test_iri_values_cannot_escape(client: FlaskClient, value: str) -> None:
    """An IRI parameter refuses any value that is not one IRI: nothing reaches the query."""
    doc = problem(
        client.get("/queries/partners-by-area", query_string={"area": value}), 400, "bad-parameter"
    )
    assert doc["parameter"] == "area"
    assert "not an absolute IRI" in str(doc["detail"])


def test_an_iri_with_a_fragment_is_an_iri(client: FlaskClient) -> None:
    """'#' is a legal IRI character: it is bound as part of the IRI, matching nothing."""
    area = {"area": "https://w3id.org/eusdp/id/area/cyber#x"}
    response = client.get("/queries/partners-by-area", query_string=area)
    assert rows(response) == []


# --- a tiny catalog of our own ---------------------------------------------------------

TINY = {
    "label-of.rq": """#+ summary: Things with exactly this label <b>bold</b>
#+ tags: [test]
#+ params:
#+   - name: label
#+     type: literal
#+     description: The label, without language tag
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?thing ?label WHERE { ?thing rdfs:label ?l . FILTER(STR(?l) = ?label) }
""",
    "echo.rq": """#+ summary: The value given, as the query sees it
#+ params:
#+   - name: text
#+     type: literal
SELECT ?text WHERE { }
""",
    "is-partner.rq": """#+ summary: Is the EU in a partnership with this country?
#+ method: POST
#+ params:
#+   - name: country
#+     type: iri
#+     enum:
#+       - https://w3id.org/eusdp/id/country/norway
#+       - https://w3id.org/eusdp/id/country/united-states
PREFIX eusdp: <https://w3id.org/eusdp/ontology#>
ASK { ?partnership eusdp:partner ?country }
""",
}


def tiny_client(
    tmp_path: Path, settings: Settings, store: Store, files: dict[str, str] = TINY
) -> FlaskClient:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return create_app(replace(settings, queries_dir=tmp_path), store).test_client()


@pytest.fixture()
def tiny(tmp_path: Path, project_settings: Settings, store: Store) -> FlaskClient:
    return tiny_client(tmp_path, project_settings, store)


def test_literal_values_are_bound_not_pasted(tiny: FlaskClient) -> None:
    assert rows(tiny.get("/queries/label-of?label=Norway")) == [
        {"thing": COUNTRY + "norway", "label": "Norway"}
    ]
    for value in [
        'Norway") || true) } UNION { ?thing ?p ?o } #',
        'Norway" . ?thing ?p ?o } #',
        "Norway'} UNION {?thing ?p ?o}",
        "Norway> . ?s ?p ?o",
    ]:
        assert rows(tiny.get("/queries/label-of", query_string={"label": value})) == [], value


@pytest.mark.parametrize(
    "value", ['"', "}", "#", "> . ?s ?p ?o", '" } UNION { ?s ?p ?text } #', "\\u0022", "é\n\t"]
)
def test_a_literal_arrives_exactly_as_sent(tiny: FlaskClient, value: str) -> None:
    response = tiny.get("/queries/echo", query_string={"text": value})
    assert json.loads(response.data)["results"]["bindings"] == [
        {"text": {"type": "literal", "value": value}}
    ]


def test_a_required_parameter_is_required(tiny: FlaskClient) -> None:
    doc = problem(tiny.get("/queries/echo"), 400, "bad-parameter")
    assert doc["parameter"] == "text"
    assert "required" in str(doc["detail"])


def test_ask_query_post_and_enum(tiny: FlaskClient) -> None:
    norway = {"country": COUNTRY + "norway"}
    response = tiny.post("/queries/is-partner", data=norway)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert json.loads(response.data)["boolean"] is True
    us = tiny.post("/queries/is-partner", data={"country": COUNTRY + "united-states"})
    assert json.loads(us.data)["boolean"] is False
    # GET still works; format and infer may come in the URL or in the form.
    assert tiny.get("/queries/is-partner", query_string=norway).status_code == 200
    csv_answer = tiny.post("/queries/is-partner?format=csv", data=norway)
    assert csv_answer.mimetype == "text/csv"
    assert tiny.post("/queries/is-partner", data={**norway, "format": "xml"}).mimetype == (
        "application/sparql-results+xml"
    )
    doc = problem(
        tiny.post("/queries/is-partner", data={"country": COUNTRY + "japan"}), 400, "bad-parameter"
    )
    assert doc["parameter"] == "country"
    problem(tiny.post("/queries/is-partner?format=ttl", data=norway), 406, "not-acceptable")
    response = tiny.post("/queries/is-partner", json=norway)
    problem(response, 415, "unsupported-media-type")


def test_listing_escapes_html(tiny: FlaskClient) -> None:
    page = tiny.get("/queries?format=html").get_data(as_text=True)
    assert "exactly this label &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>" not in page
    assert '<form method="post" action="/queries/is-partner">' in page
    assert '<option value="https://w3id.org/eusdp/id/country/norway">' in page
    assert '<input id="echo--text" name="text" type="text" size="60" required>' in page


def test_empty_catalog(tmp_path: Path, project_settings: Settings, store: Store) -> None:
    client = tiny_client(tmp_path, project_settings, store, files={})
    assert client.get("/queries").get_json() == {"queries": []}
    problem(client.get("/queries/partners-in-nato"), 404, "unknown-query")


def test_a_broken_query_stops_the_app_at_start(
    tmp_path: Path, project_settings: Settings, store: Store
) -> None:
    files = {"broken.rq": "#+ summary: broken\nPREFIX ex: <http://ex/>\nSELECT ?x WHERE { ?x }\n"}
    with pytest.raises(CatalogError, match=r"broken\.rq:3"):
        tiny_client(tmp_path, project_settings, store, files=files)


def test_a_parameter_may_not_be_called_format(
    tmp_path: Path, project_settings: Settings, store: Store
) -> None:
    files = {"bad.rq": "#+ params:\n#+   - name: format\nSELECT ?format WHERE { }\n"}
    with pytest.raises(CatalogError, match="reserved"):
        tiny_client(tmp_path, project_settings, store, files=files)


# --- priming: the canned answers in the cache before the first request ------------------


def test_priming_answers_each_cacheable_canned_query_ahead(
    project_settings: Settings, store: Store
) -> None:
    app = create_app(project_settings, store)
    before = set(multiprocessing.active_children())
    primed = prime(app, budget=60)
    # every query of the catalogue (all have defaults for their parameters) except the one
    # calling Wikidata: a SERVICE answer is never cached, so never fetched at start
    assert primed == [name for name in NAMES if name != "partners-wikidata-facts"]
    assert set(multiprocessing.active_children()) <= before  # no query worker outlives it
    client = app.test_client()
    first = client.get("/queries/partners-in-nato")
    assert first.headers["X-Eusdp-Cache"] == "hit"  # already answered: no evaluation
    assert labels(first) == NATO_PARTNERS
    assert client.get("/queries/partners-in-nato?format=csv").headers.get("X-Eusdp-Cache") is None


def test_no_budget_primes_nothing(project_settings: Settings, store: Store) -> None:
    app = create_app(project_settings, store)
    assert prime(app, budget=0) == []
    assert app.test_client().get("/queries/partners-in-nato").headers.get("X-Eusdp-Cache") is None
