"""Build the store in a child process, so the serving process never holds rdflib's graphs.

Parsing, reasoning and validating need rdflib, whose graphs take about ten times
the memory of the Oxigraph store they end up in (at 1M triples: gigabytes
against hundreds of megabytes). Dropping them afterwards is not enough: Python
keeps much of that memory, and every server worker forked later inherits it. So
the server builds in a forked child, which writes the finished graphs as
N-Quads and exits; the server loads that file into Oxigraph (2 s per million
quads) and is left holding only the store.

With ``store_dir`` set, the finished store is also written there as an on-disk
Oxigraph store (one folder per content version, with what the build found beside
it), and every process opens it read-only: memory stays close to Oxigraph's own
server's, and a server starting on unchanged files opens it without building at all.
Without it, the N-Quads file is kept in the cache folder (``built/``, same key), so a
server starting on unchanged files loads it into memory without building either:
parsing the data with rdflib was most of a start with the closure cache.

What goes wrong in the child comes back as the same exception
(:class:`~eusdp.loader.DataError` with its file and line,
:class:`~eusdp.validation.InvalidData` with its report), so a broken file still
stops the server before it binds a port, with the same message.
"""

from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from . import __version__
from .config import Settings
from .inference import (
    InferenceReport,
    cache_key,
    lock_file,
    prune_unused,
    touch,
    unlock,
    write_atomic,
)
from .loader import SourceFile, extra_sources, project_sources
from .querying import portable
from .store import Store, build_store


@dataclass(frozen=True)
class _Built:
    """Everything but the triples, which travel as a file."""

    report: InferenceReport
    sources: tuple[SourceFile, ...]
    sizes: dict[str, int]
    namespaces: tuple[tuple[str, str], ...]
    seconds: float


_BUILT_FIELDS = {f.name for f in fields(_Built)}


@dataclass(frozen=True)
class _Failed:
    error: BaseException


#: A kept build no start has used for this long is removed when another is kept.
BUILT_IDLE_SECONDS = 24 * 3600


Done = TypeVar("Done")


class BuildDied(RuntimeError):
    """The build process ended without an answer (killed, or out of memory)."""


def _child(work: Callable[[], object], conn: Connection) -> None:
    try:
        outcome = work()
    except BaseException as exc:  # every failure goes back to the parent to be raised there
        outcome = _Failed(portable(exc))
    conn.send(outcome)
    conn.close()


def _in_child(work: Callable[[], Done], *, fresh: bool = False) -> Done:
    """``work()`` in a child process: what it returns, or the error it raised.

    What the work allocates (rdflib's graphs, RocksDB's buffers) goes when the child
    does, instead of staying in this process's heap, which the server's workers would
    inherit and count: at 1M triples, writing the store on disk here left the server
    at 947 MiB of RSS after start, against 269 MiB when it opened a store already built.

    ``fresh``: a new interpreter (spawned, ``work`` pickled) instead of a fork. RocksDB
    must not run in a fork of a process that has opened a store: its background threads
    do not come along, and a flush waits for them for ever (seen as a hung test).
    """
    ctx = multiprocessing.get_context("spawn") if fresh else multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(work, writer), daemon=True)
    process.start()
    writer.close()
    try:
        outcome = reader.recv()
    except EOFError:
        process.join()
        raise BuildDied(
            f"the build process ended without an answer (exit {process.exitcode})"
        ) from None
    finally:
        reader.close()
    process.join()
    if isinstance(outcome, _Failed):
        raise outcome.error
    return outcome  # type: ignore[no-any-return]


