"""Limits: concurrent queries per client, query size, answer size, rows; each over-limit
case is a 4xx or 503 problem document."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask

from eusdp.config import Settings, load_settings
from eusdp.store import Store
from eusdp.web import create_app

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
#: Quick, but a UNION: not judged (eusdp.cost), so it goes to a worker and is counted.
WORKER = "ASK { {} UNION {} }"
#: Provably cheap: runs in the server process, takes no worker, is not counted.
CHEAP = "ASK {}"


def app_with(project_settings: Settings, store: Store, **overrides: object) -> Flask:
    return create_app(load_settings(**{**vars(project_settings), **overrides}), store)


def test_a_client_may_not_run_more_queries_at_once_than_allowed(
    project_settings: Settings, store: Store
) -> None:
    app = app_with(project_settings, store, max_client_queries=1, query_timeout=1.5)
    client = app.test_client()
    background = threading.Thread(
        target=lambda: client.get("/sparql", query_string={"query": SLOW})
    )
    background.start()
    time.sleep(0.3)
    try:
        response = client.get("/sparql", query_string={"query": WORKER})
        assert response.status_code == 429
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "too-many-queries"
        assert response.headers["Retry-After"] == "1"
        other = client.get(
            "/sparql", query_string={"query": WORKER}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
        )
        assert other.status_code == 200  # another client is not held up
        # A provably cheap query needs no worker: the limit, which keeps workers free, lets it by.
        assert client.get("/sparql", query_string={"query": CHEAP}).status_code == 200
    finally:
        background.join()
    assert client.get("/sparql", query_string={"query": WORKER}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "query", "status", "code"),
    [
        ({"max_query_bytes": 100}, "SELECT * WHERE { ?s ?p ?o }" + " " * 200, 413,
         "query-too-large"),
        ({"max_response_bytes": 500}, "SELECT * WHERE { ?s ?p ?o }", 400, "answer-too-large"),
    ],
    ids=["query-size", "answer-size"],
)  # fmt: skip
def test_size_limits_are_problems(
    project_settings: Settings,
    store: Store,
    overrides: dict[str, object],
    query: str,
    status: int,
    code: str,
) -> None:
    client = app_with(project_settings, store, **overrides).test_client()
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == status
    assert response.get_json()["code"] == code


def test_rows_over_the_limit_are_cut_and_said(project_settings: Settings, store: Store) -> None:
    client = app_with(project_settings, store, max_rows=7).test_client()
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 200
    assert response.headers["X-Eusdp-Truncated"] == "true"
    assert response.get_json()["truncated"] is True
    assert len(response.get_json()["results"]["bindings"]) == 7
    csv = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }",
                                              "format": "csv"})  # fmt: skip
    assert csv.headers["X-Eusdp-Truncated"] == "true"
    assert len(csv.get_data(as_text=True).strip().splitlines()) == 1 + 7
    whole = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 3"})
    assert "truncated" not in whole.get_json()
