"""Helpers shared by the web tests (conftest fixtures and test modules import them)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_FIXTURES = ROOT / "tests" / "fixtures" / "web"
#: The W3C SPARQL 1.1 Protocol tests: a byte-for-byte copy of ../shared/w3c/protocol/ (see
#: its README: origin commit, W3C test-suite licence), kept in the repository so that a
#: clone anywhere runs them; test_w3c_copy.py holds it to the original.
W3C_PROTOCOL = ROOT / "tests" / "fixtures" / "w3c" / "protocol"
#: Where the original lives when the repository sits beside ../shared.
W3C_SHARED = ROOT.parent / "shared" / "w3c" / "protocol"

ALPHA = "https://example.org/graph/alpha"
BETA = "https://example.org/graph/beta"
KASEI = "http://kasei.us/2009/09/sparql/data/"

#: The files of queries/, by hand.
QUERY_NAMES = (
    "area-coverage",
    "areas-by-partner",
    "asian-partners",
    "eu-candidate-partners",
    "eu-defence-milestones",
    "partner-profile",
    "partners-by-area",
    "partners-in-nato",
    "partners-wikidata-facts",
    "partners-with-us-alliance",
    "partnerships-in-year",
    "partnerships-timeline",
    "unconfirmed-reports",
    "wikidata-links",
)


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(server: LiveServer, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{server.log.read_text()[-4000:]}")
        try:
            if server.request("GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not up after {timeout}s:\n{server.log.read_text()[-4000:]}")


def project_settings(tmp: Path, **more: str) -> dict[str, str]:
    """``EUSDP_*`` settings that serve the project's own graph, with a cache under ``tmp``;
    ``more`` adds or overrides (``WORKERS="1"`` sets ``EUSDP_WORKERS``)."""
    return {
        "EUSDP_ONTOLOGY_DIR": str(ROOT / "ontology"),
        "EUSDP_DATA_DIR": str(ROOT / "data"),
        "EUSDP_QUERIES_DIR": str(ROOT / "queries"),
        "EUSDP_CACHE_DIR": str(tmp / "cache"),
        **{f"EUSDP_{name}": value for name, value in more.items()},
    }


@contextmanager
def live_server_process(settings: dict[str, str], tmp: Path) -> Iterator[LiveServer]:
    """``python -m eusdp.serve`` on a free local port with ``EUSDP_*`` settings, as in
    production; stopped with SIGTERM (Granian's graceful shutdown), killed if it hangs."""
    server = LiveServer("127.0.0.1", free_port(), tmp / "server.log")
    env = {
        **os.environ,
        "EUSDP_HOST": server.host,
        "EUSDP_PORT": str(server.port),
        "PYTHONWARNINGS": "error",
        **settings,
    }
    with server.log.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eusdp.serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    try:
        wait_until_up(server, proc, timeout=60)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
