"""Helpers shared by the web tests (conftest fixtures and test modules import them)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_FIXTURES = ROOT / "tests" / "fixtures" / "web"
#: The W3C SPARQL 1.1 Protocol tests, kept beside the repository (see its README).
W3C_PROTOCOL = ROOT.parent / "shared" / "w3c" / "protocol"

ALPHA = "https://example.org/graph/alpha"
BETA = "https://example.org/graph/beta"
KASEI = "http://kasei.us/2009/09/sparql/data/"


@dataclass(frozen=True)
class LiveServer:
    host: str
    port: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: status, headers (lower-case names), body."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()
