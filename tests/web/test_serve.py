"""Running under Granian: the options we pass, and what only a live server can show."""

from __future__ import annotations

import http.client
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from web_support import ROOT, LiveServer, live_server_process

from eusdp.config import Settings
from eusdp.serve import MIN_THREAD_STACK, granian_options, thread_stack_bytes


def test_granian_options(web_settings: Settings) -> None:
    options = granian_options(web_settings)
    assert options["interface"] == "wsgi"
    assert (options["address"], options["port"]) == (web_settings.host, web_settings.port)
    assert options["workers"] == web_settings.worker_count
    assert options["blocking_threads"] == web_settings.threads
    assert options["runtime_mode"] == "st"  # one I/O thread per worker: see granian_options
    assert options["http1_settings"].keep_alive is True
    assert options["respawn_failed_workers"] is True
    assert options["log_access"] is web_settings.access_log is False
    assert granian_options(replace(web_settings, access_log=True))["log_access"] is True


def test_thread_stack_grows_with_the_query_limit(web_settings: Settings) -> None:
    assert thread_stack_bytes(web_settings) >= MIN_THREAD_STACK
    big = thread_stack_bytes(replace(web_settings, max_query_bytes=1_000_000))
    assert big >= 1_000_000 * 6 * 1024 and big % 65536 == 0


@pytest.mark.slow
def test_long_operator_chain_does_not_kill_the_worker(live_server: LiveServer) -> None:
    """16,000 ``&&`` overflow an 8 MB stack inside Oxigraph; request threads have more."""
    query = "ASK { FILTER(" + "&&".join(["true"] * 16_000) + ") }"  # 96 KB
    status, _, body = live_server.request(
        "POST", "/sparql", query.encode(), {"Content-Type": "application/sparql-query"}
    )
    assert status == 200, body[:300]
    assert json.loads(body)["boolean"] is True
    assert live_server.request("GET", "/health")[0] == 200


@pytest.mark.slow
def test_keep_alive(live_server: LiveServer) -> None:
    conn = http.client.HTTPConnection(live_server.host, live_server.port, timeout=30)
    try:
        for _ in range(3):
            conn.request("GET", "/sparql?query=ASK%20%7B%7D")
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["boolean"] is True
            assert response.getheader("Connection", "keep-alive").lower() != "close"
    finally:
        conn.close()


@pytest.mark.slow
def test_live_errors_are_problems(live_server: LiveServer) -> None:
    status, headers, body = live_server.request("GET", "/nowhere")
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


@pytest.mark.slow
def test_serving_from_a_store_on_disk(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``store_dir``: two workers and their query workers each open the store themselves."""
    tmp = tmp_path_factory.mktemp("on-disk")
    settings = {
        "EUSDP_ONTOLOGY_DIR": str(ROOT / "ontology"),
        "EUSDP_DATA_DIR": str(ROOT / "data"),
        "EUSDP_QUERIES_DIR": str(ROOT / "queries"),
        "EUSDP_CACHE_DIR": str(tmp / "cache"),
        "EUSDP_STORE_DIR": str(tmp / "stores"),
        "EUSDP_WORKERS": "2",
    }
    with live_server_process(settings, tmp) as server:
        status, _, body = server.request("GET", "/queries/partners-in-nato?format=csv")
        assert status == 200
        labels = {line.split(",")[1] for line in body.decode().splitlines()[1:]}
        assert labels == {"Albania", "Canada", "North Macedonia", "Norway", "United Kingdom"}
        query = "SELECT (COUNT(*) AS ?n) { ?p a <https://w3id.org/eusdp/ontology#Partnership> }"
        status, _, body = server.request("GET", "/sparql?" + urlencode({"query": query}))
        assert status == 200
        assert json.loads(body)["results"]["bindings"][0]["n"]["value"] == "9"
        html = {"Accept": "text/html"}
        status, _, body = server.request("GET", "/id/country/norway", headers=html)
        assert status == 200 and b"Norway" in body
    assert any(p.name.startswith("store-") for p in (tmp / "stores").iterdir())
