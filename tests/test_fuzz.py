"""Hostile and broken input, generated: whatever arrives, no route answers 500 or shows a
stack trace, every 4xx is a problem document, and the app goes on answering.

Hypothesis draws the requests; the number of cases that ran is printed (run pytest -s).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eusdp.config import Settings, load_settings
from eusdp.store import Store
from eusdp.web import create_app

CASES = {"count": 0}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

ROUTES = ["/sparql", "/queries", "/queries/partners-by-area", "/queries/partners-in-nato",
          "/queries/partnerships-in-year", "/queries/nope", "/data", "/graphs",
          "/id/country/norway", "/id/x", "/ontology", "/openapi.json", "/.well-known/void",
          "/context.jsonld",
          "/health", "/", "/queries/partner-profile.rq"]  # fmt: skip

SPARQL_BITS = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "{", "}", "?s", "?p", "?o",
               "<http://x>", "FILTER", "(", ")", "OPTIONAL", "UNION", "GRAPH", "SERVICE",
               "INSERT", "DATA", "LOAD", "FROM", "NAMED", '"x"', "@en", "^^", "*", ".", ";",
               "PREFIX", "a:", "<", ">", "#", "\\", "\u0000", "\ud7ff", "LIMIT", "1", "-1",
               "GROUP_CONCAT", "COUNT", "BIND", "AS", "VALUES", "UNDEF", "|", "/", "!",
               "+"]  # fmt: skip

BROKEN_PERCENT = st.sampled_from(["%", "%G1", "%ff%fe", "%C3%28", "%00", "%%%", "%E2%82"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
SPARQLISH = st.lists(st.sampled_from(SPARQL_BITS), max_size=30).map(" ".join)
QUERY_TEXT = st.one_of(SPARQLISH, TEXT)
ACCEPT = st.one_of(
    st.sampled_from(["*/*", "text/html", "application/json", "text/turtle;q=0.1, */*;q=0",
                     "image/png", "", ";;;", "text/*;q=abc", "a/b/c", "*/*;q=-1",
                     ",".join(["text/csv"] * 500)]),
    TEXT.map(lambda t: t.replace("\n", "").replace("\r", "")),
)  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_app(project_settings: Settings, store: Store) -> Iterator[Flask]:
    # Queries run in process here: Hypothesis draws hundreds, and isolation is tested elsewhere.
    settings_ = load_settings(**{**vars(project_settings), "isolate_queries": False})
    yield create_app(settings_, store)


@pytest.fixture()
def client(fuzz_app: Flask) -> FlaskClient:
    return fuzz_app.test_client()


def check(response: object) -> None:
    from werkzeug.test import TestResponse

    assert isinstance(response, TestResponse)
    CASES["count"] += 1
    body = response.get_data()
    assert response.status_code < 500, body[:500]
    assert b"Traceback" not in body and b'File "/' not in body
    assert b"/work/" not in body and b"site-packages" not in body
    if 400 <= response.status_code < 500 and response.mimetype != "text/html":
        assert response.mimetype == "application/problem+json", (response.status_code, body[:300])
        doc = response.get_json()
        assert {"type", "title", "status", "detail"} <= set(doc)
        assert doc["status"] == response.status_code


@FUZZ
@given(route=st.sampled_from(ROUTES), query=QUERY_TEXT, accept=ACCEPT)
def test_get_with_random_query_and_accept(
    client: FlaskClient, route: str, query: str, accept: str
) -> None:
    check(client.get(route, query_string={"query": query}, headers={"Accept": accept}))


@FUZZ
@given(body=st.binary(max_size=300), ctype=st.sampled_from(
    ["application/sparql-query", "application/x-www-form-urlencoded", "text/plain",
     "application/sparql-update", "application/sparql-query; charset=utf-16",
     "multipart/form-data", ""]))  # fmt: skip
def test_post_random_bytes(client: FlaskClient, body: bytes, ctype: str) -> None:
    check(client.post("/sparql", data=body, headers={"Content-Type": ctype}))


@FUZZ
@given(text=QUERY_TEXT, encoding=st.sampled_from(["utf-16", "utf-16-le", "latin-1", "utf-32"]))
def test_post_non_utf8_bodies(client: FlaskClient, text: str, encoding: str) -> None:
    data = text.encode(encoding, errors="replace")
    check(client.post("/sparql", data=data, headers={"Content-Type": "application/sparql-query"}))


@FUZZ
@given(route=st.sampled_from(ROUTES), raw=st.lists(BROKEN_PERCENT, min_size=1, max_size=5))
def test_broken_percent_encoding(client: FlaskClient, route: str, raw: list[str]) -> None:
    check(client.get(f"{route}?query={''.join(raw)}&format={raw[0]}&{raw[-1]}={raw[0]}"))


@FUZZ
@given(
    name=st.sampled_from(["area", "country", "year", "format", "infer", "timeout", "zzz"]),
    value=st.one_of(TEXT, st.sampled_from(['"', "}", "#", "> . ?s ?p ?o", "http://x y",
                                           "javascript:alert(1)", "en-", "1e9", "x" * 5000])),
    repeat=st.integers(min_value=1, max_value=30),
    route=st.sampled_from(["/queries/partners-by-area", "/queries/areas-by-partner",
                           "/queries/partnerships-in-year", "/queries/partner-profile"]),
)  # fmt: skip
def test_canned_query_parameters(
    client: FlaskClient, name: str, value: str, repeat: int, route: str
) -> None:
    check(client.get(route, query_string=[(name, value)] * repeat))


@FUZZ
@given(segments=st.lists(st.sampled_from(["..", ".", "%2e%2e", "%2F", "etc", "passwd", "~",
                                          "id", "country", "..%2f", "%00", "\\", "data"]),
                         min_size=1, max_size=8))  # fmt: skip
def test_path_traversal(client: FlaskClient, segments: list[str]) -> None:
    for prefix in ("/id/", "/queries/", "/graph/", "/static/", "/"):
        response = client.get(prefix + "/".join(segments))
        check(response)
        assert b"root:" not in response.get_data()


def test_report_how_many_cases_ran(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\nfuzz: {CASES['count']} requests checked")
    assert CASES["count"] > 500

