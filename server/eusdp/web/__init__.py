"""The web layer: :func:`create_app` builds a Flask app around one read-only store.

Nothing happens on import. The app factory takes its settings (and, in tests or
under the server's preload, an already built store) from its caller; blueprints
reach them through :func:`current_store` and :func:`current_settings`.

Cross-cutting response policy lives here, once, in an ``after_request`` hook:
- CORS: the data is public and nothing needs credentials, so any origin may
  GET or POST (a few headers do it, the preflight's only on ``OPTIONS``;
  flask-cors would be a dependency for that);
- ``X-Content-Type-Options: nosniff`` everywhere, and for HTML also a
  Content-Security-Policy and ``X-Frame-Options: DENY`` unless the view set its own.
Errors are rendered once: every ``HTTPException`` as problem+json, and any other
exception as a 500 problem without a traceback (the traceback goes to the log).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..config import Settings, load_settings
from ..errors import InternalError, federation_problem, problem_response
from ..federation import FederationError
from ..formats import MAX_ROWS_HEADER, TRUNCATED_HEADER
from ..live import LiveGraph, Watcher
from ..querying import QueryService
from ..store import Store, build_store
from .fastpath import ResponseCache

#: The CSP of HTML pages that set none: no scripts, no styles, no framing; forms post here.
DEFAULT_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

_EXTENSION = "eusdp"


@dataclass(frozen=True)
class AppState:
    """What every view needs: the settings the app was built with and the live graph
    (the store, and the service that runs clients' queries in worker processes), which
    a rebuild replaces whole."""

    settings: Settings
    live: LiveGraph

    @property
    def store(self) -> Store:
        return self.live.served.store

    @property
    def queries(self) -> QueryService:
        return self.live.served.queries


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """Build the app. Builds the store from ``settings`` unless one is given.

    ``settings`` defaults to the store's, else to :func:`load_settings` (which
    does not read the environment: the CLI does that and passes the result).
    """
    if settings is None:
        settings = store.settings if store is not None else load_settings()
    if store is None:
        store = build_store(settings)

    app = Flask(__name__)
    live = LiveGraph(settings, store)
    app_state = AppState(settings, live)
    app.extensions[_EXTENSION] = app_state
    before = [_watch(app, live, settings.reload_interval)] if settings.reload_interval > 0 else []

    # Imported here, not at module level: the blueprints import this module's accessors.
    from .data import bp as data_bp
    from .health import bp as health_bp
    from .pages import bp as pages_bp
    from .queries import bp as queries_bp
    from .sparql import bp as sparql_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(sparql_bp)
    app.register_blueprint(queries_bp)
    app.register_blueprint(data_bp)
    app.register_blueprint(pages_bp)

    from .limits import install as install_limits

    limiter = install_limits(app, settings.max_client_queries)
    app.register_error_handler(HTTPException, _render_http_error)
    # A refused SERVICE / FROM (403) or a failed remote (502, 504), from any route.
    app.register_error_handler(FederationError, _render_federation_error)
    app.register_error_handler(Exception, _render_unexpected)
    app.after_request(_response_policy)
    from .lane import SparqlLane

    lane = SparqlLane(app.wsgi_app, app_state, limiter=limiter, before=before, logger=app.logger)
    app.extensions["eusdp.lane"] = lane
    responses = ResponseCache(
        lane,
        lambda: live.served.store.version,
        settings.cache_bytes,
        min_uses=settings.cache_min_uses,
    )
    app.wsgi_app = responses  # type: ignore[method-assign]
    app.extensions["eusdp.responses"] = responses
    return app


def _watch(app: Flask, live: LiveGraph, interval: float) -> Callable[[], None]:
    """Watch the files from each serving process: under Granian the app is built in the
    master and forked, and threads do not survive a fork, so each worker starts its own
    watcher with its first request. Returns the hook that starts it, for the lane."""
    started: dict[int, Watcher] = {}
    lock = threading.Lock()

    def ensure_watcher() -> None:
        pid = os.getpid()
        if pid not in started:
            with lock:
                if pid not in started:
                    started[pid] = Watcher(live, interval).start()

    app.before_request(ensure_watcher)
    app.extensions["eusdp.watchers"] = started
    return ensure_watcher


def state() -> AppState:
    """The current app's :class:`AppState` (inside a request or app context)."""
    value = current_app.extensions[_EXTENSION]
    assert isinstance(value, AppState)
    return value


def current_store() -> Store:
    return state().store


def current_settings() -> Settings:
    return state().settings


def _render_http_error(exc: HTTPException) -> Response:
    return problem_response(exc)


def _render_federation_error(exc: FederationError) -> Response:
    return problem_response(federation_problem(exc))


def _render_unexpected(exc: Exception) -> Response:
    """A bug: log it with its traceback, answer with a bare 500 problem."""
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return problem_response(
        InternalError("The server failed to answer this request. The failure has been logged.")
    )


def cors_headers(request_headers: str | None, *, preflight: bool) -> list[tuple[str, str]]:
    """The CORS headers of a response; ``request_headers`` is the request's
    ``Access-Control-Request-Headers``, if any.

    Which methods and headers are allowed, and for how long, is said in the answer to a
    preflight (``OPTIONS``) only, where the Fetch standard reads it; other responses say
    who may read them and which of our headers (Fetch's CORS protocol, as Oxigraph's
    server does). Three headers fewer on every answer."""
    headers = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", f"{TRUNCATED_HEADER}, {MAX_ROWS_HEADER}"),
    ]
    if preflight:
        headers += [
            ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
            ("Access-Control-Allow-Headers", request_headers or "Accept, Content-Type"),
            ("Access-Control-Max-Age", "86400"),
        ]
    return headers


def apply_policy(response: Response, request_headers: str | None, *, preflight: bool) -> Response:
    """The app-wide response policy (module docstring), on any response, Flask's or not."""
    headers = response.headers
    for name, value in cors_headers(request_headers, preflight=preflight):
        headers[name] = value
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _response_policy(response: Response) -> Response:
    return apply_policy(
        response,
        request.headers.get("Access-Control-Request-Headers"),
        preflight=request.method == "OPTIONS",
    )