def build_in_child(settings: Settings, *, check: bool = True) -> Store:
    """:func:`~eusdp.store.build_store` (validated with ``check``) run in a forked child;
    with ``store_dir``, opened from (or written to) an on-disk store of this content;
    else loaded from (or kept in) the cache folder's ``built/`` N-Quads of this content."""
    start = time.perf_counter()
    if settings.store_dir is not None:
        folder = store_folder(settings)
        _hold(folder)  # before the meta is read: from now on no pruner removes it
        found = _read_meta(folder)
        if found is None:
            found = _write_store_once(settings, folder, check)
        touch(_meta_path(folder))  # its time of use, for _prune_stores
        return _on_disk(settings, folder, found, start)
    kept = built_file(settings, check)
    if kept is not None:
        found = _read_meta(kept)
        if found is not None and touch(kept) and touch(_meta_path(kept)):
            try:
                return _in_memory(settings, kept, found, start)
            except (OSError, SyntaxError, ValueError):  # torn by a crash: built again below
                pass
    with tempfile.TemporaryDirectory(prefix="eusdp-build-") as scratch:
        dump = Path(scratch) / "store.nq"
        found = _build(settings, check, dump)
        store = _in_memory(settings, dump, found, start)
        if kept is not None:
            _keep_built(dump, kept, found)
    return store


def _write_store_once(settings: Settings, folder: Path, check: bool) -> _Built:
    """Build and write the on-disk store ``folder``, unless another process does it first.

    The server's processes rebuild each for itself when the files change (``live.py``);
    writing the same folder at once, one would remove the store another has just opened.
    So one writes, under a lock beside the folder, and the others, once they hold it,
    find the store written and open it."""
    lock = lock_file(folder, brief=True)  # it makes the folder's parent
    try:
        found = _read_meta(folder)
        if found is not None:
            return found
        with tempfile.TemporaryDirectory(prefix="eusdp-build-") as scratch:
            dump = Path(scratch) / "store.nq"
            found = _build(settings, check, dump)
            _in_child(partial(_write_disk_store, folder, dump, found), fresh=True)
        _prune_stores(folder)
        return found
    finally:
        unlock(lock)


#: Lock files of on-disk stores: a writer holds ``.lock``; every process that has the store
#: open holds ``.use`` shared, for as long as it lives (its forks inherit the hold).
_IN_USE = ".use"
_HELD: dict[Path, int] = {}


def _hold(folder: Path) -> None:
    """Mark the store ``folder`` in use by this process and its forks, for as long as they
    live: a shared hold on its ``.use`` lock, which :func:`_prune_stores` must take
    exclusively before it removes anything. Taken before the store is even looked for,
    so that it cannot go between being found and being opened."""
    if folder in _HELD:
        return
    try:
        _HELD[folder] = lock_file(folder, fcntl.LOCK_SH, _IN_USE)
    except OSError:  # a folder we may not lock: it is looked for, written and served all the
        pass  # same (if it cannot be written either, that error comes from the writer)


def _prune_stores(written: Path) -> None:
    """Remove the other stores beside ``written`` that no process has open and none has
    opened for ``BUILT_IDLE_SECONDS`` (as the cache folder's builds): one per content
    version, 228 MiB each at 1M triples, they would otherwise pile up with every change.

    A store is removed only while this process holds both its locks exclusively, taken
    without waiting: no writer is writing it and no process has it open. The meta file
    goes first: without it the folder is no store, and a start writes it again."""
    cutoff = time.time() - BUILT_IDLE_SECONDS
    for meta in written.parent.glob("store-*.meta"):
        folder = meta.with_name(meta.name[: -len(".meta")])
        locks: list[int] = []
        try:
            if folder == written or meta.stat().st_mtime >= cutoff:
                continue
            locks.append(lock_file(folder, fcntl.LOCK_EX | fcntl.LOCK_NB, brief=True))
            locks.append(lock_file(folder, fcntl.LOCK_EX | fcntl.LOCK_NB, _IN_USE, brief=True))
            meta.unlink()
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # in use, being written, gone already, or not ours to remove
            continue
        finally:
            for fd in locks:
                unlock(fd)


