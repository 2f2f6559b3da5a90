"""The web layer: :func:`create_app` builds a Flask app around one read-only store.

Nothing happens on import. The app factory takes its settings (and, in tests or
under gunicorn's preload, an already built store) from its caller; blueprints
reach them through :func:`current_store` and :func:`current_settings`.

Cross-cutting response policy lives here, once, in an ``after_request`` hook:
- CORS: the data is public and nothing needs credentials, so any origin may
  GET or POST (a few headers do it; flask-cors would be a dependency for that);
- ``X-Content-Type-Options: nosniff`` everywhere, and for HTML also a
  Content-Security-Policy and ``X-Frame-Options: DENY`` unless the view set its own.
Errors are rendered once: every ``HTTPException`` as problem+json, and any other
exception as a 500 problem without a traceback (the traceback goes to the log).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..config import Settings, load_settings
from ..errors import InternalError, federation_problem, problem_response
from ..federation import FederationError
from ..formats import MAX_ROWS_HEADER, TRUNCATED_HEADER
from ..querying import QueryService
from ..store import Store, build_store

#: The CSP of HTML pages that set none: no scripts, no styles, no framing; forms post here.
DEFAULT_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

_EXTENSION = "eusdp"


@dataclass(frozen=True)
class AppState:
    """What every view needs: the settings the app was built with, its store, and the
    service that runs clients' queries in worker processes."""

    settings: Settings
    store: Store
    queries: QueryService


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
    service = QueryService(
        store,
        workers=settings.query_workers or settings.threads,
        deadline=settings.query_timeout,
        max_bytes=settings.max_response_bytes,
        cache_bytes=settings.cache_bytes,
        isolate=settings.isolate_queries,
    )
    app.extensions[_EXTENSION] = AppState(settings, store, service)

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

    install_limits(app, settings.max_client_queries)
    app.register_error_handler(HTTPException, _render_http_error)
    # A refused SERVICE / FROM (403) or a failed remote (502, 504), from any route.
    app.register_error_handler(FederationError, _render_federation_error)
    app.register_error_handler(Exception, _render_unexpected)
    app.after_request(_response_policy)
    return app


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


def _response_policy(response: Response) -> Response:
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "Accept, Content-Type"
    )
    headers["Access-Control-Expose-Headers"] = f"{TRUNCATED_HEADER}, {MAX_ROWS_HEADER}"
    headers["Access-Control-Max-Age"] = "86400"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
    return response
