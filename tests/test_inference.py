"""Inference keeps asserted and inferred triples apart, drops junk, and caches safely."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal

from eusdp import inference
from eusdp.config import Settings, load_settings
from eusdp.inference import cache_path, infer_cached
from eusdp.loader import load_dataset, merged, project_sources
from eusdp.store import Store, build_store

ROOT = Path(__file__).resolve().parent.parent


def test_named_graphs_one_per_file_plus_inferred(store: Store) -> None:
    roles = {g.iri.rsplit("/graph/", 1)[1]: g.role for g in store.graphs()}
    assert roles["ontology/eusdp"] == "ontology"
    assert roles["data/partnerships"] == "data"
    assert roles["inferred"] == "inferred"
    assert len(roles) == 1 + len(list((ROOT / "data").glob("*.ttl"))) + 1


def test_inferred_triples_are_not_in_the_asserted_graphs(store: Store) -> None:
    asserted = store.union(infer=False)
    assert len(store.inferred) > 0
    assert not any(t in asserted for t in store.inferred)


def test_infer_false_sees_asserted_triples_only(store: Store) -> None:
    q = "ASK { ?c a <https://w3id.org/eusdp/ontology#NATOMemberPartner> }"
    assert bool(store.query(q)) is True
    assert bool(store.query(q, infer=False)) is False


def test_no_literal_subject_and_nt_export_parses(store: Store) -> None:
    assert not any(isinstance(s, Literal) for s, _, _ in store.inferred)
    text = store.inferred.serialize(format="nt")
    assert len(Graph().parse(data=text, format="nt")) == len(store.inferred)


def test_report_accounts_for_every_derived_triple(project_settings: Settings) -> None:
    store = build_store(load_settings(**{**vars(project_settings), "cache_dir": None}))
    report = store.report
    assert report.derived == report.kept + sum(report.dropped.values())
    assert report.dropped["reflexive sameAs/equivalence/subclass"] > 0
    assert report.dropped["facts copied onto Wikidata items"] == 0  # no owl:sameAs links


def _settings(tmp_path: Path, data_dir: Path | None = None) -> Settings:
    return load_settings(
        ontology_dir=ROOT / "ontology",
        data_dir=data_dir or ROOT / "data",
        cache_dir=tmp_path / "cache",
    )


def _closure(settings: Settings) -> tuple[Graph, str]:
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    asserted = merged(dataset, sources)
    graph, report = infer_cached(asserted, sources, settings.cache_dir)
    return graph, report.cache


def test_cache_miss_then_hit_with_the_same_answer(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first, state1 = _closure(settings)
    second, state2 = _closure(settings)
    assert (state1, state2) == ("miss", "hit")
    assert set(first) == set(second)


def test_cache_is_rebuilt_when_a_source_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in (ROOT / "data").glob("*.ttl"):
        (data / f.name).write_bytes(f.read_bytes())
    settings = _settings(tmp_path, data)
    _closure(settings)
    with (data / "countries.ttl").open("a", encoding="utf-8") as fh:
        fh.write("\ncountry:iceland eusdp:alliedWith country:norway .\n")
    graph, state = _closure(settings)
    assert state == "rebuilt"
    assert any("alliedWith" in str(p) and "iceland" in str(o) for _, p, o in graph)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # torn write
        lambda b: b.replace(b"eusdp", b"eusdq", 1),  # a flipped byte in the body
        lambda b: b"",  # empty file
        lambda b: b"garbage\n" + b,  # a foreign header
    ],
    ids=["torn", "flipped", "empty", "foreign-header"],
)
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path: Path, damage: object) -> None:
    settings = _settings(tmp_path)
    good, _ = _closure(settings)
    assert settings.cache_dir is not None
    path = cache_path(settings.cache_dir)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    again, state = _closure(settings)
    assert state == "rebuilt"
    assert set(again) == set(good)


def test_unwritable_cache_still_answers(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = load_settings(
        ontology_dir=ROOT / "ontology", data_dir=ROOT / "data", cache_dir=blocker / "cache"
    )
    graph, state = _closure(settings)
    assert state == "unwritable"
    assert len(graph) > 0


def test_cache_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _closure(settings)
    assert settings.cache_dir is not None
    assert [p.name for p in settings.cache_dir.iterdir()] == ["closure.nt"]


def _lock_within(path: Path, seconds: float) -> int:
    until = time.monotonic() + seconds
    while True:
        try:
            return inference.lock_file(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > until:
                raise
            time.sleep(0.01)


def test_a_process_forked_while_a_brief_lock_is_held_does_not_keep_it(tmp_path: Path) -> None:
    """A query worker forked while another thread writes a dump under its lock used to
    keep that lock for its whole life (a flock belongs to the open file, which a fork
    shares), and every later request for the dump waited on it for good. A hold meant
    for the forks (the store's ``.use`` lock) is still theirs."""
    path = tmp_path / "dump.nt"
    fork = multiprocessing.get_context("fork")
    children = []
    try:
        brief = inference.lock_file(path, brief=True)
        children.append(fork.Process(target=time.sleep, args=(60,), daemon=True))
        children[-1].start()
        inference.unlock(brief)
        inference.unlock(_lock_within(path, 5.0))  # the child lets go as it starts

        hold = inference.lock_file(path, fcntl.LOCK_SH, ".use")
        children.append(fork.Process(target=time.sleep, args=(60,), daemon=True))
        children[-1].start()
        os.close(hold)
        time.sleep(0.2)
        with pytest.raises(BlockingIOError):  # the child still holds it, as meant
            inference.lock_file(path, fcntl.LOCK_EX | fcntl.LOCK_NB, ".use")
    finally:
        for child in children:
            child.kill()
            child.join()
