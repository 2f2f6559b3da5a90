"""Answering a query job over HTTP: the one place where a run becomes a response.

``/sparql`` and ``/queries/<name>`` build a :class:`~eusdp.querying.QueryJob` (the
format already negotiated) and hand it here; the app's
:class:`~eusdp.querying.QueryService` runs it in a worker under the deadline, and
what can go wrong on the way becomes a problem document: a syntax error (400,
with line and column), a deadline passed (503), a worker that the query
crashed (400: the query is too complex for the engine), every worker busy
(503, Retry-After), an answer over the size limit (400).
"""

from __future__ import annotations

from flask import Response, request

from ..errors import (
    AnswerTooLarge,
    BadParameter,
    QueryTimedOut,
    QueryTooComplex,
    ServerBusy,
    query_syntax_error,
)
from ..executor import Busy, Overrun, WorkerDied
from ..formats import MAX_ROWS_HEADER, TRUNCATED_HEADER, find_format
from ..querying import AnswerTooLarge as TooLarge
from ..querying import QueryJob
from . import state
from .fastpath import mark_cacheable
from .protocol import ProtocolRequest


def deadline_param(req: ProtocolRequest) -> float | None:
    """``timeout=`` in seconds: a client may ask for less time than the server's, never more."""
    raw = req.value("timeout")
    if raw is None or raw == "":
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise BadParameter(
            f"timeout must be a positive number of seconds, not {raw!r}", parameter="timeout"
        )
    return seconds


def answer(job: QueryJob, deadline: float | None = None) -> Response:
    """Run ``job`` and write the response, or raise the problem that says why not."""
    service = state().queries
    limit = service.deadline if deadline is None else min(deadline, service.deadline)
    try:
        result = service.run(job, limit)
    except SyntaxError as exc:
        raise query_syntax_error(exc) from None
    except Overrun:
        raise QueryTimedOut(
            f"the query ran out of time: it was stopped after {limit:g} s", seconds=limit
        ) from None
    except WorkerDied:
        raise QueryTooComplex(
            "the query crashed the query engine; its worker was replaced. Simplify the query."
        ) from None
    except Busy:
        raise ServerBusy("every query worker is busy; try again shortly") from None
    except TooLarge as exc:
        raise AnswerTooLarge(str(exc), limit=exc.limit) from None
    fmt = find_format(result.format)
    assert fmt is not None
    response = Response(result.body, content_type=fmt.content_type)
    response.vary.add("Accept")
    if result.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
        response.headers[MAX_ROWS_HEADER] = str(job.max_rows)
    if result.cached:
        response.headers["X-Eusdp-Cache"] = "hit"
    if service.cacheable(job):
        mark_cacheable(request.environ)
    return response
