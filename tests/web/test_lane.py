"""The Flask-free ``/sparql`` lane: it answers queries exactly as the Flask view would.

Each request is sent twice: through the app (the lane answers it) and straight to
Flask's own WSGI app behind the lane (the view answers it). Status, headers and
body must be the same, errors included.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import Client, TestResponse

from eusdp.web.lane import SparqlLane

SELECT = "SELECT ?s WHERE { ?s a ?class } ORDER BY ?s LIMIT 3"
RELATIVE = "SELECT ?x WHERE { BIND(<thing> AS ?x) }"
CONSTRUCT = "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } ORDER BY ?s LIMIT 2"
#: SELECT is provably cheap (eusdp.cost): the lane checks it by the gate's reading alone.
#: These are not judged (a UNION), so they take the checks of query_job.
NOT_JUDGED = "SELECT ?s WHERE { { ?s a ?class } UNION { ?class a ?s } } ORDER BY ?s LIMIT 3"
ASK_CHEAP = "ASK { ?s a ?class }"
#: Read as cheap by the gate, refused by the engine (the prefix is not declared).
UNDECLARED = "SELECT ?s WHERE { ?s ex:p ?o }"


def lane(app: Flask) -> SparqlLane:
    found = app.extensions["eusdp.lane"]
    assert isinstance(found, SparqlLane)
    return found


def by_flask(app: Flask) -> Client:
    """A client of the Flask app behind the lane (and behind the response cache)."""
    return Client(lane(app).app, TestResponse)


def same(a: TestResponse, b: TestResponse) -> None:
    """Equal but for the cache's mark: the second of the two is answered from the cache."""
    assert a.status == b.status
    assert headers(a) == headers(b)
    assert a.data == b.data


def headers(response: TestResponse) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k != "X-Eusdp-Cache")


def get(query: str, **params: str) -> str:
    extra = "".join(f"&{k}={quote(v)}" for k, v in params.items())
    return f"/sparql?query={quote(query)}{extra}"


CASES: list[tuple[str, dict[str, Any]]] = [
    ("select, JSON", {"path": get(SELECT)}),
    ("select, CSV by Accept", {"path": get(SELECT), "headers": {"Accept": "text/csv"}}),
    ("select, format=xml", {"path": get(SELECT, format="xml")}),
    ("relative IRI", {"path": get(RELATIVE)}),
    ("construct, Turtle", {"path": get(CONSTRUCT), "headers": {"Accept": "text/turtle"}}),
    ("asserted only", {"path": get(SELECT, infer="false")}),
    ("truncated", {"path": get("SELECT ?s ?p ?o { ?s ?p ?o }")}),
    ("CORS request headers", {"path": get(SELECT),
                              "headers": {"Access-Control-Request-Headers": "X-Foo"}}),
    ("syntax error", {"path": get("SELECT ?s WHERE { ?s ?p }")}),
    ("cheap, undeclared prefix", {"path": get(UNDECLARED)}),
    ("cheap ask, XML by Accept", {"path": get(ASK_CHEAP),
                                  "headers": {"Accept": "application/sparql-results+xml"}}),
    ("cheap ask, not acceptable", {"path": get(ASK_CHEAP), "headers": {"Accept": "text/csv"}}),
    ("cheap select, TSV, q-values", {"path": get(SELECT), "headers": {
        "Accept": "text/csv;q=0.5, text/tab-separated-values"}}),
    ("not judged, JSON", {"path": get(NOT_JUDGED)}),
    ("not judged, CSV by Accept", {"path": get(NOT_JUDGED), "headers": {"Accept": "text/csv"}}),
    ("update as query", {"path": get("INSERT DATA { <a:b> <a:c> <a:d> }")}),
    ("unknown format", {"path": get(SELECT, format="nope")}),
    ("not acceptable", {"path": get(SELECT), "headers": {"Accept": "text/turtle"}}),
    ("bad infer", {"path": get(SELECT, infer="maybe")}),
    ("query twice", {"path": get(SELECT) + "&query=ASK%7B%7D"}),
    ("bad graph IRI", {"path": get(SELECT, **{"default-graph-uri": "not an iri"})}),
    ("bad timeout", {"path": get(SELECT, timeout="-1")}),
    ("not UTF-8", {"path": "/sparql?query=%FF"}),
    ("form POST", {"path": "/sparql", "method": "POST",
                   "data": {"query": SELECT}}),
    ("direct POST", {"path": "/sparql", "method": "POST", "data": SELECT,
                     "content_type": "application/sparql-query"}),
    ("POST of another type", {"path": "/sparql", "method": "POST", "data": SELECT,
                              "content_type": "text/plain"}),
    ("body over the limit", {"path": "/sparql", "method": "POST", "data": "x" * 2_000_000,
                             "content_type": "application/sparql-query"}),
    ("script name", {"path": get(RELATIVE),
                     "environ_overrides": {"SCRIPT_NAME": "/sp\u00c3\u00a4"}}),
]  # fmt: skip


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_the_lane_answers_as_flask_does(
    app: Flask, client: FlaskClient, case: dict[str, Any]
) -> None:
    before = lane(app).answered
    kwargs = {k: v for k, v in case.items() if k != "path"}
    through_lane = client.open(case["path"], **kwargs)
    through_flask = by_flask(app).open(case["path"], **kwargs)
    same(through_lane, through_flask)
    if through_lane.status_code == 200:
        assert lane(app).answered == before + 1


