"""Settings: defaults, then the environment (``EUSDP_*``), then explicit overrides.

Settings are frozen so that a running application cannot drift from what it was
started with; tests build their own with :func:`load_settings` (never from the
process environment unless they ask for it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .federation import WIKIDATA_SPARQL, RemoteOptions, federation_from
from .resources import resource_root

DEFAULT_BASE = "https://w3id.org/eusdp/"


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "eusdp"


@dataclass(frozen=True)
class Settings:
    """Everything the program can be told. Each field is documented in the README."""

    #: Base IRI of instances (``{base}id/...``), graphs (``{base}graph/...``) and terms.
    base_iri: str = DEFAULT_BASE
    #: Folder of the ontology (``eusdp.ttl``, ``shapes.ttl``).
    ontology_dir: Path = field(default_factory=lambda: resource_root() / "ontology")
    #: Folder of the asserted data (``*.ttl``, one named graph per file).
    data_dir: Path = field(default_factory=lambda: resource_root() / "data")
    #: Folder of the canned queries (``*.rq``).
    queries_dir: Path = field(default_factory=lambda: resource_root() / "queries")
    #: Folder of the inference cache; ``None`` disables the cache.
    cache_dir: Path | None = field(default_factory=_default_cache_dir)
    #: Keep the Oxigraph store on disk in this folder (one store per content version, built
    #: once, opened read-only by every process); ``None`` keeps it in memory (faster queries,
    #: but every million triples take ~500 MiB of memory).
    store_dir: Path | None = None
    #: Address the server listens on.
    host: str = "127.0.0.1"
    #: Port the server listens on.
    port: int = 8000
    #: Number of WSGI worker processes (0: one per core, at least 2; see ``worker_count``).
    workers: int = 0
    #: Threads running Python per worker process. Two by default, so that a long query
    #: does not hold up the requests that reach its process: while one client's query ran
    #: for 5 s (2 processes), another's canned requests on fresh connections at 20/s waited
    #: up to 4.7 s, 38 of 60 of them, with one thread; none waited with two. Only one of
    #: them serves at a time, unless it is stuck on one request for 10 ms (the baton,
    #: :mod:`eusdp.baton`): two threads serving by turns cost a GIL hand-over a request
    #: (new queries at 1x: 0.75-0.80x Oxigraph's req/s, against 0.82-0.85x with the
    #: baton). Granian's pool of two still costs the cached answers some tail against one
    #: thread (p99 of a bare hello 1.0-1.4 ms against 0.3-0.6 ms in trials of 4 s), below
    #: Oxigraph's (1.6-3.5 ms) all the same.
    threads: int = 2
    #: Write one line per request to stderr (Granian's access log). Off by default, as in
    #: Granian, gunicorn and Oxigraph's server (a proxy in front usually keeps the log): at
    #: 1x it cost 40% of the cached answers' req/s (32,092 without, 18,969 with).
    access_log: bool = False
    #: Further RDF files served as named graphs: (graph IRI, file) pairs.
    extra_graphs: tuple[tuple[str, Path], ...] = ()
    #: Largest accepted query text, in bytes.
    max_query_bytes: int = 100_000
    #: Deadline of one query, in seconds; a client may ask for less with ``timeout=``.
    query_timeout: float = 10.0
    #: Query worker processes per server process (0: the machine's cores shared among the
    #: server processes, at least 1 each, at most ``threads``; see ``query_worker_count``).
    query_workers: int = 0
    #: More query workers per server process that take queries only while every other one
    #: has been busy for over half a second, and only a client's whose queries none of them
    #: is running (see ``Executor``): one client's long query does not hold up another's
    #: short ones. While one client's query ran for 5 s, another's ad-hoc queries on fresh
    #: connections at 20/s waited up to 4.7 s, 31 of 60 of them, without a spare; none
    #: waited more than 0.21 s with one.
    #: Behind a proxy every client has the proxy's address, and the spare is never used.
    #: Without the owner rule (tried in an earlier version) a spare under a load of long
    #: queries doubled the queries run at once: at 1M triples with 8 clients, a p99 of
    #: 9.2 s against 2.3 s and 6 answers past their deadline.
    spare_query_workers: int = 1
    #: Seconds ``serve`` may spend, before its processes fork, answering every canned query
    #: into the cache they all inherit (0: none; the first request of each then evaluates).
    prime_seconds: float = 10.0
    #: Run queries in killable worker processes (off only for debugging).
    isolate_queries: bool = True
    #: Largest bound on a query's work, in units of about a row touched, under which it
    #: runs in the server process instead of a worker (0: every query goes to a worker).
    #: The bound is computed before the query runs, from the graph's statistics, and is
    #: never below the real work (``eusdp.cost``); such a query cannot run long, so it
    #: needs no kill, and skips a hop that cost as much as the query itself. Measured at
    #: 1x, a query of 2,000,000 units takes at most ~15 ms (7 ns a unit at worst,
    #: ``ORDER BY`` over every triple); most take well under 1 ns a unit.
    inline_budget: int = 2_000_000
    #: Largest serialised answer sent, in bytes.
    max_response_bytes: int = 50_000_000
    #: Memory for cached answers, in bytes (0 disables the cache).
    cache_bytes: int = 64_000_000
    #: Requests for the same answer before it is cached (nginx's ``proxy_cache_min_uses``).
    #: Two: a query asked once, as most ad-hoc queries are, is never kept, which made an
    #: ad-hoc query cheaper to serve and leaves the cache to the answers asked again (see
    #: ``eusdp.admission``). One keeps every answer. Primed canned answers are kept anyway.
    cache_min_uses: int = 2
    #: Queries one client (address) may have running at once per server process (0: no limit).
    max_client_queries: int = 8
    #: Seconds between checks of the source files; on a change the graph is rebuilt beside
    #: the one served and swapped in whole (0: never).
    reload_interval: float = 0.0
    #: Largest number of result rows returned; longer answers are cut and flagged.
    max_rows: int = 10_000
    #: SERVICE IRIs a query may call; any other SERVICE is refused before anything is fetched.
    federation_allowlist: tuple[str, ...] = (WIKIDATA_SPARQL,)
    #: (allowed IRI, URL actually called) pairs, e.g. to point Wikidata at a mirror or stand-in.
    federation_map: tuple[tuple[str, str], ...] = ()
    #: Seconds a call to a remote SPARQL endpoint may take, retries included.
    remote_timeout: float = 10.0
    #: Largest remote answer read, in bytes; a longer one is a failure, not cut.
    remote_max_bytes: int = 10_000_000
    #: Further tries after a 429 or 5xx answer (with backoff, honouring Retry-After).
    remote_retries: int = 3
    #: The SPARQL endpoint ``eusdp wikidata check`` and ``suggest`` ask.
    wikidata_endpoint: str = WIKIDATA_SPARQL

    @property
    def shapes_file(self) -> Path:
        return self.ontology_dir / "shapes.ttl"

    @property
    def query_worker_count(self) -> int:
        """Query workers per server process: ``query_workers``, or the cores shared out.

        Evaluation is CPU-bound, and more workers than cores cost CPU per query, not just
        memory. Measured at 100k triples on 2 cores with 2 server processes: one worker
        each answered 290 / 186 req/s on two ad-hoc queries; two each, 198 / 118, with
        1.5x the CPU per query (the workers displace each other's caches), and each
        worker is a process with its own engine caches (~60 MiB at 1M triples on disk).
        A query that runs long would hold its process's worker; ``spare_query_workers``
        take the other queries meanwhile.
        """
        if self.query_workers > 0:
            return self.query_workers
        cores = os.cpu_count() or 1
        return min(self.threads, max(1, cores // self.worker_count))

    @property
    def worker_count(self) -> int:
        """Server processes: ``workers``, or one per core and at least two.

        A process's threads share its GIL, so it is processes that run Python at once,
        and the cores set how many are worth having. With the baton (:mod:`eusdp.baton`:
        one thread of a process serves while the other waits unless the first is stuck)
        one process keeps a core busy. At 1x on 2 cores, ``bench/run`` 3x10 s (canned and
        ad-hoc, Oxigraph's server alongside): 2 processes gave new queries 0.85 / 1.06 /
        1.00x Oxigraph's req/s and a canned p99 of 0.89 / 0.30 / 0.11x Oxigraph's; 3
        processes 0.83 / 1.08 / 1.00x and 1.06 / 2.51 / 0.77x (a third process only adds
        threads to share the cores with, and waits for its turn on them). Before the
        baton, when the two threads of a process took turns, a third process had filled
        the time they spent waiting for each other (adhoc:1 0.80x against 0.75x). Two at
        the least, so that one process may be restarted or stalled while the other
        answers.
        """
        if self.workers > 0:
            return self.workers
        return max(2, os.cpu_count() or 1)

    @property
    def remote_options(self) -> RemoteOptions:
        """How remote SPARQL endpoints are called (SERVICE, ``eusdp wikidata``)."""
        return RemoteOptions(
            timeout=self.remote_timeout,
            max_bytes=self.remote_max_bytes,
            retries=self.remote_retries,
        )


_ENV_PREFIX = "EUSDP_"


def _coerce(name: str, raw: str, current: Any) -> Any:
    if name == "extra_graphs":
        pairs = []
        for item in filter(None, (p.strip() for p in raw.split(","))):
            iri, sep, path = item.partition("=")
            if not sep:
                raise ValueError(f"{_ENV_PREFIX}EXTRA_GRAPHS: expected IRI=FILE, got {item!r}")
            pairs.append((iri, Path(path)))
        return tuple(pairs)
    if name in ("cache_dir", "store_dir"):
        return None if raw.lower() in {"", "none", "off"} else Path(raw)
    if name == "federation_allowlist":
        items = tuple(filter(None, (p.strip() for p in raw.split(","))))
        return () if items in {(), ("none",)} else items
    if name == "federation_map":
        mapped = []
        for item in filter(None, (p.strip() for p in raw.split(","))):
            iri, sep, url = item.partition("=")
            if not sep or not iri or not url:
                raise ValueError(f"{_ENV_PREFIX}FEDERATION_MAP: expected IRI=URL, got {item!r}")
            mapped.append((iri.strip(), url.strip()))
        return tuple(mapped)
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{_ENV_PREFIX}{name.upper()}: not a number: {raw!r}") from None
    if isinstance(current, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{_ENV_PREFIX}{name.upper()}: not an integer: {raw!r}") from None
    if isinstance(current, Path):
        return Path(raw)
    return raw


def load_settings(
    env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build settings from defaults, then ``env`` (``EUSDP_*`` keys), then ``overrides``.

    ``env`` defaults to an empty mapping, not ``os.environ``: reading the process
    environment is the caller's explicit choice (the CLI makes it).
    """
    settings = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = _ENV_PREFIX + f.name.upper()
        if env is not None and key in env:
            values[f.name] = _coerce(f.name, env[key], getattr(settings, f.name))
    values.update(overrides)
    settings = replace(settings, **values)
    if not settings.base_iri.endswith(("/", "#")):
        raise ValueError(f"base_iri must end with '/' or '#': {settings.base_iri!r}")
    federation_from(settings.federation_allowlist, settings.federation_map, settings.remote_options)
    if settings.remote_timeout <= 0 or settings.remote_max_bytes <= 0:
        raise ValueError("remote_timeout and remote_max_bytes must be positive")
    if settings.remote_retries < 0:
        raise ValueError("remote_retries must not be negative")
    if not 1 <= settings.cache_min_uses <= 255:
        raise ValueError(f"cache_min_uses must be 1 to 255, not {settings.cache_min_uses}")
    if settings.inline_budget < 0:
        raise ValueError(f"inline_budget must be 0 (off) or more, not {settings.inline_budget}")
    if settings.workers < 0 or settings.threads < 1:
        raise ValueError("workers must be 0 (one per core) or more, threads 1 or more")
    return settings
