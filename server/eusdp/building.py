"""Build the store in a child process, so the serving process never holds rdflib's graphs.

Parsing, reasoning and validating need rdflib, whose graphs take about ten times
the memory of the Oxigraph store they end up in (at 1M triples: gigabytes
against hundreds of megabytes). Dropping them afterwards is not enough: Python
keeps much of that memory, and every server worker forked later inherits it. So
the server builds in a forked child, which writes the finished graphs as
N-Quads and exits; the server loads that file into Oxigraph (2 s per million
quads) and is left holding only the store.

What goes wrong in the child comes back as the same exception
(:class:`~eusdp.loader.DataError` with its file and line,
:class:`~eusdp.validation.InvalidData` with its report), so a broken file still
stops the server before it binds a port, with the same message.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from .config import Settings
from .inference import InferenceReport
from .loader import SourceFile
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


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class BuildDied(RuntimeError):
    """The build process ended without an answer (killed, or out of memory)."""


def _child(settings: Settings, check: bool, dump: Path, conn: Connection) -> None:
    try:
        store = build_store(settings, check=check)
        store.dump_quads(dump)
        outcome: _Built | _Failed = _Built(
            store.report,
            store.sources,
            store.sizes(),
            store.namespaces,
            store.load_seconds,
        )
    except BaseException as exc:  # every failure goes back to the parent to be raised there
        outcome = _Failed(portable(exc))
    conn.send(outcome)
    conn.close()


def build_in_child(settings: Settings, *, check: bool = True) -> Store:
    """:func:`~eusdp.store.build_store` (validated with ``check``) run in a forked child."""
    start = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="eusdp-build-") as folder:
        dump = Path(folder) / "store.nq"
        process = ctx.Process(target=_child, args=(settings, check, dump, writer), daemon=True)
        process.start()
        writer.close()
        try:
            outcome = reader.recv()
        except EOFError:
            outcome = None
        finally:
            reader.close()
            process.join()
        if outcome is None:
            raise BuildDied(f"the build process ended without an answer (exit {process.exitcode})")
        if isinstance(outcome, _Failed):
            raise outcome.error
        oxstore = ox.Store()
        oxstore.bulk_load(path=dump, format=ox.RdfFormat.N_QUADS)
    return Store(
        settings,
        oxstore,
        outcome.report,
        outcome.sources,
        sizes=outcome.sizes,
        namespaces=outcome.namespaces,
        load_seconds=time.perf_counter() - start,
    )
