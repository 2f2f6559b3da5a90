"""Building in a child process hands over the same store, and the same errors."""

from __future__ import annotations

import dataclasses
import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from eusdp import building
from eusdp.building import build_in_child, store_folder
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


# --- the store on disk ------------------------------------------------------------------


def test_an_on_disk_store_answers_as_the_memory_one(
    project_settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(project_settings, store_dir=tmp_path / "stores")
    built = build_in_child(settings)
    folder = store_folder(settings)
    assert folder.is_dir() and folder.with_name(folder.name + ".meta").is_file()
    assert built.version == store.version and built.counts() == store.counts()
    assert rows(built, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)

    # Unchanged files: the next start opens the folder and builds nothing.
    def no_build(*args: object) -> None:
        raise AssertionError("built again although the store on disk is current")

    monkeypatch.setattr(building, "_build", no_build)
    again = build_in_child(settings)
    assert rows(again, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)


def test_changed_files_get_a_store_of_their_own(project_settings: Settings, tmp_path: Path) -> None:
    data = copy_data(tmp_path, ("countries.ttl", "# Countries", "# The countries"))
    before = dataclasses.replace(project_settings, store_dir=tmp_path / "stores")
    after = dataclasses.replace(before, data_dir=data)
    assert store_folder(before) != store_folder(after)


def test_a_half_written_store_is_built_again(project_settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(project_settings, store_dir=tmp_path / "stores")
    folder = store_folder(settings)
    folder.mkdir(parents=True)
    (folder / "junk").write_text("a build that died before its meta file", encoding="utf-8")
    built = build_in_child(settings)
    assert rows(built, PARTNERS_IN_NATO)  # answers: the folder was replaced by a whole store
    assert not (folder / "junk").exists()


def _rows_in_child(store: Store, conn: Connection) -> None:
    conn.send(rows(store, PARTNERS_IN_NATO))
    conn.close()


def test_a_forked_process_opens_the_store_anew(
    project_settings: Settings, store: Store, tmp_path: Path
) -> None:
    """Server workers and query workers are forks: each opens its own read-only handle."""
    built = build_in_child(dataclasses.replace(project_settings, store_dir=tmp_path / "s"))
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_rows_in_child, args=(built, writer))
    child.start()
    writer.close()
    assert reader.poll(60)
    assert reader.recv() == rows(store, PARTNERS_IN_NATO)
    child.join(10)
    assert child.exitcode == 0
    assert rows(built, PARTNERS_IN_NATO) == rows(
        store, PARTNERS_IN_NATO
    )  # the parent's still works
