"""A response cache in front of Flask: a repeated query is answered without the framework.

The graph is read-only and versioned, so the answer to a GET is a pure function
of its request line, the few headers that shape it, and the graph's version. A
view that knows its response is such a function says so by calling
:func:`mark_cacheable`; this WSGI middleware then keeps the whole response
(status, headers, body) and answers the same request again straight from
memory, the way Varnish sits in front of Wikidata's query service. A hit costs
a dictionary lookup instead of routing, negotiation, the limiter and the answer
cache: measured with ``bench/run``, a cached canned query went from about half
the bare-Flask floor to close to the bare-WSGI one.

What keeps it exact:
- the key holds the method (GET only), path, query string, the graph version
  and every header a response can depend on (``Accept``, ``Host``, ``Origin``,
  the CORS preflight header, the URL scheme);
- a request carrying any other header that could change the answer (a
  conditional ``If-None-Match``, ``Range``, ``Authorization``, a body...) is
  never answered from here: only the headers in ``_HARMLESS`` may be present;
- only 200 responses from views that marked themselves are kept, never errors,
  and only bodies up to an eighth of the budget; the cache is bounded in bytes
  (least recently used goes first) and emptied when the graph changes.

What it keeps: a response once its key has been asked for ``min_uses`` times (see
:mod:`eusdp.admission`); before that a request is handed on as it came.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from ..admission import Doorkeeper

#: Set in the WSGI environ by a view whose 200 response depends only on the cache key.
CACHEABLE = "eusdp.cacheable"

#: Headers that shape a response: part of the key.
#: (``_key`` writes them out again, in this order, to make no generator per request.)
_KEYED = ("HTTP_ACCEPT", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS")

#: Headers that may be present without changing the response (besides the keyed ones).
_HARMLESS = frozenset(
    {
        "HTTP_USER_AGENT",
        "HTTP_ACCEPT_ENCODING",  # the server never compresses
        "HTTP_ACCEPT_LANGUAGE",  # answers are not localised
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_CACHE_CONTROL",
        "HTTP_PRAGMA",
        "HTTP_REFERER",
        "HTTP_DNT",
        "HTTP_SEC_FETCH_SITE",
        "HTTP_SEC_FETCH_MODE",
        "HTTP_SEC_FETCH_DEST",
        "HTTP_SEC_FETCH_USER",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
        *_KEYED,
    }
)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
#: A kept response. All tuples of strings and bytes: Python's cyclic garbage collector
#: stops tracking such objects, so tens of thousands of entries do not lengthen its
#: full collections (see :class:`eusdp.querying.AnswerCache`).
Entry = tuple[str, tuple[tuple[str, str], ...], bytes]


def mark_cacheable(environ: dict[str, Any]) -> None:
    """Say that this request's 200 response depends only on the cache key."""
    environ[CACHEABLE] = True


class _Names:
    """The names a WSGI environ may hold without one being a header that could change the
    answer: the harmless headers, and every name that is not a header at all. Those are
    learned: the first request shows the server's (Granian copies the process's whole
    environment into every environ: 59 names for a request with two headers here).

    Testing that every name of an environ is known is one ``issuperset``, in C: 0.6 us
    against 2.5 for a Python scan of the 59 names. Only names that are not headers, or
    harmless ones, are ever added (a client cannot make a non-header name: its headers
    are all ``HTTP_...`` but the two ``CONTENT_`` ones), so the set stays the server's
    own size; one added twice by two threads at once is just added."""

    def __init__(self) -> None:
        self.known = frozenset(_HARMLESS)

    def only_harmless(self, environ: dict[str, Any]) -> bool:
        known = self.known
        if known.issuperset(environ):
            return True
        for name in environ.keys() - known:
            if name.startswith("HTTP_") and name not in _HARMLESS:
                return False
        self.known = known.union(environ)
        return True


def _key(environ: dict[str, Any], version: str, names: _Names) -> tuple[str, ...] | None:
    """The cache key, or ``None`` if this request must go to the app."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
        return None
    if not names.only_harmless(environ):
        return None
    return (
        version,
        environ.get("wsgi.url_scheme", "http"),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        environ.get("HTTP_ACCEPT", ""),  # the _KEYED headers, written out: no generator
        environ.get("HTTP_HOST", ""),
        environ.get("HTTP_ORIGIN", ""),
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
    )


class ResponseCache:
    """WSGI middleware keeping the marked responses of ``app``, ``max_bytes`` at most.

    ``version`` returns the served graph's version: part of every key, and a change
    of it empties the cache (entries of an old graph would never be asked for again).
    """

    def __init__(
        self, app: WSGIApp, version: Callable[[], str], max_bytes: int, *, min_uses: int = 1
    ) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self.door = Doorkeeper(min_uses)
        self._items: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._bytes = 0
        self._seen_version = ""
        self._lock = threading.Lock()
        self._names = _Names()
        self.hits = 0
        self.misses = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key = _key(environ, self.version(), self._names) if self.max_bytes > 0 else None
        if key is None:
            return self.app(environ, start_response)
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
        if entry is not None:
            status, headers, body = entry
            start_response(status, list(headers))
            return [body]
        if not self.door.asked(key):  # counted after the lookup: a hit costs no counting
            return self.app(environ, start_response)
        return self._fill(key, environ, start_response)

    def _fill(
        self, key: tuple[str, ...], environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        if not environ.get(CACHEABLE) or not seen or not seen[0].startswith("200 "):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = tuple((k, v) for k, v in seen[1] if k.lower() != "x-eusdp-cache")
        self._put(key, (seen[0], (*headers, ("X-Eusdp-Cache", "hit")), body))
        return [body]

    def _put(self, key: tuple[str, ...], entry: Entry) -> None:
        size = len(entry[2]) + 512  # the headers and the key count too
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key[0] != self._seen_version:  # a new graph: the old answers are dead
                self._items.clear()
                self._bytes = 0
                self._seen_version = key[0]
            if key in self._items:
                return
            self._items[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, _, old) = self._items.popitem(last=False)
                self._bytes -= len(old) + 512

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "bytes": self._bytes, "hits": self.hits,
                    "misses": self.misses, "declined": self.door.declined}  # fmt: skip
