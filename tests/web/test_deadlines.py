"""Queries that never finish are stopped at the deadline by the real server (Granian,
worker processes), and the server answers a normal query right after."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from web_support import LiveServer, live_server_process, project_settings

DEADLINE = 2.0

#: Never finish on our graph: a cross product of four triple patterns (counted: a plain
#: SELECT * is cut lazily at the row limit and answers at once), a negated property path
#: over all nodes, a GROUP_CONCAT over a cross product.
ENDLESS = {
    "cross-product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
    "property-path": "PREFIX e: <https://w3id.org/eusdp/ontology#> "
    "SELECT (COUNT(*) AS ?n) WHERE { ?s (e:partner|!e:partner)* ?o . ?x ?y ?z }",
    "group-concat": "SELECT (GROUP_CONCAT(CONCAT(STR(?a), STR(?b), STR(?c))) AS ?n)"
    " WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }",
}
NATO = (
    "SELECT ?c WHERE { ?c a <https://w3id.org/eusdp/ontology#NATOMemberPartner> } ORDER BY ?c"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("deadline")
    settings = project_settings(tmp, WORKERS="1", THREADS="4", QUERY_TIMEOUT=str(DEADLINE))
    with live_server_process(settings, tmp) as live:
        yield live


def ask(server: LiveServer, query: str, **params: str) -> tuple[int, dict[str, str], bytes]:
    path = "/sparql?" + urlencode({"query": query, **params})
    return server.request("GET", path, headers={"Accept": "application/sparql-results+json"})


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_endless_query_is_stopped_and_the_next_is_answered(server: LiveServer, name: str) -> None:
    start = time.monotonic()
    status, headers, body = ask(server, ENDLESS[name])
    took = time.monotonic() - start
    assert status == 503
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["code"] == "query-timeout" and "ran out of time" in problem["detail"]
    assert took < DEADLINE + 1
    status, _, body = ask(server, NATO)
    assert status == 200
    assert len(json.loads(body)["results"]["bindings"]) == 5


def test_client_may_ask_for_less_time(server: LiveServer) -> None:
    start = time.monotonic()
    status, _, _ = ask(server, ENDLESS["cross-product"], timeout="0.5")
    assert status == 503
    assert time.monotonic() - start < 0.5 + 1
    status, _, body = ask(server, NATO, timeout="abc")
    assert status == 400 and json.loads(body)["parameter"] == "timeout"


def test_canned_queries_answer_and_are_cached(server: LiveServer) -> None:
    """CSV is not primed: kept once asked twice (``cache_min_uses``), then a hit."""
    first, second, third = (
        server.request("GET", "/queries/partners-in-nato?format=csv") for _ in range(3)
    )
    assert first[0] == second[0] == third[0] == 200
    assert first[2] == second[2] == third[2]
    assert first[2].decode().splitlines()[1].startswith("https://w3id.org/eusdp/id/country/canada")
    assert third[1].get("x-eusdp-cache") == "hit"


def test_an_endless_select_star_is_cut_at_the_row_limit_not_run_forever(server: LiveServer) -> None:
    status, headers, body = ask(server, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
    assert status == 200
    assert headers["x-eusdp-truncated"] == "true"
    assert len(json.loads(body)["results"]["bindings"]) == int(headers["x-eusdp-max-rows"])


def test_the_canned_answers_are_ready_before_the_first_request(server: LiveServer) -> None:
    """``serve`` answered the canned queries into the cache before its workers forked."""
    status, headers, body = server.request(
        "GET", "/queries/asian-partners", headers={"Accept": "application/sparql-results+json"}
    )
    assert status == 200
    assert headers.get("x-eusdp-cache") == "hit"
    rows = json.loads(body)["results"]["bindings"]
    assert [r["partnerLabel"]["value"] for r in rows] == ["Japan", "South Korea"]
