"""Running under Granian: the options we pass, and what only a live server can show."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from flask import Flask
from web_support import LiveServer, live_server_process, project_settings
from werkzeug.test import EnvironBuilder

from eusdp.config import Settings
from eusdp.serve import (
    MIN_THREAD_STACK,
    granian_options,
    thread_stack_bytes,
    without_process_headers,
)


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


#: A server's environment as Granian copies it into every environ, with a proxy setting.
PROXIED = {"PATH": "/usr/bin", "HOME": "/srv", "HTTP_PROXY": "http://proxy.test:3128",
           "CONTENT_TYPE": "text/x-process"}  # fmt: skip


def granian_call(
    app: object, environment: dict[str, str], **headers: str
) -> tuple[str, dict[str, str], bytes]:
    """A GET as Granian hands it over: the process environment, then the request's names
    on top (a GET without a body has no ``CONTENT_*`` names of its own)."""
    request = EnvironBuilder(
        path="/sparql", query_string={"query": "ASK {}"}, headers=headers
    ).get_environ()
    own = {k: v for k, v in request.items() if not (k.startswith("CONTENT_") and not v)}
    environ = {**environment, **own}
    seen: list[object] = []

    def start_response(status: str, head: list[tuple[str, str]], exc_info: object = None) -> None:
        seen[:] = [status, dict(head)]

    body = b"".join(app(environ, start_response))  # type: ignore[operator]
    return str(seen[0]), seen[1], body  # type: ignore[return-value]


def test_an_environment_without_request_names_leaves_the_app_as_it_is(app: Flask) -> None:
    assert without_process_headers(app, {"PATH": "/usr/bin", "HTTPS_PROXY": "x"}) is app


def test_the_process_environment_is_not_taken_for_request_headers() -> None:
    seen: list[dict[str, object]] = []

    def probe(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.append(dict(environ))
        start_response("200 OK", [])  # type: ignore[operator]
        return [b""]

    wrapped = without_process_headers(probe, PROXIED)
    granian_call(wrapped, PROXIED)
    assert "HTTP_PROXY" not in seen[0] and "CONTENT_TYPE" not in seen[0]
    assert seen[0]["PATH"] == "/usr/bin"  # the rest of the environment stays
    granian_call(wrapped, PROXIED, Proxy="http://client.test")  # the client's own: kept
    assert seen[1]["HTTP_PROXY"] == "http://client.test"


def test_a_proxy_setting_does_not_turn_the_response_cache_off(app: Flask) -> None:
    """Unwrapped, every request looks like it carries a ``Proxy`` header, which the
    response cache does not know: it answers none of them (the first assertion)."""
    plain = [granian_call(app, PROXIED)[1].get("X-Eusdp-Cache") for _ in range(4)]
    assert "hit" not in plain
    wrapped = without_process_headers(app, PROXIED)
    answers = [granian_call(wrapped, PROXIED) for _ in range(4)]
    assert all(status.startswith("200") for status, _, _ in answers)
    assert all(json.loads(body)["boolean"] is True for _, _, body in answers)
    assert answers[-1][1].get("X-Eusdp-Cache") == "hit"  # kept once asked enough times


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
    settings = project_settings(tmp, STORE_DIR=str(tmp / "stores"), WORKERS="2")
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


#: A query that runs far past any deadline on the project graph (four-way cross product).
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def _get_from(server: LiveServer, source: str, path: str) -> tuple[int, bytes]:
    """A GET on a fresh connection from the local address ``source`` (another client)."""
    conn = http.client.HTTPConnection(
        server.host, server.port, timeout=60, source_address=(source, 0)
    )
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_one_clients_long_query_holds_up_no_other_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The default threads and spare worker, one server process with one query worker (the
    worst case: every request reaches the process, and the worker, running the long
    query; as on two cores, where each process has one). While one client's query runs
    until its deadline, another client gets a cached canned answer, the health check and
    an ad-hoc query answered, each before the long one ends; the long one is then stopped
    at its deadline (503)."""
    tmp = tmp_path_factory.mktemp("long-query")
    settings = project_settings(tmp, WORKERS="1", QUERY_WORKERS="1")
    with live_server_process(settings, tmp) as server:
        long: list[tuple[int, bytes]] = []
        path = "/sparql?" + urlencode({"query": ENDLESS, "timeout": "8"})
        runner = threading.Thread(target=lambda: long.append(_get_from(server, "127.0.0.2", path)))
        runner.start()
        time.sleep(1.0)  # it is running, and past the half second after which a spare helps
        assert _get_from(server, "127.0.0.1", "/queries/partners-in-nato")[0] == 200
        assert _get_from(server, "127.0.0.1", "/health")[0] == 200
        query = "SELECT (COUNT(*) AS ?n) { ?p a <https://w3id.org/eusdp/ontology#Partnership> }"
        status, body = _get_from(server, "127.0.0.1", "/sparql?" + urlencode({"query": query}))
        assert status == 200 and json.loads(body)["results"]["bindings"][0]["n"]["value"] == "9"
        assert runner.is_alive()  # all three answered while the long query still ran
        runner.join(30)
        assert long[0][0] == 503
