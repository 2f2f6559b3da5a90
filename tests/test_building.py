"""Building in a child process hands over the same store, and the same errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eusdp.building import build_in_child
from eusdp.config import Settings
from eusdp.loader import DataError
from eusdp.store import Store
from eusdp.validation import InvalidData
from tests.conftest import ROOT

PARTNERS_IN_NATO = (ROOT / "queries" / "partners-in-nato.rq").read_text(encoding="utf-8")


def rows(store: Store, query: str) -> list[tuple[str, ...]]:
    return sorted(tuple(str(t) for t in row) for row in store.query(query))  # type: ignore[union-attr]


def test_the_child_hands_over_the_same_store(project_settings: Settings, store: Store) -> None:
    built = build_in_child(project_settings)
    assert built.version == store.version
    assert built.counts() == store.counts()
    assert built.sizes() == store.sizes()
    assert built.namespaces == store.namespaces
    assert rows(built, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)
    assert len(built.union()) == len(store.union())


def copy_data(tmp_path: Path, edit: tuple[str, str, str]) -> Settings:
    """The project's data folder with one file edited: (file, old text, new text)."""
    data = tmp_path / "data"
    data.mkdir()
    for source in (ROOT / "data").glob("*.ttl"):
        (data / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    name, old, new = edit
    text = (data / name).read_text(encoding="utf-8")
    assert old in text
    (data / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return data


def test_a_broken_file_is_named_with_its_line(project_settings: Settings, tmp_path: Path) -> None:
    data = copy_data(tmp_path, ("countries.ttl", "@prefix", "@prefix broken"))
    settings = dataclasses.replace(project_settings, data_dir=data, cache_dir=tmp_path / "c")
    with pytest.raises(DataError) as caught:
        build_in_child(settings)
    assert caught.value.path == data / "countries.ttl"
    assert caught.value.line == 6  # the first @prefix, after a comment of five lines


def test_invalid_data_comes_back_with_its_report(
    project_settings: Settings, tmp_path: Path
) -> None:
    # A partnership without its partner breaks a shape (every partnership has one partner).
    data = copy_data(
        tmp_path,
        ("partnerships.ttl", "eusdp:partner country:moldova", "rdfs:seeAlso country:moldova"),
    )
    settings = dataclasses.replace(project_settings, data_dir=data, cache_dir=tmp_path / "c")
    with pytest.raises(InvalidData) as caught:
        build_in_child(settings)
    assert not caught.value.report.ok
    assert any("partnerships.ttl" in (p.file or "") for p in caught.value.report.problems)
