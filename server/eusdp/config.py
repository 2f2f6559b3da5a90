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
    #: Address the server listens on.
    host: str = "127.0.0.1"
    #: Port the server listens on.
    port: int = 8000
    #: Number of WSGI worker processes.
    workers: int = 2
    #: Threads per worker process.
    threads: int = 4
    #: Further RDF files served as named graphs: (graph IRI, file) pairs.
    extra_graphs: tuple[tuple[str, Path], ...] = ()
    #: Largest accepted query text, in bytes.
    max_query_bytes: int = 100_000
    #: Deadline of one query, in seconds; a client may ask for less with ``timeout=``.
    query_timeout: float = 10.0
    #: Query worker processes per server process (0: as many as ``threads``).
    query_workers: int = 0
    #: Run queries in killable worker processes (off only for debugging).
    isolate_queries: bool = True
    #: Largest serialised answer sent, in bytes.
    max_response_bytes: int = 50_000_000
    #: Memory for cached answers, in bytes (0 disables the cache).
    cache_bytes: int = 64_000_000
    #: Largest number of result rows returned; longer answers are cut and flagged.
    max_rows: int = 10_000

    @property
    def shapes_file(self) -> Path:
        return self.ontology_dir / "shapes.ttl"


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
    if name == "cache_dir":
        return None if raw.lower() in {"", "none", "off"} else Path(raw)
    if isinstance(current, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{_ENV_PREFIX}{name.upper()}: not an integer: {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{_ENV_PREFIX}{name.upper()}: not a number: {raw!r}") from None
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
    return settings
