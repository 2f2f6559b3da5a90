"""Local stand-ins for remote services, on 127.0.0.1 only: no test ever reaches the internet.

- :class:`SparqlStandin`: a real SPARQL endpoint (Oxigraph over an HTTP server in a
  thread) serving a fixture file, which can also be told to misbehave: stall, answer
  garbage, answer 429 with Retry-After a few times before it answers, or fail with 500;
- :class:`Listener`: a bare TCP socket that records every connection made to it, to
  prove that something was *not* fetched;
- :func:`closed_port`: an address where nothing listens.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wikidata"
WIKIDATA_FIXTURE = FIXTURES / "wikidata-fixture.ttl"
RESULTS_JSON = "application/sparql-results+json"


@dataclass
class Seen:
    """One request a stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    query: str | None


@dataclass
class Behaviour:
    #: "answer", "stall", "garbage", "error" (HTTP 500 always), "huge" (a body past any limit)
    mode: str = "answer"
    #: Answer this many requests with 429 (and Retry-After) before behaving as ``mode``.
    throttle: int = 0
    retry_after: str = "1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up on a misbehaving stand-in are expected: stay quiet."""


class SparqlStandin:
    """A SPARQL endpoint on 127.0.0.1 over the triples of ``data`` (a Turtle file)."""

    def __init__(self, data: Path = WIKIDATA_FIXTURE) -> None:
        self.store = ox.Store()
        if data is not None:
            self.store.load(path=str(data), format=ox.RdfFormat.TURTLE)
        self.behaviour = Behaviour()
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sparql"

    def start(self) -> SparqlStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> SparqlStandin:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.seen.clear()

    def queries(self) -> list[str]:
        return [s.query for s in self.seen if s.query is not None]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                self._answer(params.get("query", [None])[0])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if kind == "application/sparql-query":
                    self._answer(body)
                else:
                    self._answer(parse_qs(body).get("query", [None])[0])

            def _answer(self, query: str | None) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                standin.seen.append(Seen(self.command, self.path, headers, query))
                behaviour = standin.behaviour
                if behaviour.throttle > 0:
                    behaviour.throttle -= 1
                    retry = {"Retry-After": behaviour.retry_after}
                    self._send(429, b"slow down\n", "text/plain", retry)
                    return
                if behaviour.mode == "stall":
                    standin.release.wait(60)
                    self.close_connection = True
                    return
                if behaviour.mode == "garbage":
                    garbage = b'{"head": {"vars": ["item"]}, "results": {"bindings": ['
                    self._send(200, garbage, RESULTS_JSON)
                    return
                if behaviour.mode == "error":
                    self._send(500, b"internal error\n", "text/plain")
                    return
                if behaviour.mode == "huge":
                    self._send(200, b" " * 2_000_000, RESULTS_JSON)
                    return
                if query is None:
                    self._send(400, b"no query\n", "text/plain")
                    return
                try:
                    result = standin.store.query(query)
                except SyntaxError as exc:
                    self._send(400, str(exc).encode(), "text/plain")
                    return
                assert isinstance(result, ox.QuerySolutions | ox.QueryBoolean)
                body = result.serialize(format=ox.QueryResultsFormat.JSON)
                assert body is not None
                self._send(200, body, RESULTS_JSON)

            def _send(
                self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


@dataclass
class Listener:
    """A TCP socket on 127.0.0.1 that records each connection and closes it at once."""

    connections: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, address = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(address)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
