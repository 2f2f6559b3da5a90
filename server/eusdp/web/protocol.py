"""Reading requests the way the SPARQL 1.1 Protocol does, for every route that takes one.

Kept apart from the ``/sparql`` view so that ``/queries``, ``/data`` and the pages
read parameters, encodings and formats by the same rules: percent-escapes and
bodies must be UTF-8, a parameter given twice is an error, ``format=`` beats
``Accept``.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from flask import request
from werkzeug.http import parse_options_header

from ..errors import BadEncoding, BadParameter, QueryTooLarge, UnsupportedMediaType
from ..formats import Format
from .negotiation import choose

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"

Params = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class ProtocolRequest:
    """What a Protocol request asks for, once its transport has been read and checked."""

    #: "query", "update", or "service" (no operation: describe the service).
    operation: str
    text: str = ""
    params: Params = field(default_factory=dict)

    def values(self, name: str) -> tuple[str, ...]:
        return tuple(self.params.get(name, ()))

    def value(self, name: str) -> str | None:
        """The single value of an optional parameter; repeating it is an error."""
        values = self.values(name)
        if len(values) > 1:
            raise BadParameter(f"parameter {name!r} given {len(values)} times; give it once")
        return values[0] if values else None


def decode_utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEncoding(
            f"{what} is not valid UTF-8 (byte {exc.start}); the SPARQL Protocol requires UTF-8"
        ) from None


def parse_pairs(text: str, what: str) -> dict[str, list[str]]:
    """Parse ``a=1&b=2``; percent-escapes must decode to UTF-8.

    The same pairs as ``urllib.parse.parse_qsl(text, keep_blank_values=True,
    errors="strict")`` (a test holds the two together), decoded about ten times
    faster: the standard library decodes escapes in a Python loop, and a query's
    text is mostly escapes.
    """
    params: dict[str, list[str]] = {}
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        try:
            params.setdefault(_unquote_plus(name), []).append(_unquote_plus(value))
        except UnicodeDecodeError as exc:
            raise BadEncoding(
                f"{what} has percent-escapes that are not UTF-8: {exc.reason}"
            ) from None
    return params


def _unquote_plus(text: str) -> str:
    """``+`` as a space, ``%XX`` as a byte, read as UTF-8 (strictly).

    The escapes are decoded in C: every ``%`` becomes ``\\x`` (after every backslash
    already there is doubled, so only these escapes exist) and ``codecs.escape_decode``
    reads them. A ``%`` without two hex digits after it is not an escape; there the
    standard library's decoder, which keeps it as it is, does the work.
    """
    if "%" not in text:
        return text.replace("+", " ")
    # A backslash is rare in a URL (it is escaped there): no pass over the text for it.
    escaped = text.replace("\\", "\\\\") if "\\" in text else text
    escaped = escaped.replace("+", " ").replace("%", "\\x")
    try:
        raw: bytes = codecs.escape_decode(escaped)[0]
    except ValueError:
        return unquote_plus(text, encoding="utf-8", errors="strict")
    return raw.decode("utf-8")


def check_charset(options: Mapping[str, str], mimetype: str) -> None:
    charset = options.get("charset", "utf-8").strip().lower()
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(
            f"{mimetype} with charset={charset}: the SPARQL Protocol requires UTF-8",
            accepted=[FORM, QUERY, UPDATE],
        )


def read_protocol_request(
    method: str,
    query_string: bytes,
    content_type: str | None,
    body: bytes,
    *,
    max_query_bytes: int,
) -> ProtocolRequest:
    """Read a request the way the SPARQL 1.1 Protocol (§2.1, §2.2) defines it.

    GET carries everything in the URL; a form POST in the body (URL parameters
    such as ``default-graph-uri`` are merged in, as common clients send them
    there); a direct POST carries the operation text as the body and the rest
    in the URL. Raises a typed error for every violation.
    """
    url = parse_pairs(decode_utf8(query_string, "the URL query string"), "the URL query string")
    params = url
    if method == "POST":
        mimetype, options = parse_options_header(content_type or "")
        mimetype = mimetype.lower()
        if mimetype in (FORM, QUERY, UPDATE):
            check_charset(options, mimetype)
        if mimetype == FORM:
            form = parse_pairs(decode_utf8(body, "the form body"), "the form body")
            params = {k: url.get(k, []) + form.get(k, []) for k in {**url, **form}}
        elif mimetype in (QUERY, UPDATE):
            name = "query" if mimetype == QUERY else "update"
            if "query" in url or "update" in url:
                raise BadParameter(
                    f"a {mimetype} POST carries the {name} as its body; "
                    "the URL must not also give 'query' or 'update'"
                )
            params = {**url, name: [decode_utf8(body, f"the {name}")]}
        else:
            given = f"Content-Type {mimetype!r}" if mimetype else "no Content-Type"
            raise UnsupportedMediaType(
                f"a POST to the SPARQL endpoint needs Content-Type {FORM}, {QUERY} "
                f"or {UPDATE}; got {given}",
                accepted=[FORM, QUERY, UPDATE],
            )
    queries, updates = params.get("query", []), params.get("update", [])
    if len(queries) > 1 or len(updates) > 1:
        raise BadParameter("give exactly one 'query' (or one 'update') per request")
    if queries and updates:
        raise BadParameter("a request carries a 'query' or an 'update', not both")
    if updates and method != "POST":
        raise BadParameter("an update must be sent with POST (and this endpoint is read-only)")
    if not queries and not updates:
        if method == "POST":
            raise BadParameter("no 'query' given")
        return ProtocolRequest("service", "", params)
    operation, text = ("query", queries[0]) if queries else ("update", updates[0])
    size = len(text) if text.isascii() else len(text.encode("utf-8"))  # isascii: O(1)
    if size > max_query_bytes:
        raise QueryTooLarge(
            f"the {operation} is {size} bytes; this endpoint takes at most {max_query_bytes}",
            limit=max_query_bytes,
        )
    return ProtocolRequest(operation, text, params)


def flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    raise BadParameter(f"parameter {name!r} must be true or false, not {value!r}")


def choose_format(req: ProtocolRequest, offered: Sequence[Format]) -> Format:
    """The ``format=`` parameter if given, else content negotiation on ``Accept``."""
    return choose(offered, requested=req.value("format"), accept=request.headers.get("Accept"))


def body_limit(max_query_bytes: int) -> int:
    """Largest request body read: a form-encoded query can be three times its text, plus params."""
    return 3 * max_query_bytes + 16_384


def check_body_size(declared: int | None, max_query_bytes: int) -> int:
    """Refuse a declared body larger than is ever read; return that limit."""
    limit = body_limit(max_query_bytes)
    if declared is not None and declared > limit:
        raise QueryTooLarge(
            f"the request body is {declared} bytes; at most {limit} are read",
            limit=max_query_bytes,
        )
    return limit


def read_body(max_query_bytes: int) -> bytes:
    """The request body, read only after its declared size is checked."""
    limit = check_body_size(request.content_length, max_query_bytes)
    request.max_content_length = limit
    return request.get_data(cache=False) if request.method == "POST" else b""
