"""The server refuses to start on invalid data, says which file and why, and binds nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

MINIMAL = FIXTURES / "kg" / "minimal.ttl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "eusdp", "--ontology-dir", str(ROOT / "ontology"),
         "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"),
         "serve", "--port", str(port)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return result, port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('eusdp:signingDate "2024-01-01"^^xsd:date', 'eusdp:signingDate "soon"'), "xsd:date"),
        (("id:partnership\\/x a eusdp:Partnership ;",
          "id:partnership\\/x a eusdp:Partnership , eusdp:UnconfirmedReport ;"), "Inconsistency"),
    ],
    ids=["shape-violation", "inconsistent"],
)  # fmt: skip
def test_invalid_data_is_not_served(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    text = MINIMAL.read_text(encoding="utf-8")
    assert change[0] in text
    (data / "case.ttl").write_text(text.replace(*change), encoding="utf-8")
    result, port = start(data, tmp_path)
    assert result.returncode == 1
    assert "not serving it" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert port_is_free(port)


def test_broken_file_is_named_with_its_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.ttl").write_text("@prefix a: <http://a/> .\na:b a:c a:d ;;; ]\n")
    result, port = start(data, tmp_path)
    assert result.returncode == 1
    assert f"{data / 'broken.ttl'}:2:" in result.stderr
    assert "Traceback" not in result.stderr
    assert port_is_free(port)
