"""What a query without a dataset reads: the store's default graph, a copy of the served
union (asserted + inferred) made at build time, which no client can name as a graph."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from eusdp.building import build_in_child
from eusdp.config import Settings
from eusdp.store import Store, build_store
from tests.conftest import ROOT

EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
#: A triple that two data files both state (the second file is made by the test).
TWICE = '<https://w3id.org/eusdp/id/test/s> <https://w3id.org/eusdp/id/test/p> "twice" .\n'
EXTRA = "https://example.org/graph/extra"


def triples(result: object) -> set[tuple[str, str, str]]:
    assert isinstance(result, ox.QueryTriples)
    return {(str(t.subject), str(t.predicate), str(t.object)) for t in result}


def column(result: object, name: str) -> list[str]:
    assert isinstance(result, ox.QuerySolutions)
    return [row[name].value for row in result]


def named(store: Store, graphs: list[str]) -> set[tuple[str, str, str]]:
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in store.quads_of(graphs)}


@pytest.fixture(scope="module")
def twice(project_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The project's data plus two files that state the same triple, and an extra graph."""
    tmp = tmp_path_factory.mktemp("twice")
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "twice-a.ttl").write_text(TWICE, encoding="utf-8")
    (data / "twice-b.ttl").write_text(TWICE, encoding="utf-8")
    side = tmp / "side.nt"
    side.write_text("<https://example.org/only> <https://example.org/in> \"extra\" .\n")
    settings = dataclasses.replace(
        project_settings, data_dir=data, cache_dir=tmp / "cache", extra_graphs=((EXTRA, side),)
    )
    return build_store(settings)


def test_the_default_graph_is_the_union_of_asserted_and_inferred(store: Store) -> None:
    named_graphs = [info.iri for info in store.graphs()]
    asserted = [info.iri for info in store.graphs() if info.role != "inferred"]
    assert triples(store.query(EVERYTHING)) == named(store, named_graphs)
    assert triples(store.query(EVERYTHING, infer=False)) == named(store, asserted)


def test_a_triple_two_graphs_hold_is_seen_once(twice: Store) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://w3id.org/eusdp/id/test/p> ?o }"
    per_graph = (
        "SELECT ?g WHERE { GRAPH ?g { ?s <https://w3id.org/eusdp/id/test/p> ?o } } ORDER BY ?g"
    )
    assert column(twice.query(count), "n") == ["1"]
    # infer=False reads the asserted graphs as a list, which Oxigraph unions as a multiset:
    # the one place a triple two files state is still seen twice (left as it is: rare,
    # and a second copy of the asserted triples would cost more memory than it is worth).
    assert column(twice.query(count, infer=False), "n") == ["2"]
    graphs = column(twice.query(per_graph), "g")
    assert [g.rsplit("/", 1)[-1] for g in graphs] == ["twice-a", "twice-b"]


def test_the_copy_is_no_graph_a_client_can_name(twice: Store) -> None:
    listed = {info.iri for info in twice.graphs()}
    seen = set(column(twice.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"), "g"))
    assert seen == listed
    assert EXTRA in listed
    everything = triples(twice.query(EVERYTHING))
    assert not [t for t in everything if t[0] == "<https://example.org/only>"]  # extras stay out
    assert triples(twice.query(EVERYTHING, default_graph_uris=[EXTRA])) == {
        ("<https://example.org/only>", "<https://example.org/in>", '"extra"')
    }
    assert len(everything) == len(named(twice, sorted(listed - {EXTRA})))


def test_the_handed_over_store_has_the_copy(project_settings: Settings, store: Store) -> None:
    """The build in a child travels as N-Quads, default graph included (and is counted)."""
    built = build_in_child(project_settings, check=False)
    handed, here = triples(built.query(EVERYTHING)), triples(store.query(EVERYTHING))
    assert len(handed) == len(here) > 2000
    no_blank = [(s, p, o) for s, p, o in here if not s.startswith("_:") and not o.startswith("_:")]
    assert set(no_blank) <= handed  # blank nodes are labelled anew in the hand-over


def test_a_build_kept_before_the_copy_is_not_reused(
    project_settings: Settings, tmp_path: Path
) -> None:
    from eusdp import building

    settings = dataclasses.replace(project_settings, cache_dir=tmp_path)
    before = building.content_key(settings)
    original = building.LAYOUT
    try:
        building.LAYOUT = "named graphs only"
        assert building.content_key(settings) != before
    finally:
        building.LAYOUT = original
