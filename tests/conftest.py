"""Shared fixtures: settings from explicit paths, one store per session."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eusdp.catalog import Catalog, load_catalog
from eusdp.config import Settings, load_settings
from eusdp.federation import WIKIDATA_SPARQL
from eusdp.store import Store, build_store
from tests.wikidata.standins import SparqlStandin

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def wikidata_standin() -> Iterator[SparqlStandin]:
    """A local stand-in for Wikidata's query service (tests/fixtures/wikidata), on 127.0.0.1."""
    with SparqlStandin() as standin:
        yield standin


@pytest.fixture(scope="session")
def project_settings(
    tmp_path_factory: pytest.TempPathFactory, wikidata_standin: SparqlStandin
) -> Settings:
    """The real ontology and data, with a cache folder of the session's own. Federated
    queries to Wikidata go to the local stand-in: no test reaches the internet."""
    return load_settings(
        ontology_dir=ROOT / "ontology",
        data_dir=ROOT / "data",
        queries_dir=ROOT / "queries",
        cache_dir=tmp_path_factory.mktemp("cache"),
        federation_map=((WIKIDATA_SPARQL, wikidata_standin.url),),
    )


@pytest.fixture(scope="session")
def store(project_settings: Settings) -> Iterator[Store]:
    yield build_store(project_settings)


@pytest.fixture(scope="session")
def catalog(project_settings: Settings) -> Catalog:
    return load_catalog(project_settings.queries_dir)


ID = "https://w3id.org/eusdp/id/"


def short(term: object) -> object:
    """A result value as tests write it: IRIs under the id base without it, literals as text."""
    if term is None:
        return None
    value = term.value  # type: ignore[attr-defined]
    return value[len(ID) :] if value.startswith(ID) else value


@pytest.fixture(scope="session")
def run(store: Store, catalog: Catalog) -> Callable[..., list[dict[str, object]]]:
    """Run a canned query by name with string parameters; rows as {variable: short value}."""

    def run_query(name: str, infer: bool = True, **params: str) -> list[dict[str, object]]:
        query = catalog.get(name)
        result = store.query(query.text, infer=infer, bindings=query.bind(params))
        variables = [v.value for v in result.variables]  # type: ignore[union-attr]
        return [{v: short(row[v]) for v in variables} for row in result]  # type: ignore[union-attr]

    return run_query


#: pyoxigraph's iterators are bound to the thread that made them (PyO3 ``unsendable``).
_ENGINE_ITERATORS = frozenset({"QuerySolutions", "QueryTriples", "QuadIter"})


@pytest.fixture
def no_engine_iterator_left_in_a_cycle() -> Iterator[None]:
    """Fail a test that leaves a pyoxigraph iterator in cyclic garbage.

    Such an iterator is freed by whichever thread next runs a full collection; when
    that is another thread, PyO3 refuses the drop ("... is unsendable, but is being
    dropped on another thread"), leaks it, and pytest fails whatever test was then
    running (CI failed once this way, in an executor test). rdflib's parser leaves
    pyparsing tracebacks in cycles, and a traceback's frames hold their callers' frames
    (``f_back``): so a test that calls it while a frame above holds a result keeps
    that result until a collection. The collection here runs on the test's own thread,
    so nothing is leaked even when the check fails.
    """
    gc.collect()
    yield
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = sorted({type(o).__name__ for o in gc.garbage} & _ENGINE_ITERATORS)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
    assert not left, f"pyoxigraph {', '.join(left)} left in a reference cycle"
