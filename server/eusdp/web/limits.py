"""Concurrent queries per client: one client cannot take every query worker.

Counted per server process (each Granian worker counts its own clients), by the
address the request comes from: behind a reverse proxy every client shares the
proxy's address, so raise ``max_client_queries`` there or key on a trusted
forwarding header at the proxy. Only the routes that run queries are counted, and
on ``/sparql`` not a query sent without other parameters that the cost gate proves
cheap (:mod:`eusdp.cost`; the lane's short way, :mod:`eusdp.web.lane`): it runs on the
request's own thread without a worker, so it cannot keep workers from other clients.
"""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask, g, request

from ..errors import TooManyQueries

#: Endpoints (Flask endpoint names) that run a query in a worker.
QUERY_ENDPOINTS = frozenset({"sparql.endpoint", "queries.run"})


class ClientLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def enter(self, client: str) -> None:
        with self._lock:
            if self._running[client] >= self.limit:
                raise TooManyQueries(
                    f"this client already has {self.limit} queries running; "
                    "wait for one to finish",
                    limit=self.limit,
                )
            self._running[client] += 1

    def leave(self, client: str) -> None:
        with self._lock:
            self._running[client] -= 1
            if self._running[client] <= 0:
                del self._running[client]


def install(app: Flask, limit: int) -> ClientLimiter | None:
    """Count queries in ``before_request`` and release them when the request ends.
    Returns the limiter, for the ``/sparql`` lane to count its queries in the same one."""
    if limit <= 0:
        return None
    limiter = ClientLimiter(limit)

    @app.before_request
    def _enter() -> None:
        if request.endpoint in QUERY_ENDPOINTS and request.method in {"GET", "POST"}:
            client = request.remote_addr or "unknown"
            limiter.enter(client)
            g.eusdp_client = client

    @app.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        client = g.pop("eusdp_client", None)
        if client is not None:
            limiter.leave(client)

    return limiter
