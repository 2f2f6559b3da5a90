"""``/sparql`` queries without Flask: the endpoint's hot path as a plain WSGI function.

A query to ``/sparql`` is the one request that is new every time (a cached canned
answer is served by :mod:`eusdp.web.fastpath` before this): measured with py-spy
under ``bench/run --scale 1``, the server process spent about as much CPU on
routing, the request context, the hooks and the response object around a query as
on everything else it did for it. This middleware answers GET and POST query
requests itself and hands every other request to Flask unchanged.

It runs the same code as the Flask view, only called with explicit arguments
instead of Flask's globals: the Protocol reader (:func:`read_protocol_request`),
the checks and negotiation (:func:`eusdp.web.sparql.query_job`), the run and its
errors (:func:`eusdp.web.answers.run_job`), the per-client limit, the response
policy, and problem documents for every error. So an answer, its headers and its
errors are the same whichever path served them; the Protocol tests run through it.
One shortcut of its own: a query sent alone that the cost gate proves cheap is checked
by the gate's reading instead of ``query_job`` and not counted by the limit (see
``_serve``); a test holds its answers and errors equal to Flask's.

What it leaves to Flask: a request without a query (the service description), an
update (refused there with the right status), HEAD and OPTIONS, and a POST whose
body length is not declared.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.sansio.utils import get_current_url
from werkzeug.wsgi import get_host

from ..errors import InternalError, federation_problem, problem_response
from ..federation import FederationError
from ..querying import FORMS, QueryAnswer, QueryJob, QueryService
from . import AppState, apply_policy, cors_headers
from .answers import answer_headers, deadline_param, run_job
from .fastpath import StartResponse, WSGIApp, mark_cacheable
from .limits import ClientLimiter
from .negotiation import choose
from .protocol import ProtocolRequest, check_body_size, read_protocol_request
from .sparql import query_job

PATH = "/sparql"
_METHODS = frozenset({"GET", "POST"})
_NOSNIFF = ("X-Content-Type-Options", "nosniff")  # answers are never HTML: no CSP to add
#: The app-wide policy on an answer: the lane takes GET and POST, never a preflight.
_POLICY = (*cors_headers(None, preflight=False), _NOSNIFF)


class SparqlLane:
    """WSGI middleware: answers ``/sparql`` queries, passes the rest to ``app``.

    ``before`` are called before a query runs, as Flask's ``before_request`` hooks
    would be (the file watcher starts in each worker this way); ``limiter`` is the
    app's per-client query limit, shared with the Flask routes that run queries.
    """

    def __init__(
        self,
        app: WSGIApp,
        state: AppState,
        *,
        limiter: ClientLimiter | None,
        before: Sequence[Callable[[], None]] = (),
        logger: logging.Logger,
    ) -> None:
        self.app = app
        self.state = state
        self.limiter = limiter
        self.before = tuple(before)
        self.logger = logger
        self.answered = 0  # queries this lane answered itself: for tests

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") not in _METHODS:
            return self.app(environ, start_response)
        try:
            return self._serve(environ, start_response)
        except HTTPException as exc:
            return self._problem(exc, environ, start_response)
        except FederationError as exc:  # a refused or failed SERVICE / FROM
            return self._problem(federation_problem(exc), environ, start_response)
        except Exception:  # a bug: logged with its traceback, answered without it
            self.logger.exception("unhandled error on %s %s", environ["REQUEST_METHOD"], PATH)
            failed = InternalError(
                "The server failed to answer this request. The failure has been logged."
            )
            return self._problem(failed, environ, start_response)

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        settings = self.state.settings
        body = b""
        if environ["REQUEST_METHOD"] == "POST":
            declared = _content_length(environ)
            if declared is None:  # chunked, or unreadable: Flask reads those
                return self.app(environ, start_response)
            check_body_size(declared, settings.max_query_bytes)
            body = environ["wsgi.input"].read(declared) if declared else b""
        req = read_protocol_request(
            environ["REQUEST_METHOD"],
            environ.get("QUERY_STRING", "").encode("latin-1"),
            environ.get("CONTENT_TYPE"),
            body,
            max_query_bytes=settings.max_query_bytes,
        )
        if req.operation != "query":
            environ["wsgi.input"] = io.BytesIO(body)  # the body was read: hand it on
            return self.app(environ, start_response)
        for hook in self.before:
            hook()
        service = self.state.queries
        accept = environ.get("HTTP_ACCEPT")
        # Nothing asked but the query, and provably cheap: the gate has read the whole text
        # (a SELECT or ASK without FROM, SERVICE or GRAPH, nested at most 16 deep), which
        # stands for query_job's checks, and the query runs here without a worker, so it is
        # not counted against the client's limit (which keeps workers free). The rest of
        # the way is the same: run_job, its errors, the same headers.
        cheap = service.judge(req.text, service.deadline) if len(req.params) == 1 else None
        if cheap is not None:
            job = QueryJob(
                req.text,
                _negotiated(cheap.form, accept),
                base_iri=_base_url(environ),
                max_rows=settings.max_rows,
            )
            result = run_job(service, job)
        else:
            result, job = self._run(req, environ, service, accept)
        if service.cacheable(job):
            mark_cacheable(environ)
        self.answered += 1
        start_response("200 OK", [*answer_headers(result, job), *_POLICY])
        return [result.body]

    def _run(
        self,
        req: ProtocolRequest,
        environ: dict[str, Any],
        service: QueryService,
        accept: str | None,
    ) -> tuple[QueryAnswer, QueryJob]:
        """Check the request, then run its query under the client's limit."""
        client = environ.get("REMOTE_ADDR") or "unknown"
        if self.limiter is not None:
            self.limiter.enter(client)
        try:
            job = query_job(
                req,
                accept=accept,
                base_url=_base_url(environ),
                max_rows=self.state.settings.max_rows,
            )
            return run_job(service, job, deadline_param(req), client), job
        finally:
            if self.limiter is not None:
                self.limiter.leave(client)

    @staticmethod
    def _problem(
        exc: HTTPException, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        # GET and POST only here, never a preflight: the request's headers are not echoed.
        response = apply_policy(problem_response(exc), None, preflight=False)
        return response(environ, start_response)


def _content_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


@functools.lru_cache(maxsize=256)
def _negotiated(form: str, accept: str | None) -> str:
    """The format of a ``form`` answer for this Accept header, without ``format=``: the
    same :func:`~eusdp.web.negotiation.choose`, remembered (a handful of Accept headers
    make nearly every request). An Accept that fits nothing raises every time."""
    return choose(FORMS[form], requested=None, accept=accept).name


_BASE_URLS: dict[tuple[str, ...], str] = {}


def _base_url(environ: dict[str, Any]) -> str:
    """The endpoint's URL as Flask's ``request.base_url`` gives it (the base of relative
    IRIs): the script name is decoded as Werkzeug decodes it, UTF-8 read as latin-1.

    Remembered per host and script name (building it cost 15% of the lane's time); the
    Host header is the client's to choose, so at most a few hundred are kept."""
    get = environ.get
    key = (  # what the URL is made of, written out (no generator)
        get("wsgi.url_scheme", ""),
        get("HTTP_HOST", ""),
        get("SERVER_NAME", ""),
        get("SERVER_PORT", ""),
        get("SCRIPT_NAME", ""),
    )
    url = _BASE_URLS.get(key)
    if url is None:
        root = environ.get("SCRIPT_NAME", "").encode("latin-1").decode("utf-8", "replace")
        scheme = environ.get("wsgi.url_scheme", "http")
        url = get_current_url(scheme, get_host(environ), root, PATH)
        if len(_BASE_URLS) >= 256:
            _BASE_URLS.clear()
        _BASE_URLS[key] = url
    return url
