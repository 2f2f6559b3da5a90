"""The response cache in front of Flask: what it answers itself, and what it never may."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eusdp.web.fastpath import _HARMLESS, _KEYED, ResponseCache, mark_cacheable

ASK = "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D"


def responses(app: Flask) -> ResponseCache:
    cache = app.extensions["eusdp.responses"]
    assert isinstance(cache, ResponseCache)
    return cache


def test_a_repeated_query_is_answered_by_the_cache(app: Flask, client: FlaskClient) -> None:
    """Kept once asked twice (``cache_min_uses``), answered from memory the third time."""
    first, second, third = (
        client.get(ASK, headers={"Accept": "application/sparql-results+json"}) for _ in range(3)
    )
    assert first.status_code == second.status_code == third.status_code == 200
    assert "X-Eusdp-Cache" not in first.headers and "X-Eusdp-Cache" not in second.headers
    assert third.data == first.data and b'"boolean":true' in third.data
    assert third.headers["X-Eusdp-Cache"] == "hit"
    assert third.headers["Content-Type"] == first.headers["Content-Type"]
    assert third.headers["Access-Control-Allow-Origin"] == "*"
    assert responses(app).stats()["hits"] == 1


def test_a_query_asked_once_is_not_kept(app: Flask, client: FlaskClient) -> None:
    before = responses(app).stats()
    response = client.get(ASK.replace("ASK%20", "ASK%20%20"))  # a text asked nowhere else
    assert response.status_code == 200
    after = responses(app).stats()
    assert after["entries"] == before["entries"] and after["misses"] == before["misses"] + 1
    assert after["declined"] == before["declined"] + 1


def test_accept_is_part_of_the_key(app: Flask, client: FlaskClient) -> None:
    json_body = client.get(ASK, headers={"Accept": "application/sparql-results+json"}).data
    xml = client.get(ASK, headers={"Accept": "application/sparql-results+xml"})
    assert xml.data != json_body and xml.data.startswith(b"<?xml")
    assert "X-Eusdp-Cache" not in xml.headers or responses(app).stats()["hits"] == 0


def test_conditional_requests_go_to_the_app(app: Flask, client: FlaskClient) -> None:
    first = client.get("/data?format=nt")
    tag = first.headers["ETag"]
    again = client.get("/data?format=nt", headers={"If-None-Match": tag})
    assert again.status_code == 304  # answered by the app, which knows validators
    assert responses(app).stats()["hits"] == 0


def test_errors_are_never_kept(app: Flask, client: FlaskClient) -> None:
    for _ in range(3):
        response = client.get("/sparql?query=SELEC%20*")
        assert response.status_code == 400
    stats = responses(app).stats()
    assert (stats["entries"], stats["hits"], stats["misses"]) == (0, 0, 3)


def test_unmarked_responses_are_never_kept(app: Flask, client: FlaskClient) -> None:
    client.get("/health")
    client.get("/health")
    assert responses(app).stats()["entries"] == 0


def test_posts_go_to_the_app(app: Flask, client: FlaskClient) -> None:
    for _ in range(2):
        client.post("/sparql", data={"query": "ASK {}"})
    assert responses(app).stats() == {
        "entries": 0, "bytes": 0, "hits": 0, "misses": 0, "declined": 0
    }  # fmt: skip


# --- the middleware alone, around a counting WSGI app ----------------------------------


class Counting:
    """A WSGI app that marks its answers cacheable and counts how often it is called."""

    def __init__(self, status: str = "200 OK", mark: bool = True, size: int = 10) -> None:
        self.calls = 0
        self.status, self.mark, self.size = status, mark, size

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        if self.mark:
            mark_cacheable(environ)
        start_response(self.status, [("Content-Type", "text/plain")])
        return [b"x" * self.size, str(self.calls).encode()]


def call(app: ResponseCache, path: str = "/", **headers: str) -> tuple[str, bytes]:
    seen: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "wsgi.url_scheme": "http", **headers}  # fmt: skip
    body = b"".join(app(environ, lambda status, headers, exc=None: seen.append(status)))
    return seen[0], body


def test_a_new_graph_version_empties_the_cache() -> None:
    inner, version = Counting(), ["v1"]
    app = ResponseCache(inner, lambda: version[0], 10_000)
    assert call(app)[1] == call(app)[1] and inner.calls == 1
    version[0] = "v2"
    call(app)
    assert inner.calls == 2
    assert app.stats()["entries"] == 1  # the v1 entry went with its graph


def test_unknown_headers_bypass_the_cache() -> None:
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 10_000)
    call(app, HTTP_AUTHORIZATION="Basic eA==")
    call(app, HTTP_AUTHORIZATION="Basic eA==")
    call(app, HTTP_RANGE="bytes=0-1")
    assert inner.calls == 3 and app.stats()["entries"] == 0


@pytest.mark.parametrize("name", _KEYED)
def test_each_keyed_header_is_in_the_key(name: str) -> None:
    """``_key`` writes the keyed headers out one by one: none may be left out."""
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 10_000)
    for value in ("a", "b", "a"):
        call(app, **{name: value})
    assert inner.calls == 2 and app.stats()["hits"] == 1


def test_headers_are_found_among_the_process_environment_granian_adds() -> None:
    """Granian copies the process's environment into every environ; the scan for headers
    skips those names, and still finds a header whatever its place or name."""
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 10_000)
    process = {name: "x" for name in os.environ if not name.startswith("HTTP_")}
    assert len(process) > 5  # the case this test is about
    call(app, **process, HTTP_ACCEPT="text/csv")
    call(app, **process, HTTP_ACCEPT="text/csv")
    assert inner.calls == 1 and app.stats()["hits"] == 1
    for unknown in ("HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH", "HTTP_PATH"):
        call(app, **{unknown: "1"}, **process, HTTP_ACCEPT="text/csv")
        call(app, **process, HTTP_ACCEPT="text/csv", **{unknown: "1"})
    assert inner.calls == 7 and app.stats()["hits"] == 1
    learned = app._names.known - _HARMLESS
    assert set(process) <= learned  # the first request taught the names...
    assert not [name for name in learned if name.startswith("HTTP_")]  # ...never a header


@pytest.mark.parametrize("inner", [Counting(status="404 NOT FOUND"), Counting(mark=False)])
def test_only_marked_200_answers_are_kept(inner: Counting) -> None:
    app = ResponseCache(inner, lambda: "v", 10_000)
    call(app)
    call(app)
    assert inner.calls == 2


def test_the_budget_holds() -> None:
    inner = Counting(size=400)
    app = ResponseCache(inner, lambda: "v", 8_000)  # entries count ~914 bytes: 8 fit
    for i in range(20):
        call(app, f"/{i}")
    stats = app.stats()
    assert stats["bytes"] <= 8_000 and stats["entries"] == 8
    call(app, "/19")  # the newest stayed
    assert inner.calls == 20
    call(app, "/0")  # the oldest went
    assert inner.calls == 21


def test_a_large_body_is_not_kept() -> None:
    inner = Counting(size=2_000)
    app = ResponseCache(inner, lambda: "v", 8_000)  # one entry may take an eighth
    call(app)
    call(app)
    assert inner.calls == 2


def test_zero_budget_turns_it_off() -> None:
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 0)
    call(app)
    call(app)
    assert inner.calls == 2


def test_with_min_uses_a_response_is_kept_the_second_time_only() -> None:
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 10_000, min_uses=2)
    bodies = [call(app)[1] for _ in range(4)]
    assert inner.calls == 2  # the first two went to the app, the next two were kept ones
    assert bodies[1] == bodies[2] == bodies[3] != bodies[0]
    assert app.stats() == {"entries": 1, "bytes": 523, "hits": 2, "misses": 2, "declined": 1}


def test_with_min_uses_one_off_requests_leave_the_cache_alone() -> None:
    inner = Counting()
    app = ResponseCache(inner, lambda: "v", 10_000, min_uses=2)
    call(app, "/kept")
    call(app, "/kept")
    for i in range(50):  # all kept, they would fill the budget (19 entries) twice over
        call(app, f"/once/{i}")
    # Kept early only where two keys share a counter (a chance of ~1 in 800 here).
    assert app.stats()["entries"] < 5
    calls = inner.calls
    call(app, "/kept")
    assert inner.calls == calls  # still answered from memory