def test_the_base_iri_is_the_endpoint_url(client: FlaskClient) -> None:
    answer = client.get(get(RELATIVE), base_url="http://example.org/")
    assert b'"value":"http://example.org/thing"' in answer.data


def test_what_is_not_a_query_goes_to_flask(app: Flask, client: FlaskClient) -> None:
    described = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert described.status_code == 200 and b"sd:Service" in described.data
    update = client.post("/sparql", data={"update": "INSERT DATA { <a:b> <a:c> <a:d> }"})
    assert update.status_code == 403
    assert update.json is not None and update.json["code"] == "read-only"
    head = client.head(get(SELECT))
    assert head.status_code == 200
    assert lane(app).answered == 0


def test_a_query_leaves_the_client_count_as_it_found_it(app: Flask, client: FlaskClient) -> None:
    limiter = lane(app).limiter
    assert limiter is not None
    assert client.get(get(SELECT)).status_code == 200
    assert client.get(get("SELECT ?s WHERE { ?s ?p }")).status_code == 400
    assert dict(limiter._running) == {}


def test_a_cheap_query_needs_no_worker_so_no_slot_of_the_client(
    app: Flask, client: FlaskClient
) -> None:
    limiter = lane(app).limiter
    assert limiter is not None
    limiter._running["127.0.0.1"] = limiter.limit  # as if the client's queries took every slot
    try:
        assert client.get(get(SELECT)).status_code == 200  # runs here, takes no worker
        refused = client.get(get(NOT_JUDGED))  # would take a worker
        assert refused.status_code == 429
        assert refused.json is not None and refused.json["code"] == "too-many-queries"
    finally:
        del limiter._running["127.0.0.1"]


def test_the_answer_cache_keeps_no_cheap_answer(app: Flask, client: FlaskClient) -> None:
    """POSTs, which the response cache does not take: the answer cache counts and keeps
    the answer of a query asked twice, unless it is provably cheap."""
    cache = app.extensions["eusdp"].queries.cache
    assert cache is not None
    for query, kept in ((SELECT, 0), (NOT_JUDGED, 1)):
        before = cache.stats()
        first, again = (client.post("/sparql", data={"query": query}) for _ in range(2))
        assert first.status_code == again.status_code == 200
        assert first.data == again.data
        after = cache.stats()
        assert after["entries"] - before["entries"] == kept
        assert after["declined"] - before["declined"] == kept  # the first ask: only counted


def test_a_bug_is_a_500_problem_without_a_traceback(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in the lane")

    monkeypatch.setattr("eusdp.web.lane.run_job", broken)  # on the way of every query
    for query in (SELECT, NOT_JUDGED):
        answer = client.get(get(query))
        assert answer.status_code == 500
        assert answer.mimetype == "application/problem+json"
        assert b"a bug in the lane" not in answer.data and b"Traceback" not in answer.data
        assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_body_over_the_limit_is_refused_unread(client: FlaskClient) -> None:
    answer = client.post("/sparql", data="x" * 2_000_000, content_type="application/sparql-query")
    assert answer.status_code == 413
    assert answer.json is not None and "2000000 bytes" in answer.json["detail"]
