"""The graph being served, and how a new one replaces it whole.

A :class:`LiveGraph` holds the store and the query service built on it as one
pair. A rebuild (new files: parse, reason, validate, load) happens beside it,
in a background thread, while requests keep being answered from the current
pair. It is the build a start does (:func:`~eusdp.building.build_in_child`): in a
child process, so rdflib's graphs never reach the server's heap; kept in the cache
folder, or written once to ``store_dir`` and opened by every server process (each
rebuilds for itself); and loaded in sorted order, which answers faster (see
``Store.dump_quads``). Only a complete, valid new pair is swapped in, by one
assignment. A rebuild that fails (a broken file, a shape violation) changes
nothing: the server goes on serving the previous graph and says why in its log.

:class:`Watcher` polls the source files' sizes and modification times and asks
for a rebuild when they change (``reload_interval`` seconds; 0 turns it off).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from .building import build_in_child
from .config import Settings
from .loader import DataError, extra_sources, project_sources
from .querying import QueryService
from .store import Store

log = logging.getLogger("eusdp.live")


@dataclass(frozen=True)
class Served:
    store: Store
    queries: QueryService


def query_service(store: Store, settings: Settings) -> QueryService:
    return QueryService(
        store,
        workers=settings.query_worker_count,
        deadline=settings.query_timeout,
        max_bytes=settings.max_response_bytes,
        cache_bytes=settings.cache_bytes,
        cache_min_uses=settings.cache_min_uses,
        isolate=settings.isolate_queries,
        spare=settings.spare_query_workers,
        inline_budget=settings.inline_budget,
    )


class LiveGraph:
    """The (store, query service) pair being served; replaced whole, never changed."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self._served = Served(store, query_service(store, settings))
        self._rebuilding = threading.Lock()
        self.swaps = 0
        self.last_error: str | None = None

    @property
    def served(self) -> Served:
        return self._served

    def rebuild(self) -> bool:
        """Build a new store from the files; swap it in if it builds and validates.

        Returns whether a swap happened. Requests are answered from the previous
        graph until the assignment that swaps; the previous query workers end when
        their in-flight queries are done.
        """
        if not self._rebuilding.acquire(blocking=False):
            return False  # a rebuild is already under way; it will read the newest files
        try:
            try:
                store = build_in_child(self.settings, check=True)
            except Exception as exc:  # a broken file must not take the server down
                self.last_error = str(exc)
                log.error("rebuild failed, still serving the previous graph: %s", exc)
                return False
            previous = self._served
            self._served = Served(store, query_service(store, self.settings))
            self.swaps += 1
            self.last_error = None
            previous.queries.close()
            log.info("swapped in a new graph (version %s)", store.version)
            return True
        finally:
            self._rebuilding.release()


def fingerprint(settings: Settings) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every source file (and the shapes)."""
    try:
        paths = [s.path for s in project_sources(settings)]
    except DataError:
        paths = []
    paths += [s.path for s in extra_sources(settings)] + [settings.shapes_file]
    out = []
    for path in sorted(set(paths)):
        try:
            stat = Path(path).stat()
            out.append((str(path), stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


class Watcher:
    """A daemon thread that rebuilds the live graph when its files change."""

    def __init__(self, live: LiveGraph, interval: float) -> None:
        self.live = live
        self.interval = interval
        self._seen = fingerprint(live.settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eusdp-watcher", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = fingerprint(self.live.settings)
            if now != self._seen:
                self._seen = now
                self.live.rebuild()
