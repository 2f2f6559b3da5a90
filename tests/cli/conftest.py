"""Fixtures of the command line: a small graph of its own, and a way to run ``eusdp``.

The fixture under ``tests/fixtures/cli`` has what the exports must carry
through every syntax: blank nodes, language tags and typed literals (xsd:date,
xsd:gYearMonth, xsd:boolean, xsd:integer), and a subclass and two ranges so
that the reasoner has something to add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eusdp import cli
from eusdp.catalog import Catalog, load_catalog
from eusdp.config import Settings, load_settings
from eusdp.store import Store, build_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "cli"
ONTOLOGY = FIXTURE / "ontology"
DATA = FIXTURE / "data"
QUERIES = FIXTURE / "queries"
BAD_QUERIES = FIXTURE / "bad-queries"


@dataclass(frozen=True)
class Result:
    """What one run of ``eusdp`` did."""

    status: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-cache")


@pytest.fixture(scope="session")
def cli_settings(cache_dir: Path) -> Settings:
    return load_settings(
        ontology_dir=ONTOLOGY, data_dir=DATA, queries_dir=QUERIES, cache_dir=cache_dir
    )


@pytest.fixture(scope="session")
def cli_store(cli_settings: Settings) -> Iterator[Store]:
    yield build_store(cli_settings)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(QUERIES)


@pytest.fixture(autouse=True)
def _no_eusdp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads EUSDP_* variables: the tests' own environment must not leak in."""
    import os

    for key in list(os.environ):
        if key.startswith("EUSDP_"):
            monkeypatch.delenv(key)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], cache_dir: Path) -> Run:
    """Run ``eusdp ARGS...`` in-process against the fixture; ``data=`` swaps the data folder."""

    def run_(*argv: str | Path, data: Path = DATA) -> Result:
        capsys.readouterr()
        status = cli.main(
            [
                "--ontology-dir", str(ONTOLOGY),
                "--data-dir", str(data),
                "--queries-dir", str(QUERIES),
                "--cache-dir", str(cache_dir),
                *map(str, argv),
            ]
        )
        out, err = capsys.readouterr()
        return Result(status, out, err)

    return run_
