"""/sparql in process: the Protocol's transports, datasets, negotiation and every error."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from web_support import ALPHA, BETA
from werkzeug.test import TestResponse

from eusdp.config import Settings
from eusdp.store import Store
from eusdp.web import create_app

EX = "https://w3id.org/eusdp/ontology#"
ID = "https://w3id.org/eusdp/id/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
LABELS = f"SELECT ?p ?label WHERE {{ ?p a <{EX}Partnership> ; <{RDFS_LABEL}> ?label }}"
SAYS = "SELECT ?said WHERE { ?s <https://example.org/says> ?said }"
IS_AGREEMENT = f"ASK {{ <{ID}norway-partnership> a <{EX}Agreement> }}"


def get(client: FlaskClient, query: str, accept: str | None = None, **params: str) -> TestResponse:
    headers = {"Accept": accept} if accept else {}
    return client.get("/sparql", query_string={"query": query, **params}, headers=headers)


def problem(response: TestResponse, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    doc = response.get_json()
    assert isinstance(doc, dict)
    assert doc["status"] == status
    assert {"type", "title", "status", "detail"} <= doc.keys()
    if code is not None:
        assert doc["code"] == code
        assert doc["type"] == f"https://w3id.org/eusdp/problems/{code}"
    return doc


def bindings(response: TestResponse) -> list[dict[str, dict[str, str]]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/sparql-results+json"
    rows = json.loads(response.data)["results"]["bindings"]
    assert isinstance(rows, list)
    return rows


def boolean(response: TestResponse) -> bool:
    assert response.status_code == 200, response.get_data(as_text=True)
    value = json.loads(response.data)["boolean"]
    assert isinstance(value, bool)
    return value


# --- the three ways to send a query ---------------------------------------------------


def test_get(client: FlaskClient) -> None:
    assert len(bindings(get(client, LABELS))) == 3


def test_post_form(client: FlaskClient) -> None:
    response = client.post(
        "/sparql",
        data=urlencode({"query": LABELS}),
        content_type="application/x-www-form-urlencoded",
    )
    assert len(bindings(response)) == 3


def test_post_direct(client: FlaskClient) -> None:
    response = client.post("/sparql", data=LABELS.encode(), content_type="application/sparql-query")
    assert len(bindings(response)) == 3


def test_post_direct_with_utf8_charset_and_unicode(client: FlaskClient) -> None:
    query = 'SELECT ?x { BIND("EU–Moldova ✓" AS ?x) }'
    response = client.post(
        "/sparql", data=query.encode(), content_type="application/sparql-query; charset=UTF-8"
    )
    assert bindings(response)[0]["x"]["value"] == "EU–Moldova ✓"


def test_form_post_merges_url_parameters(client: FlaskClient) -> None:
    response = client.post(
        f"/sparql?default-graph-uri={quote(ALPHA)}",
        data=urlencode({"query": SAYS}),
        content_type="application/x-www-form-urlencoded",
    )
    assert [r["said"]["value"] for r in bindings(response)] == ["alpha"]


def test_relative_iris_resolve_against_the_endpoint(client: FlaskClient) -> None:
    response = get(client, "SELECT ?x { BIND(<thing> AS ?x) }")
    assert bindings(response)[0]["x"]["value"] == "http://localhost/thing"


# --- datasets ---------------------------------------------------------------------------


def test_extra_graphs_stay_out_of_the_default_graph(client: FlaskClient) -> None:
    assert bindings(get(client, SAYS)) == []


def test_default_graph_uri_shows_only_that_graph(client: FlaskClient) -> None:
    """What the W3C suite cannot check: naming one graph hides every other one."""
    rows = bindings(get(client, SAYS, **{"default-graph-uri": ALPHA}))
    assert [r["said"]["value"] for r in rows] == ["alpha"]
    # ... including the project's own graphs.
    assert bindings(get(client, LABELS, **{"default-graph-uri": ALPHA})) == []
    assert not boolean(get(client, "ASK { GRAPH ?g { ?s ?p ?o } }", **{"default-graph-uri": ALPHA}))


def test_repeated_default_graph_uri_merges(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string=[("query", SAYS), ("default-graph-uri", ALPHA), ("default-graph-uri", BETA)],
    )
    assert sorted(r["said"]["value"] for r in bindings(response)) == ["alpha", "beta"]


def test_named_graph_uri_limits_graph(client: FlaskClient) -> None:
    query = "SELECT ?g ?said { GRAPH ?g { ?s <https://example.org/says> ?said } }"
    rows = bindings(get(client, query, **{"named-graph-uri": BETA}))
    assert [(r["g"]["value"], r["said"]["value"]) for r in rows] == [(BETA, "beta")]
    everything = bindings(get(client, query))
    assert len(everything) == 2


def test_protocol_dataset_overrides_from(client: FlaskClient) -> None:
    query = f"SELECT ?said FROM <{BETA}> {{ ?s <https://example.org/says> ?said }}"
    assert [r["said"]["value"] for r in bindings(get(client, query))] == ["beta"]
    rows = bindings(get(client, query, **{"default-graph-uri": ALPHA}))
    assert [r["said"]["value"] for r in rows] == ["alpha"]


def test_infer_false_answers_from_asserted_triples(client: FlaskClient) -> None:
    assert boolean(get(client, IS_AGREEMENT)) is True
    assert boolean(get(client, IS_AGREEMENT, infer="true")) is True
    assert boolean(get(client, IS_AGREEMENT, infer="false")) is False


def test_bad_infer_value(client: FlaskClient) -> None:
    problem(get(client, IS_AGREEMENT, infer="maybe"), 400, "bad-parameter")


def test_bad_graph_iri(client: FlaskClient) -> None:
    doc = problem(get(client, SAYS, **{"default-graph-uri": "not an iri"}), 400, "bad-parameter")
    assert "default-graph-uri" in str(doc["detail"])


# --- content negotiation ----------------------------------------------------------------

RESULT_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_TYPES = {
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
    "trig": "application/trig",
    "nq": "application/n-quads",
}
CONSTRUCT = f"CONSTRUCT {{ ?p a <{EX}Partnership> }} WHERE {{ ?p a <{EX}Partnership> }}"


@pytest.mark.parametrize(("name", "media_type"), RESULT_TYPES.items())
def test_select_by_accept_and_by_format(client: FlaskClient, name: str, media_type: str) -> None:
    for response in (get(client, LABELS, accept=media_type), get(client, LABELS, format=name)):
        assert response.status_code == 200
        assert response.mimetype == media_type
        assert "Accept" in response.headers["Vary"]
        assert "EU–Norway partnership" in response.get_data(as_text=True)


@pytest.mark.parametrize(("name", "media_type"), GRAPH_TYPES.items())
def test_construct_by_accept_and_by_format(client: FlaskClient, name: str, media_type: str) -> None:
    for response in (
        get(client, CONSTRUCT, accept=media_type),
        get(client, CONSTRUCT, format=name),
    ):
        assert response.status_code == 200
        assert response.mimetype == media_type
        rdf_format = ox.RdfFormat.from_media_type(media_type)
        assert rdf_format is not None
        assert len(list(ox.parse(response.data, format=rdf_format))) == 3


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (LABELS, None, "application/sparql-results+json"),
        (LABELS, "*/*", "application/sparql-results+json"),
        (LABELS, "application/json", "application/sparql-results+json"),
        (LABELS, "text/csv;q=0.4, application/*;q=0.8", "application/sparql-results+json"),
        (
            LABELS,
            "text/csv;q=0.4, application/sparql-results+xml",
            "application/sparql-results+xml",
        ),
        (LABELS, "text/*", "text/csv"),
        (CONSTRUCT, None, "text/turtle"),
        (CONSTRUCT, "*/*", "text/turtle"),
        (CONSTRUCT, "text/plain", "application/n-triples"),
        (CONSTRUCT, "application/json", "application/ld+json"),
        (CONSTRUCT, "application/rdf+xml;q=0.5, application/n-quads", "application/n-quads"),
        ("ASK {}", "application/sparql-results+xml", "application/sparql-results+xml"),
        ("ASK {}", None, "application/sparql-results+json"),
    ],
)
def test_negotiation(client: FlaskClient, query: str, accept: str | None, expected: str) -> None:
    response = get(client, query, accept=accept)
    assert response.status_code == 200
    assert response.mimetype == expected


def test_format_overrides_accept(client: FlaskClient) -> None:
    response = get(client, LABELS, accept="application/sparql-results+xml", format="csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_format_may_be_a_media_type(client: FlaskClient) -> None:
    assert (
        get(client, CONSTRUCT, format="application/n-triples").mimetype == "application/n-triples"
    )


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (LABELS, "text/turtle"),
        (CONSTRUCT, "application/sparql-results+json"),
        ("ASK {}", "image/png"),
    ],
)
def test_nothing_acceptable_is_406_listing_offers(
    client: FlaskClient, query: str, accept: str
) -> None:
    doc = problem(get(client, query, accept=accept), 406, "not-acceptable")
    offered = doc["offered"]
    assert isinstance(offered, list) and offered
    assert all(t in str(doc["detail"]) for t in offered)


def test_format_not_offered_is_406(client: FlaskClient) -> None:
    problem(get(client, LABELS, format="ttl"), 406, "not-acceptable")


def test_unknown_format_is_400(client: FlaskClient) -> None:
    problem(get(client, LABELS, format="yaml"), 400, "bad-parameter")


def test_rows_beyond_max_rows_are_cut_and_flagged(
    web_settings: Settings, mini_store: Store
) -> None:
    client = create_app(replace(web_settings, max_rows=2), mini_store).test_client()
    response = get(client, LABELS)
    assert len(bindings(response)) == 2
    assert response.headers["X-Eusdp-Truncated"] == "true"
    assert response.headers["X-Eusdp-Max-Rows"] == "2"
    assert "X-Eusdp-Truncated" in response.headers["Access-Control-Expose-Headers"]
    whole = get(client, f"{LABELS} LIMIT 2")
    assert "X-Eusdp-Truncated" not in whole.headers


# --- errors -----------------------------------------------------------------------------


def test_syntax_error_says_where(client: FlaskClient) -> None:
    doc = problem(get(client, "SELECT ?x\nWHERE {\n  ?x ?y\n}"), 400, "query-syntax")
    assert doc["line"] == 4 and doc["column"] == 2  # as Oxigraph reports it
    assert "line 4, column 2" in str(doc["detail"])


def test_syntax_error_detail_stays_short(client: FlaskClient) -> None:
    doc = problem(get(client, "ASK {"), 400, "query-syntax")
    assert len(str(doc["detail"])) < 400


def test_empty_query_is_a_syntax_error(client: FlaskClient) -> None:
    problem(get(client, ""), 400, "query-syntax")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_post_needs_a_protocol_content_type(client: FlaskClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/sparql", data=b"ASK {}", headers=headers)
    doc = problem(response, 415, "unsupported-media-type")
    assert doc["accepted"] == [
        "application/x-www-form-urlencoded",
        "application/sparql-query",
        "application/sparql-update",
    ]


def test_two_query_parameters(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string=[("query", "ASK {}"), ("query", "ASK {}")])
    problem(response, 400, "bad-parameter")


def test_query_in_url_and_body(client: FlaskClient) -> None:
    response = client.post(
        "/sparql?query=ASK%20%7B%7D", data=b"ASK {}", content_type="application/sparql-query"
    )
    problem(response, 400, "bad-parameter")


def test_query_and_update_together(client: FlaskClient) -> None:
    response = client.post(
        "/sparql",
        data=urlencode({"query": "ASK {}", "update": "CLEAR ALL"}),
        content_type="application/x-www-form-urlencoded",
    )
    problem(response, 400, "bad-parameter")


def test_post_without_query(client: FlaskClient) -> None:
    response = client.post("/sparql", data=b"", content_type="application/x-www-form-urlencoded")
    problem(response, 400, "bad-parameter")


def test_non_utf8_body(client: FlaskClient) -> None:
    response = client.post(
        "/sparql",
        data="ASK { FILTER('é') }".encode("latin-1"),
        content_type="application/sparql-query",
    )
    problem(response, 400, "bad-encoding")


def test_non_utf8_percent_escape(client: FlaskClient) -> None:
    problem(client.get("/sparql?query=ASK%20%7B%7D%E9"), 400, "bad-encoding")


def test_declared_non_utf8_charset(client: FlaskClient) -> None:
    response = client.post(
        "/sparql",
        data="ASK {}".encode("utf-16"),
        content_type="application/sparql-query; charset=UTF-16",
    )
    problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (urlencode({"update": "CLEAR ALL"}), "application/x-www-form-urlencoded"),
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "application/sparql-update"),
        ("LOAD <http://127.0.0.1:9/nothing>", "application/sparql-update"),
    ],
)
def test_well_formed_update_is_refused(client: FlaskClient, data: str, content_type: str) -> None:
    doc = problem(client.post("/sparql", data=data, content_type=content_type), 403, "read-only")
    assert "read-only" in str(doc["detail"])


def test_update_sent_as_query_is_refused(client: FlaskClient) -> None:
    problem(get(client, "DELETE WHERE { ?s ?p ?o }"), 403, "read-only")


def test_malformed_update_is_400(client: FlaskClient) -> None:
    response = client.post("/sparql", data="CLEAR XYZ", content_type="application/sparql-update")
    doc = problem(response, 400, "update-syntax")
    assert doc["line"] == 1


def test_empty_update_is_400(client: FlaskClient) -> None:
    problem(client.post("/sparql", data="", content_type="application/sparql-update"), 400)


def test_update_by_get(client: FlaskClient) -> None:
    problem(client.get("/sparql", query_string={"update": "CLEAR ALL"}), 400, "bad-parameter")


def test_the_store_is_unchanged_after_updates(client: FlaskClient) -> None:
    client.post("/sparql", data="CLEAR ALL", content_type="application/sparql-update")
    get(client, "CLEAR ALL")
    assert len(bindings(get(client, LABELS))) == 3


def test_service_is_refused(client: FlaskClient) -> None:
    query = "SELECT * { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }"
    problem(get(client, query), 403, "service-not-allowed")
    problem(get(client, query.replace("SERVICE", "service SILENT")), 403, "service-not-allowed")


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?service { BIND("SERVICE <x> {}" AS ?service) }',
        "SELECT * { ?s <http://example.org/SERVICE> ?o } # SERVICE <x>",
        "PREFIX ex: <http://example.org/> SELECT * { ?s ex:SERVICE ?o }",
    ],
)
def test_the_word_service_elsewhere_is_fine(client: FlaskClient, query: str) -> None:
    assert get(client, query).status_code == 200


def test_deep_nesting_is_refused_not_fatal(client: FlaskClient) -> None:
    query = "ASK " + "{" * 5000 + "}" * 5000
    doc = problem(
        client.post("/sparql", data=query, content_type="application/sparql-query"),
        400,
        "query-too-complex",
    )
    assert doc["depth"] == 5000


def test_query_too_large(web_settings: Settings, mini_store: Store) -> None:
    client = create_app(replace(web_settings, max_query_bytes=100), mini_store).test_client()
    query = "ASK {}" + " " * 200
    problem(get(client, query), 413, "query-too-large")
    problem(client.post("/sparql", data=query, content_type="application/sparql-query"), 413)
    huge = b"query=" + b"+" * 10_000
    problem(
        client.post("/sparql", data=huge, content_type="application/x-www-form-urlencoded"), 413
    )
    assert get(client, "ASK {}").status_code == 200


def test_put_is_405_with_allow(client: FlaskClient) -> None:
    doc = problem(client.put("/sparql?query=ASK%20%7B%7D"), 405)
    assert doc["type"] == "about:blank"
