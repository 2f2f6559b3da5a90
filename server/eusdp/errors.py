"""Typed HTTP errors with stable codes, rendered once as RFC 9457 problem documents.

Views raise these; one handler (registered by ``eusdp.web.create_app``) turns
any ``HTTPException`` into ``application/problem+json``. Each class has a
stable ``slug`` that appears both as the ``code`` member and at the end of the
``type`` IRI, so clients can branch on it without parsing prose. Werkzeug's own
exceptions (404, 405, ...) get ``type: about:blank`` as RFC 9457 §4.2 asks.

No Flask here: a problem document is a dict, and a response a Werkzeug one.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from werkzeug import exceptions as wz
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from . import federation

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Problem ``type`` IRIs are this plus the slug. They name, they need not resolve.
PROBLEM_TYPE_BASE = "https://w3id.org/eusdp/problems/"


class ProblemError(wz.HTTPException):
    """Base of eusdp's own HTTP errors: a slug, a title, a detail and extension members."""

    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(description=detail)
        self.extensions: dict[str, Any] = extensions


class BadParameter(ProblemError, wz.BadRequest):
    """A request parameter is missing, repeated, or has a value we cannot use."""

    slug = "bad-parameter"
    title = "Bad request parameter"


class BadEncoding(ProblemError, wz.BadRequest):
    """The request text is not UTF-8 (the only encoding the SPARQL Protocol allows)."""

    slug = "bad-encoding"
    title = "Request is not UTF-8"


class QuerySyntaxError(ProblemError, wz.BadRequest):
    """The query does not parse. ``line``/``column`` say where, when the parser said."""

    slug = "query-syntax"
    title = "Malformed query"


class UpdateSyntaxError(ProblemError, wz.BadRequest):
    """An update request whose text is not a well-formed SPARQL Update."""

    slug = "update-syntax"
    title = "Malformed update"


class QueryTooComplex(ProblemError, wz.BadRequest):
    """Nesting deeper than the engine can take without exhausting its stack."""

    slug = "query-too-complex"
    title = "Query too deeply nested"


class UpdateNotAllowed(ProblemError, wz.Forbidden):
    """A well-formed SPARQL Update: refused, the endpoint is read-only."""

    slug = "read-only"
    title = "The endpoint is read-only"


class ServiceNotAllowed(ProblemError, wz.Forbidden):
    """A SERVICE that is not on the allowlist (``Settings.federation_allowlist``), or a
    variable SERVICE: refused before anything is fetched."""

    slug = "service-not-allowed"
    title = "This SERVICE is not allowed"


class NotAcceptable(ProblemError, wz.NotAcceptable):
    """None of the formats the answer can take is acceptable to the client."""

    slug = "not-acceptable"
    title = "No acceptable format"


class UnsupportedMediaType(ProblemError, wz.UnsupportedMediaType):
    """A request body of a type (or charset) we do not read."""

    slug = "unsupported-media-type"
    title = "Unsupported request media type"


class QueryTooLarge(ProblemError, wz.RequestEntityTooLarge):
    """A query (or request body) larger than ``Settings.max_query_bytes`` allows."""

    slug = "query-too-large"
    title = "Query too large"


class InternalError(ProblemError, wz.InternalServerError):
    """A bug. Says so without a stack trace; the details go to the log."""

    slug = "internal-error"
    title = "Internal server error"


_LOCATION = re.compile(r"^error at (\d+):(\d+):\s*(.*)$", re.DOTALL)
_MAX_EXPECTED = 300


def query_syntax_error(exc: SyntaxError) -> QuerySyntaxError:
    """Turn Oxigraph's ``SyntaxError("error at L:C: ...")`` into a problem with line/column.

    Oxigraph lists every token it would have accepted, which can run to a page
    of Unicode ranges; the list is shortened so the detail stays readable.
    """
    message = str(exc.msg if exc.msg else exc).strip()
    match = _LOCATION.match(message)
    if match is None:
        return QuerySyntaxError(f"Malformed query: {message}")
    line, column, what = int(match[1]), int(match[2]), " ".join(match[3].split())
    if len(what) > _MAX_EXPECTED:
        what = what[:_MAX_EXPECTED].rsplit(",", 1)[0] + ", ..."
    return QuerySyntaxError(
        f"Malformed query at line {line}, column {column}: {what}", line=line, column=column
    )


