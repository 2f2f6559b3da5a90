"""SERVICE from /sparql, ``eusdp query`` and the canned queries, on both engines, against the
Wikidata stand-in; refusals (SSRF) proven with listeners that must record no connection;
failures of the remote as 502/504 problems while the server stays healthy."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eusdp.catalog import Catalog, load_catalog
from eusdp.cli import main
from eusdp.config import Settings
from eusdp.federation import (
    WIKIDATA_SPARQL,
    DatasetRefused,
    Federation,
    RemoteOptions,
    ServiceRefused,
)
from eusdp.querying import QueryAnswer, QueryJob, execute
from eusdp.store import Store
from eusdp.web import create_app
from tests.conftest import short
from tests.wikidata.conftest import cli_env
from tests.wikidata.standins import Listener, SparqlStandin, closed_port

PREFIXES = """PREFIX eusdp: <https://w3id.org/eusdp/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
"""
#: Our EU bodies joined with the English label Wikidata (the stand-in) gives their item. The
#: Foreign Affairs Council's item is a redirect in the fixture, with no label: no row.
EU_BODIES = (
    PREFIXES
    + """SELECT ?body ?wikidataLabel WHERE {
  ?body a eusdp:EUBody ; eusdp:wikidata ?item .
  SERVICE <https://query.wikidata.org/sparql> { ?item rdfs:label ?wikidataLabel }
} ORDER BY ?wikidataLabel"""
)
EU_BODY_ROWS = [
    ("organisation/council-of-the-eu", "Council of the European Union"),
    ("organisation/european-commission", "European Commission"),
    ("organisation/european-council", "European Council"),
    ("organisation/eda", "European Defence Agency"),
    ("organisation/eeas", "European External Action Service"),
]
RESULTS_JSON = "application/sparql-results+json"


@pytest.fixture()
def client(project_settings: Settings, store: Store) -> FlaskClient:
    return create_app(project_settings, store).test_client()


def ask(client: FlaskClient, query: str) -> TestResponse:
    return client.post("/sparql", data={"query": query}, headers={"Accept": RESULTS_JSON})


def json_rows(response: TestResponse, *names: str) -> list[tuple[Any, ...]]:
    data = response.get_json()
    return [
        tuple(short(_Value(b[n]["value"])) if n in b else None for n in names)
        for b in data["results"]["bindings"]
    ]


class _Value:
    def __init__(self, value: str) -> None:
        self.value = value


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    document: dict[str, Any] = response.get_json()
    assert document["code"] == code and document["status"] == status
    return document


def slow(store: Store, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point the store's Wikidata at ``url`` with a one-second deadline and quick retries."""
    fast = Federation(
        (WIKIDATA_SPARQL,),
        {WIKIDATA_SPARQL: url},
        RemoteOptions(timeout=1.0, retries=1, backoff=0.01),
    )
    monkeypatch.setattr(store, "federation", fast)


# --- joins of local and remote rows ----------------------------------------------------------


def test_service_through_the_endpoint_joins_local_and_remote_rows(
    client: FlaskClient, wikidata_standin: SparqlStandin
) -> None:
    response = ask(client, EU_BODIES)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert json_rows(response, "body", "wikidataLabel") == EU_BODY_ROWS
    (remote,) = wikidata_standin.queries()
    assert "SELECT * WHERE { ?item rdfs:label ?wikidataLabel }" in remote
    assert "PREFIX wdt: <http://www.wikidata.org/prop/direct/>" in remote


def test_a_service_answer_cut_at_max_rows_asks_the_remote_once(
    store: Store, wikidata_standin: SparqlStandin
) -> None:
    # Other long JSON answers are evaluated twice (a one-pass try, then the cut): never
    # one that would ask a remote endpoint twice.
    answer = execute(store, QueryJob(EU_BODIES, "json", max_rows=1))
    assert isinstance(answer, QueryAnswer) and answer.truncated
    assert len(json.loads(answer.body)["results"]["bindings"]) == 1
    assert len(wikidata_standin.queries()) == 1


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_both_engines_join_the_same_rows(store: Store, engine: str) -> None:
    if engine == "oxigraph":
        rows = [(short(r["body"]), short(r["wikidataLabel"])) for r in store.query(EU_BODIES)]  # type: ignore[union-attr]
    else:
        result = store.reference_query(EU_BODIES)
        rows = [(short(_Value(str(r[0]))), short(_Value(str(r[1])))) for r in result]  # type: ignore[index]
        rows.sort(key=lambda row: str(row[1]))
    assert rows == EU_BODY_ROWS


