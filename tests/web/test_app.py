"""The app as a whole: factory, /health, CORS, security headers, service description,
the HTML form, and errors that are always problem documents, never tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import ALPHA, BETA

from eusdp import __version__
from eusdp.config import Settings
from eusdp.store import Store
from eusdp.web import create_app

SD = "http://www.w3.org/ns/sparql-service-description#"


def test_importing_builds_nothing() -> None:
    """In a fresh interpreter: importing the web modules creates no app and loads no data."""
    code = (
        "import sys, flask, eusdp.web, eusdp.web.sparql, eusdp.web.health, eusdp.serve\n"
        "apps = [v for m in list(sys.modules.values()) if (m.__name__ or '').startswith('eusdp')"
        " for v in vars(m).values() if isinstance(v, flask.Flask)]\n"
        "assert not apps, apps\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)


def test_create_app_builds_the_store_when_not_given(web_settings: Settings) -> None:
    client = create_app(web_settings).test_client()
    assert client.get("/health").get_json()["triples"]["asserted"] > 0


def test_create_app_takes_settings_from_the_store(mini_store: Store) -> None:
    app = create_app(store=mini_store)
    assert app.extensions["eusdp"].settings is mini_store.settings


def test_health(client: FlaskClient, mini_store: Store) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["status"] == "ok"
    assert doc["version"] == __version__
    assert doc["store_version"] == mini_store.version
    assert doc["triples"] == mini_store.counts()
    assert doc["triples"]["extra"] == 2


@pytest.mark.parametrize("path", ["/health", "/sparql?query=ASK%20%7B%7D", "/sparql", "/nowhere"])
def test_cors_on_every_response(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = response.headers["Access-Control-Expose-Headers"].split(", ")
    assert set(exposed) == {"X-Eusdp-Truncated", "X-Eusdp-Max-Rows"}
    # what a preflight is told, and only it (Fetch reads it there)
    for name in ("Allow-Methods", "Allow-Headers", "Max-Age"):
        assert "Access-Control-" + name not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_preflight(client: FlaskClient) -> None:
    response = client.options(
        "/sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "POST",
        "OPTIONS",
    }
    assert response.headers["Access-Control-Allow-Headers"] == "content-type"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_unknown_route_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    doc = response.get_json()
    assert doc["type"] == "about:blank" and doc["title"] == "Not Found" and doc["status"] == 404


def test_405_keeps_allow(client: FlaskClient) -> None:
    response = client.delete("/sparql")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_a_bug_is_a_bare_500_problem(web_settings: Settings, mini_store: Store) -> None:
    app = create_app(web_settings, mini_store)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(f"secret path {web_settings.data_dir}")

    app.logger.disabled = True  # the traceback goes to the log; keep the test output clean
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert (
        "Traceback" not in text and "secret" not in text and str(web_settings.data_dir) not in text
    )
    assert json.loads(text)["code"] == "internal-error"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- service description and form -------------------------------------------------------


def _sd(client: FlaskClient, accept: str | None = None) -> list[ox.Triple]:
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    fmt = ox.RdfFormat.from_media_type(response.mimetype)
    assert fmt is not None
    return list(ox.parse(response.data, format=fmt))


def test_service_description_defaults_to_turtle(client: FlaskClient) -> None:
    assert client.get("/sparql").mimetype == "text/turtle"
    assert client.get("/sparql", headers={"Accept": "*/*"}).mimetype == "text/turtle"


@pytest.mark.parametrize(
    "accept", ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
)
def test_service_description(client: FlaskClient, mini_store: Store, accept: str) -> None:
    triples = _sd(client, accept)
    endpoint = ox.NamedNode("http://localhost/sparql")

    def objects(subject: object, predicate: str) -> set[object]:
        return {
            t.object
            for t in triples
            if t.subject == subject and t.predicate.value == SD + predicate
        }

    assert ox.NamedNode(SD + "Service") in {
        t.object for t in triples if t.subject == endpoint and t.predicate.value.endswith("#type")
    }
    assert objects(endpoint, "endpoint") == {endpoint}
    assert objects(endpoint, "supportedLanguage") == {ox.NamedNode(SD + "SPARQL11Query")}
    assert ox.NamedNode("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in objects(
        endpoint, "resultFormat"
    )
    assert ox.NamedNode("http://www.w3.org/ns/formats/Turtle") in objects(endpoint, "resultFormat")
    (dataset,) = objects(endpoint, "defaultDataset")
    assert len(objects(dataset, "defaultGraph")) == 1
    names = {
        name.value
        for named in objects(dataset, "namedGraph")
        for name in objects(named, "name")
        if isinstance(name, ox.NamedNode)
    }
    assert names == {g.iri for g in mini_store.graphs()}
    assert {ALPHA, BETA} <= names


def test_service_description_by_format(client: FlaskClient) -> None:
    assert client.get("/sparql?format=nt").mimetype == "application/n-triples"


def test_service_description_406(client: FlaskClient) -> None:
    response = client.get("/sparql", headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 406
    assert "text/html" in response.get_json()["offered"]


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_html_form_for_browsers(client: FlaskClient) -> None:
    response = client.get("/sparql", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert '<textarea id="query" name="query"' in html
    assert '<form method="get" action="http://localhost/sparql">' in html
    assert "<script" not in html and "style" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Accept" in response.headers["Vary"]


def test_a_browser_running_a_query_gets_results_not_html(client: FlaskClient) -> None:
    response = client.get("/sparql?query=ASK%20%7B%7D", headers={"Accept": BROWSER})
    assert response.mimetype == "application/sparql-results+json"


def test_non_html_responses_carry_no_csp(client: FlaskClient) -> None:
    assert "Content-Security-Policy" not in client.get("/health").headers


# --- never a 500 --------------------------------------------------------------------------

TOKENS = [
    *"{}()[]<>?$:;.,'\"#\\*+-/!=&|^@_ \n\t0aZé\x00\ud7ff",
    "SELECT ", "ASK ", "WHERE ", "SERVICE ", "GRAPH ", "FILTER", "INSERT DATA ", "CLEAR ALL",
    "LOAD ", "PREFIX ex: <http://e/> ", "?x ", "<http://e/a> ", '"""', "ex:", "<<( ", "VALUES",
]  # fmt: skip
SPARQLISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=SPARQLISH, method=st.sampled_from(["get", "form", "direct", "update"]))
def test_no_input_gives_a_500(app: Flask, text: str, method: str) -> None:
    client = app.test_client()
    if method == "get":
        response = client.get("/sparql", query_string={"query": text})
    elif method == "form":
        response = client.post(
            "/sparql", data={"query": text}, content_type="application/x-www-form-urlencoded"
        )
    else:
        kind = "query" if method == "direct" else "update"
        response = client.post(
            "/sparql",
            data=text.encode("utf-8", "surrogatepass"),
            content_type=f"application/sparql-{kind}",
        )
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=40), content_type=st.text(max_size=30))
def test_no_body_or_content_type_gives_a_500(app: Flask, raw: bytes, content_type: str) -> None:
    try:
        response = app.test_client().post(
            "/sparql", data=raw, headers={"Content-Type": content_type}
        )
    except ValueError:  # a header value the HTTP client itself refuses to send
        return
    assert response.status_code < 500
