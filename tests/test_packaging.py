"""The wheel carries the ontology, data and queries, and works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("eusdp-*.whl")
    return built


def test_wheel_contains_resources_and_the_package_named_eusdp(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "eusdp/__init__.py" in names
    assert "eusdp/py.typed" in names
    assert not any(n.startswith("server/") for n in names)  # no top-level 'server' import
    for resource in ("ontology/eusdp.ttl", "ontology/shapes.ttl", "data/partnerships.ttl",
                     "queries/partners-in-nato.rq"):  # fmt: skip
        assert f"eusdp/_resources/{resource}" in names, resource
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "eusdp = eusdp.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_builds_the_graph_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import eusdp.resources as r, eusdp.store as s, eusdp.config as c;"
        "root = r.resource_root(); assert '_resources' in str(root), root;"
        "st = s.build_store(c.load_settings(cache_dir=None));"
        "print(len(list(st.query('SELECT ?p WHERE { ?p a "
        "<https://w3id.org/eusdp/ontology#Partnership> }'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "9"