def test_service_through_the_command_line(
    project_settings: Settings,
    wikidata_standin: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert project_settings.cache_dir is not None
    cli_env(monkeypatch, wikidata_standin.url, project_settings.cache_dir)
    assert main(["query", EU_BODIES, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["body", "wikidataLabel"]
    assert [(short(_Value(b)), label) for b, label in rows[1:]] == EU_BODY_ROWS


#: partners-wikidata-facts, by hand from tests/fixtures/wikidata/wikidata-fixture.ttl: every
#: partner (the stand-in has each one's ISO code); Moldova and Norway have facts there, Norway
#: two websites (two rows) and a head of government without an English label.
FX = "https://example.org/wikidata-fixture/"
FACTS = [
    ("country/albania", "Albania", None, None, None, None, None, None),
    ("country/canada", "Canada", None, None, None, None, None, None),
    ("country/india", "India", None, None, None, None, None, None),
    ("country/japan", "Japan", None, None, None, None, None, None),
    (
        "country/moldova", "Moldova", FX + "capital-of-moldova", "Capital of Moldova (fixture)",
        "1000", FX + "head-of-government-of-moldova", "Head of government of Moldova (fixture)",
        FX + "website/moldova",
    ),
    ("country/north-macedonia", "North Macedonia", None, None, None, None, None, None),
    (
        "country/norway", "Norway", FX + "capital-of-norway", "Capital of Norway (fixture)",
        "2000", FX + "head-of-government-of-norway", None, FX + "website/norway",
    ),
    (
        "country/norway", "Norway", FX + "capital-of-norway", "Capital of Norway (fixture)",
        "2000", FX + "head-of-government-of-norway", None, FX + "website/norway-2",
    ),
    ("country/south-korea", "South Korea", None, None, None, None, None, None),
    ("country/united-kingdom", "United Kingdom", None, None, None, None, None, None),
]
FACT_COLUMNS = (
    "partner", "partnerLabel", "capital", "capitalLabel", "population",
    "headOfGovernment", "headOfGovernmentLabel", "website",
)


def test_canned_partners_wikidata_facts(
    run: Callable[..., list[dict[str, object]]], wikidata_standin: SparqlStandin
) -> None:
    rows = [tuple(r[c] for c in FACT_COLUMNS) for r in run("partners-wikidata-facts")]
    assert rows == FACTS
    assert len(wikidata_standin.queries()) == 1


def test_canned_partners_wikidata_facts_from_the_command_line(
    project_settings: Settings,
    wikidata_standin: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert project_settings.cache_dir is not None
    cli_env(monkeypatch, wikidata_standin.url, project_settings.cache_dir)
    assert main(["query", "partners-wikidata-facts", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == FACT_COLUMNS
    got = [tuple(short(_Value(c)) if c else None for c in row) for row in rows[1:]]
    assert got == FACTS


# --- refusals: nothing is fetched --------------------------------------------------------------


def test_a_service_off_the_allowlist_is_a_403_naming_it(
    client: FlaskClient, listener: Listener
) -> None:
    for query in (
        f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}",
        f"PREFIX x: <{listener.url}> ASK {{ SERVICE x:sparql {{ ?s ?p ?o }} }}",
    ):
        document = problem(ask(client, query), 403, "service-not-allowed")
        assert document["service"].startswith(listener.url)
    problem(ask(client, "SELECT * { SERVICE ?where { ?s ?p ?o } }"), 403, "service-not-allowed")
    assert listener.connections == []


def test_from_and_from_named_off_the_store_are_403(
    client: FlaskClient, listener: Listener
) -> None:
    for clause in ("FROM", "FROM NAMED"):
        query = f"SELECT * {clause} <{listener.url}> WHERE {{ ?s ?p ?o }}"
        document = problem(ask(client, query), 403, "remote-graph-not-allowed")
        assert document["graph"] == listener.url
    assert listener.connections == []


def test_from_a_graph_the_store_holds_still_works(client: FlaskClient) -> None:
    query = (
        PREFIXES + "SELECT ?label FROM <https://w3id.org/eusdp/graph/data/countries> "
        "WHERE { <https://w3id.org/eusdp/id/country/norway> rdfs:label ?label }"
    )
    response = ask(client, query)
    assert response.status_code == 200
    assert json_rows(response, "label") == [("Norway",)]


def test_load_is_refused_as_an_update_and_fetches_nothing(
    client: FlaskClient, listener: Listener
) -> None:
    response = client.post("/sparql", data={"update": f"LOAD <{listener.url}>"})
    problem(response, 403, "read-only")
    response = client.post("/sparql", data={"query": f"LOAD <{listener.url}>"})
    problem(response, 403, "read-only")
    assert listener.connections == []


def test_rdflib_engine_is_guarded_too(store: Store, listener: Listener) -> None:
    with pytest.raises(ServiceRefused):
        store.reference_query(f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}")
    with pytest.raises(DatasetRefused):
        store.reference_query(f"SELECT * FROM <{listener.url}> {{ ?s ?p ?o }}")
    assert listener.connections == []


def test_the_command_line_refuses_in_one_line(
    project_settings: Settings,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert project_settings.cache_dir is not None
    cli_env(monkeypatch, f"http://127.0.0.1:{closed_port()}/", project_settings.cache_dir)
    assert main(["query", f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"]) == 1
    err = capsys.readouterr().err
    assert "is not allowed" in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["query", EU_BODIES]) == 1  # Wikidata mapped to a closed port
    err = capsys.readouterr().err
    assert "cannot be reached" in err and WIKIDATA_SPARQL in err and err.count("\n") == 1
    assert listener.connections == []


def test_an_ask_with_a_service_is_checked_at_load_without_a_fetch(
    tmp_path: Path, listener: Listener
) -> None:
    (tmp_path / "remote-ask.rq").write_text(
        f"#+ summary: test\nASK {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}\n",
        encoding="utf-8",
    )
    catalog: Catalog = load_catalog(tmp_path)
    assert catalog.get("remote-ask").query_type == "ask"
    assert listener.connections == []


# --- a failing remote: 502 / 504, and the server goes on ------------------------------------


def test_a_stalled_wikidata_is_a_504_and_the_server_stays_healthy(
    client: FlaskClient,
    store: Store,
    wikidata_standin: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow(store, monkeypatch, wikidata_standin.url)
    wikidata_standin.behaviour.mode = "stall"
    document = problem(ask(client, EU_BODIES), 504, "service-timeout")
    assert document["service"] == WIKIDATA_SPARQL and WIKIDATA_SPARQL in document["detail"]
    assert client.get("/health").status_code == 200
    assert ask(client, "ASK { ?s ?p ?o }").get_json()["boolean"] is True


def test_garbage_from_wikidata_is_a_502(
    client: FlaskClient,
    store: Store,
    wikidata_standin: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow(store, monkeypatch, wikidata_standin.url)
    wikidata_standin.behaviour.mode = "garbage"
    document = problem(ask(client, EU_BODIES), 502, "service-failed")
    assert document["service"] == WIKIDATA_SPARQL
    assert client.get("/health").status_code == 200


def test_unreachable_wikidata_is_a_502(
    client: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow(store, monkeypatch, f"http://127.0.0.1:{closed_port()}/sparql")
    document = problem(ask(client, EU_BODIES), 502, "service-failed")
    assert "cannot be reached" in document["detail"]


def test_service_silent_turns_a_failure_into_an_empty_join(
    client: FlaskClient,
    store: Store,
    wikidata_standin: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow(store, monkeypatch, wikidata_standin.url)
    wikidata_standin.behaviour.mode = "garbage"
    query = EU_BODIES.replace("SERVICE <", "SERVICE SILENT <").replace(
        "ORDER BY ?wikidataLabel", "ORDER BY ?body"
    )
    response = ask(client, query)
    assert response.status_code == 200
    assert json_rows(response, "body", "wikidataLabel") == [
        ("organisation/council-of-the-eu", None),
        ("organisation/eda", None),
        ("organisation/eeas", None),
        ("organisation/european-commission", None),
        ("organisation/european-council", None),
        ("organisation/foreign-affairs-council", None),
    ]


def test_federation_can_be_switched_off(
    project_settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(project_settings, federation_allowlist=(), federation_map=())
    monkeypatch.setattr(store, "federation", Federation((), {}, RemoteOptions()))
    client = create_app(settings, store).test_client()
    document = problem(ask(client, EU_BODIES), 403, "service-not-allowed")
    assert "allowed: none" in document["detail"]
