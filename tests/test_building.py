"""Building in a child process hands over the same store, and the same errors."""

from __future__ import annotations

import dataclasses
import fcntl
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from eusdp import building, inference
from eusdp.building import build_in_child, built_file, store_folder
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


def test_the_build_is_kept_sorted(project_settings: Settings, tmp_path: Path) -> None:
    """The hand-over file is sorted by predicate, then subject (a store loaded in that
    order answers faster), whole, and part of its key is how it is written: one written
    otherwise is never reused."""
    settings = dataclasses.replace(project_settings, cache_dir=tmp_path)
    build_in_child(settings, check=False)
    kept = built_file(settings, check=False)
    assert kept is not None
    lines = kept.read_bytes().splitlines()
    by_predicate = sorted(lines, key=lambda line: (line.split(b" ")[1], line))
    assert lines == by_predicate and len(lines) > 2000
    assert lines != sorted(lines)  # not merely sorted lines, which begin with the subject
    key = building.content_key(settings)
    original = building.LAYOUT
    try:
        building.LAYOUT = "N-Quads as Oxigraph dumps them"
        assert building.content_key(settings) != key
    finally:
        building.LAYOUT = original


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


# --- the build kept in the cache folder -------------------------------------------------


def no_build(*args: object) -> None:
    raise AssertionError("built again although the kept build (or store on disk) is current")


