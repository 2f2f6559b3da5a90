"""Fixtures of the Wikidata and federation tests: the session's Wikidata stand-in, put back
to good behaviour after each test, a local listener that must never be contacted, and
settings over a tiny graph (tests/fixtures/wikidata/kg)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eusdp.config import Settings, load_settings
from eusdp.federation import WIKIDATA_SPARQL
from tests.conftest import ROOT
from tests.wikidata.standins import FIXTURES, Listener, SparqlStandin


@pytest.fixture(autouse=True)
def _fresh_standin(wikidata_standin: SparqlStandin) -> Iterator[None]:
    wikidata_standin.reset()
    yield
    wikidata_standin.reset()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    """A socket on 127.0.0.1 that records connections; tests assert it saw none."""
    sock = Listener()
    yield sock
    sock.close()


@pytest.fixture(scope="session")
def mini_settings(
    tmp_path_factory: pytest.TempPathFactory, wikidata_standin: SparqlStandin
) -> Settings:
    return load_settings(
        ontology_dir=ROOT / "ontology",
        data_dir=FIXTURES / "kg",
        queries_dir=ROOT / "queries",
        cache_dir=tmp_path_factory.mktemp("wikidata-cache"),
        federation_map=((WIKIDATA_SPARQL, wikidata_standin.url),),
    )


def cli_env(monkeypatch: pytest.MonkeyPatch, standin_url: str, cache: Path) -> None:
    """The environment ``eusdp`` reads: Wikidata is the stand-in, the cache is the test's."""
    monkeypatch.setenv("EUSDP_FEDERATION_MAP", f"{WIKIDATA_SPARQL}={standin_url}")
    monkeypatch.setenv("EUSDP_WIKIDATA_ENDPOINT", standin_url)
    monkeypatch.setenv("EUSDP_CACHE_DIR", str(cache))
    monkeypatch.setenv("EUSDP_ONTOLOGY_DIR", str(ROOT / "ontology"))
    monkeypatch.setenv("EUSDP_DATA_DIR", str(ROOT / "data"))
    monkeypatch.setenv("EUSDP_QUERIES_DIR", str(ROOT / "queries"))