def _in_memory(settings: Settings, dump: Path, built: _Built, start: float) -> Store:
    oxstore = ox.Store()
    oxstore.bulk_load(path=dump, format=ox.RdfFormat.N_QUADS)
    if len(oxstore) != sum(built.sizes.values()):
        raise ValueError(f"{dump} holds {len(oxstore)} quads, not the {built.sizes} built")
    return Store(
        settings,
        oxstore,
        built.report,
        built.sources,
        sizes=built.sizes,
        namespaces=built.namespaces,
        load_seconds=time.perf_counter() - start,
    )


def built_file(settings: Settings, check: bool = True) -> Path | None:
    """Where the cache folder keeps the build of exactly these files, if it has one."""
    if settings.cache_dir is None:
        return None
    name = content_key(settings) + ("" if check else "-unchecked")
    return settings.cache_dir / "built" / f"{name}.nq"


def _keep_built(dump: Path, kept: Path, built: _Built) -> None:
    """Copy the dump into the cache folder (meta file last: it says the copy is whole), and
    prune the builds of other files that no start has used for a day. A cache folder that
    cannot be written costs the next start its speed, never this one."""
    try:
        write_atomic(kept, dump)
        write_atomic(_meta_path(kept), pickle.dumps(built))
    except OSError:
        return
    prune_unused(kept, BUILT_IDLE_SECONDS)


def _build(settings: Settings, check: bool, dump: Path) -> _Built:
    def work() -> _Built:
        store = build_store(settings, check=check)
        store.dump_quads(dump)
        return _Built(
            store.report, store.sources, store.sizes(), store.namespaces, store.load_seconds
        )

    return _in_child(work)


# --- the store on disk ------------------------------------------------------------------


#: How a build's file is written (see ``Store.dump_quads``): a file kept by a build that
#: wrote it otherwise is not reused.
LAYOUT = "N-Quads, lines sorted by predicate, then subject"


def content_key(settings: Settings) -> str:
    """A hash of exactly what a build reads (files, shapes) and of what builds (versions)."""
    h = hashlib.sha256()
    sources = [*project_sources(settings), *extra_sources(settings)]
    for part in (__version__, ox.__version__, LAYOUT, cache_key(sources)):
        h.update(part.encode() + b"\0")
    h.update(hashlib.sha256(settings.shapes_file.read_bytes()).digest())
    return h.hexdigest()[:32]


def store_folder(settings: Settings) -> Path:
    """Where the on-disk store of exactly these files (and shapes, and versions) lives."""
    assert settings.store_dir is not None
    return settings.store_dir / f"store-{content_key(settings)}"


def _meta_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".meta")


def _read_meta(folder: Path) -> _Built | None:
    """What the build of ``folder`` (or file) found; ``None`` unless both are complete."""
    if not folder.exists():
        return None
    try:
        found = pickle.loads(_meta_path(folder).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None
    if not isinstance(found, _Built) or vars(found).keys() != _BUILT_FIELDS:
        return None  # written by a version of this code whose _Built had other fields
    return found


def _write_disk_store(folder: Path, dump: Path, built: _Built) -> None:
    """Load the dump into a new on-disk store beside ``folder`` and rename it into place;
    the meta file, written last, says the folder is complete. Run in a child process
    (:func:`_in_child`)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    disk = ox.Store(str(scratch))
    disk.bulk_load(path=dump, format=ox.RdfFormat.N_QUADS)
    disk.flush()
    del disk  # closes the database: it must be closed before it is renamed
    if folder.exists():  # a build that died before writing its meta file
        shutil.rmtree(folder)
    os.replace(scratch, folder)
    write_atomic(_meta_path(folder), pickle.dumps(built))


def _on_disk(settings: Settings, folder: Path, built: _Built, start: float) -> Store:
    def reopen() -> ox.Store:
        return ox.Store.read_only(str(folder))

    return Store(
        settings,
        reopen(),
        built.report,
        built.sources,
        sizes=built.sizes,
        namespaces=built.namespaces,
        load_seconds=time.perf_counter() - start,
        reopen=reopen,
    )