def test_a_kept_build_is_loaded_without_building(
    project_settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(project_settings, cache_dir=tmp_path / "cache")
    first = build_in_child(settings)
    kept = built_file(settings)
    assert kept is not None and kept.is_file() and kept.with_name(kept.name + ".meta").is_file()
    monkeypatch.setattr(building, "_build", no_build)
    again = build_in_child(settings)
    assert again.version == first.version == store.version
    assert again.counts() == store.counts() and again.sizes() == store.sizes()
    assert again.namespaces == store.namespaces
    assert again.report == first.report
    assert rows(again, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)
    assert built_file(settings, check=False) != kept  # an unchecked build is kept apart


def test_a_torn_kept_build_is_built_again(
    project_settings: Settings, store: Store, tmp_path: Path
) -> None:
    settings = dataclasses.replace(project_settings, cache_dir=tmp_path / "cache")
    build_in_child(settings)
    kept = built_file(settings)
    assert kept is not None
    whole = kept.read_bytes()
    # a crash after the meta file, before the data: whole lines, half of them
    kept.write_bytes(whole[: whole.rindex(b"\n", 0, len(whole) // 2) + 1])
    again = build_in_child(settings)
    assert again.counts() == store.counts()
    assert rows(again, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)
    assert kept.read_bytes().count(b"\n") == whole.count(b"\n")  # and kept whole again


def test_a_kept_build_from_other_code_is_built_again(
    project_settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(project_settings, cache_dir=tmp_path / "cache")
    build_in_child(settings)
    kept = built_file(settings)
    assert kept is not None
    meta = kept.with_name(kept.name + ".meta")
    other = pickle.loads(meta.read_bytes())
    object.__setattr__(other, "field_of_another_version", 1)
    meta.write_bytes(pickle.dumps(other))
    builds: list[object] = []
    real = building._build
    monkeypatch.setattr(building, "_build", lambda *args: builds.append(args) or real(*args))
    again = build_in_child(settings)
    assert len(builds) == 1
    assert again.counts() == store.counts()


def test_kept_builds_unused_for_a_day_are_pruned(
    project_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_days_ago = time.time() - 2 * 24 * 3600

    def kept_two_days_ago(settings: Settings) -> tuple[Path, Path]:
        build_in_child(settings)
        kept = built_file(settings)
        assert kept is not None
        meta = kept.with_name(kept.name + ".meta")
        for path in (kept, meta):
            os.utime(path, (two_days_ago, two_days_ago))
        return kept, meta

    def edited(folder: str, comment: str) -> Settings:
        (tmp_path / folder).mkdir()
        data = copy_data(tmp_path / folder, ("countries.ttl", "# Countries", comment))
        return dataclasses.replace(project_settings, cache_dir=tmp_path / "cache", data_dir=data)

    unused = kept_two_days_ago(dataclasses.replace(project_settings, cache_dir=tmp_path / "cache"))
    in_use_settings = edited("b", "# The countries")
    in_use = kept_two_days_ago(in_use_settings)
    monkeypatch.setattr(building, "_build", no_build)
    build_in_child(in_use_settings)  # a start today: both its files are used
    monkeypatch.undo()
    build_in_child(edited("c", "# Countries again"))  # keeping a new build prunes
    assert not any(path.exists() for path in unused)
    assert all(path.exists() for path in in_use)
    assert len(list((tmp_path / "cache" / "built").glob("*.nq"))) == 2


def test_a_cache_folder_that_cannot_be_written_still_builds(
    project_settings: Settings, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "cache").write_text("a file where the folder should be", encoding="utf-8")
    settings = dataclasses.replace(project_settings, cache_dir=tmp_path / "cache")
    assert rows(build_in_child(settings), PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)


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


def test_the_store_on_disk_is_written_by_a_child(
    project_settings: Settings, store: Store, tmp_path: Path
) -> None:
    """Written by a new process (RocksDB's buffers go with it), also when this process
    already has a store on disk open (a fork would hang: RocksDB's threads stay behind);
    an error in the child is raised here."""
    first = build_in_child(dataclasses.replace(project_settings, store_dir=tmp_path / "a"))
    assert rows(first, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)
    data = copy_data(tmp_path, ("countries.ttl", "# Countries", "# The countries"))
    changed = dataclasses.replace(project_settings, data_dir=data, store_dir=tmp_path / "a")
    second = build_in_child(changed)  # another content version: another store, written now
    assert store_folder(changed) != store_folder(first.settings)
    assert rows(second, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OSError):
        build_in_child(dataclasses.replace(project_settings, store_dir=blocked / "stores"))


def test_processes_rebuilding_at_once_write_the_store_once(
    project_settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each server process rebuilds for itself when the files change: one writes the
    store, the others wait for it and open it (written twice, the second writer would
    remove the folder the first had just opened). Threads stand in for the processes:
    the lock is a flock on a file opened anew by each call."""
    settings = dataclasses.replace(project_settings, store_dir=tmp_path / "stores")
    writes: list[object] = []
    real = building._in_child

    def counted(work: Callable[[], object], *, fresh: bool = False) -> object:
        if fresh:  # the store's writer (the build itself runs in a fork)
            writes.append(work)
        return real(work, fresh=fresh)

    monkeypatch.setattr(building, "_in_child", counted)
    built: list[Store] = []
    threads = [
        threading.Thread(target=lambda: built.append(build_in_child(settings))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(built) == 2 and len(writes) == 1
    for one in built:
        assert rows(one, PARTNERS_IN_NATO) == rows(store, PARTNERS_IN_NATO)


def _old_store(stores: Path, name: str, *, days: float) -> Path:
    """A store folder and its meta file, last opened ``days`` ago (their contents do not
    matter to pruning)."""
    folder = stores / f"store-{name}"
    folder.mkdir(parents=True)
    (folder / "CURRENT").write_text("a store", encoding="utf-8")
    meta = folder.with_name(folder.name + ".meta")
    meta.write_bytes(b"meta")
    then = time.time() - days * 24 * 3600
    os.utime(meta, (then, then))
    return folder


def test_stores_unused_for_a_day_are_pruned_when_another_is_written(
    project_settings: Settings, tmp_path: Path
) -> None:
    """Writing a store removes the others that no process has open and none has opened
    for a day; one still open somewhere (a running server, here another open file
    holding its lock) and one opened recently stay."""
    stores = tmp_path / "stores"
    idle = _old_store(stores, "idle", days=2)
    recent = _old_store(stores, "recent", days=0.5)
    open_elsewhere = _old_store(stores, "open", days=2)
    hold = inference.lock_file(open_elsewhere, fcntl.LOCK_SH, ".use")
    try:
        written = build_in_child(dataclasses.replace(project_settings, store_dir=stores))
        assert rows(written, PARTNERS_IN_NATO)
    finally:
        os.close(hold)
    assert not idle.exists() and not idle.with_name(idle.name + ".meta").exists()
    assert recent.exists() and open_elsewhere.exists()
    assert store_folder(written.settings).exists()