def problem_document(exc: wz.HTTPException) -> dict[str, Any]:
    """The RFC 9457 members of an HTTP error (ours with slug and extensions)."""
    status = exc.code or 500
    if isinstance(exc, ProblemError):
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + exc.slug,
            "title": exc.title,
            "status": status,
            "detail": exc.description,
            "code": exc.slug,
        }
        doc.update(exc.extensions)
        return doc
    return {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": exc.description,
    }


def problem_response(exc: wz.HTTPException) -> Response:
    """Render an HTTP error as ``application/problem+json``, keeping headers such as ``Allow``."""
    body = json.dumps(problem_document(exc), ensure_ascii=False, indent=2) + "\n"
    response = Response(body, status=exc.code or 500, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# --- the Graph Store (``/data``) ------------------------------------------------------


class UnknownGraph(ProblemError, wz.NotFound):
    """A ``graph=`` IRI that names none of the store's graphs (Graph Store Protocol §5.6)."""

    slug = "unknown-graph"
    title = "No such graph"


class ReadOnlyGraphStore(ProblemError, wz.MethodNotAllowed):
    """A Graph Store write (PUT, POST, DELETE, PATCH): refused, the store is read-only.

    A 405, not the SPARQL endpoint's 403: on a Graph Store the method itself is
    what this server does not offer, and a 405 must say (``Allow``) which it does.
    """

    slug = "read-only-graph-store"
    title = "The graph store is read-only"

    def __init__(self, detail: str, *, allowed: list[str], **extensions: Any) -> None:
        super().__init__(detail, allowed=allowed, **extensions)
        self.valid_methods = allowed


class UnknownQuery(ProblemError, wz.NotFound):
    """No canned query has the name asked for; ``suggestions`` lists names that look close."""

    slug = "unknown-query"
    title = "Unknown canned query"


# --- federated queries (``eusdp.federation``) ------------------------------------------


class DatasetNotAllowed(ProblemError, wz.Forbidden):
    """A FROM / FROM NAMED naming a graph the store does not hold: it is never fetched."""

    slug = "remote-graph-not-allowed"
    title = "Graphs are not fetched from elsewhere"


class ServiceFailed(ProblemError, wz.BadGateway):
    """An allowed SERVICE that could not be reached or answered something unusable."""

    slug = "service-failed"
    title = "The remote SPARQL service failed"


class ServiceTimeout(ProblemError, wz.GatewayTimeout):
    """An allowed SERVICE that did not answer in time (``Settings.remote_timeout``)."""

    slug = "service-timeout"
    title = "The remote SPARQL service did not answer in time"


def federation_problem(exc: Exception) -> ProblemError:
    """The problem for a :class:`eusdp.federation.FederationError`; ``service`` names the IRI."""
    message = str(exc)
    service = getattr(exc, "service", None)
    if isinstance(exc, federation.ServiceRefused):
        return ServiceNotAllowed(message, service=service)
    if isinstance(exc, federation.DatasetRefused):
        return DatasetNotAllowed(message, graph=service)
    if isinstance(exc, federation.ServiceFailed) and exc.timeout:
        return ServiceTimeout(message, service=service)
    return ServiceFailed(message, service=service)


class _RetryLater(ProblemError):
    """A refusal that passes: tells the client to try again in a second."""

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("Retry-After", "1")]


class QueryTimedOut(ProblemError, wz.ServiceUnavailable):
    """The query overran its deadline; its worker was killed and the server answers on."""

    slug = "query-timeout"
    title = "Query ran out of time"


class ServerBusy(_RetryLater, wz.ServiceUnavailable):
    """Every query worker stayed busy for as long as a request may wait."""

    slug = "server-busy"
    title = "Server busy"


class AnswerTooLarge(ProblemError, wz.BadRequest):
    """The serialised answer is larger than ``Settings.max_response_bytes``."""

    slug = "answer-too-large"
    title = "Answer too large"


class TooManyQueries(_RetryLater, wz.TooManyRequests):
    """A client has more queries running at once than ``Settings.max_client_queries``."""

    slug = "too-many-queries"
    title = "Too many concurrent queries"
