"""The baton: one request thread serves, the others wait on the bench until it is stuck."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eusdp.baton import Baton
from eusdp.serve import bench_spare_threads

STUCK = 0.3  # long enough that a slow machine does not see a holder stuck by accident


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[float]]:
    """``work`` run in a new thread; the list gets the time it returned."""
    done: list[float] = []

    def run() -> None:
        work()
        done.append(time.monotonic())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def serve_one(baton: Baton) -> None:
    baton.start()
    baton.finish()


def test_the_holder_goes_straight_back_for_more() -> None:
    baton = Baton(stuck=60.0)
    began = time.monotonic()
    for _ in range(100):
        serve_one(baton)
    assert time.monotonic() - began < 1.0  # never benched: nobody else serves
    assert baton.benched == 0 and baton.handovers == 0


def test_a_thread_done_while_the_holder_is_busy_waits_until_the_holder_is_free() -> None:
    baton = Baton(stuck=STUCK)
    baton.start()  # this thread holds the baton, busy with a request
    began = time.monotonic()
    other, done = in_thread(lambda: serve_one(baton))
    time.sleep(STUCK / 3)
    assert not done and baton.benched == 1  # its response is out; it waits, not serving
    baton.finish()  # the holder is free again; the benched one looks when it was to be stuck
    other.join(5)
    assert done and done[0] - began >= STUCK * 0.9
    assert baton.benched == 0 and baton.handovers == 0


def test_a_holder_stuck_in_one_request_hands_the_serving_over() -> None:
    baton = Baton(stuck=STUCK)
    baton.start()  # a long request: never finished while the other thread waits
    began = time.monotonic()
    other, done = in_thread(lambda: serve_one(baton))
    other.join(5)
    assert done and STUCK * 0.9 <= done[0] - began < STUCK * 3
    assert baton.handovers == 1  # the other thread took over and went back to serving
    # The long request ends: its thread finds the new holder free, and serves again.
    ended = time.monotonic()
    baton.finish()
    assert time.monotonic() - ended < STUCK / 3 and baton.benched == 0


def test_a_thread_done_while_nobody_serves_goes_back_at_once() -> None:
    baton = Baton(stuck=60.0)
    serve_one(baton)  # this thread held it last, and is idle
    other, done = in_thread(lambda: serve_one(baton))
    other.join(5)
    assert done and baton.benched == 0  # the holder was idle: no waiting


class _Protocol:
    """Granian's per-request protocol object, as far as its WSGI wrapper uses it."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.log.append(f"sent {status} {body!r}")


class _Watched(Baton):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def start(self) -> None:
        self.log.append("start")
        super().start()

    def finish(self) -> None:
        self.log.append("finish")
        super().finish()


@pytest.fixture
def granian_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Granian's worker module, its wrapper put back as it was after the test."""
    from granian.server import mp

    monkeypatch.setattr(mp, "_wsgi_call_wrap", mp._wsgi_call_wrap)
    yield mp


def test_granian_sends_the_response_before_the_thread_can_wait(granian_workers: Any) -> None:
    """The installed Granian has the wrapper the baton goes around, and a request's
    response is handed over before the baton's ``finish`` (where a thread may wait)."""
    import inspect

    from granian.server import Server

    # The server class serve() starts is this module's, and its WSGI worker looks the
    # wrapper up there when it starts (so a worker forked after the hook gets ours).
    assert Server is granian_workers.MPServer
    spawn = inspect.unwrap(granian_workers.MPServer._spawn_wsgi_worker)
    assert "_wsgi_call_wrap" in spawn.__code__.co_names
    log: list[str] = []
    assert bench_spare_threads(_Watched(log))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        log.append("app")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    runner = granian_workers._wsgi_call_wrap(app, {}, None)
    scope = {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    assert runner(_Protocol(log), scope) == 200
    assert log == ["start", "app", "sent 200 b'hi'", "finish"]
    # Hooking twice does not put two batons around a request.
    assert bench_spare_threads(_Watched(log))
    log.clear()
    granian_workers._wsgi_call_wrap(app, {}, None)(_Protocol(log), scope)
    assert log == ["start", "app", "sent 200 b'hi'", "finish"]
