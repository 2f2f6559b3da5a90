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
from ..querying import QueryAnswer, QueryJob, QueryService
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


def run_job(
    service: QueryService,
    job: QueryJob,
    deadline: float | None = None,
    client: str | None = None,
) -> QueryAnswer:
    """Run ``job`` on ``service``, or raise the problem that says why it has no answer.

    No Flask here: the ``/sparql`` lane (:mod:`eusdp.web.lane`) calls it outside any app
    context, the views through :func:`answer`."""
    limit = service.deadline if deadline is None else min(deadline, service.deadline)
    try:
        return service.run(job, limit, client)
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


def answer_headers(result: QueryAnswer, job: QueryJob) -> list[tuple[str, str]]:
    """The headers of an answer's 200 response (the app-wide policy comes on top)."""
    fmt = find_format(result.format)
    assert fmt is not None
    headers = [
        ("Content-Type", fmt.content_type),
        ("Content-Length", str(len(result.body))),
        ("Vary", "Accept"),
    ]
    if result.truncated:
        headers += [(TRUNCATED_HEADER, "true"), (MAX_ROWS_HEADER, str(job.max_rows))]
    if result.cached:
        headers.append(("X-Eusdp-Cache", "hit"))
    return headers


def answer(job: QueryJob, deadline: float | None = None) -> Response:
    """Run ``job`` and write the response, or raise the problem that says why not."""
    service = state().queries
    result = run_job(service, job, deadline, request.remote_addr or "unknown")
    response = Response(result.body, headers=answer_headers(result, job))
    if service.cacheable(job):
        mark_cacheable(request.environ)
    return response
