"""The read side of the SPARQL 1.1 Graph Store HTTP Protocol, and the dumps, without Flask.

``/data`` serves three kinds of selection (:class:`Selection`):
- the whole dataset (no ``default``, no ``graph``): what :func:`eusdp.export.export`
  writes, so a dump from the web and one from ``eusdp export`` are the same bytes:
  all, asserted or inferred; quad formats keep every project graph's name;
- the default graph (``?default``): the graph a SPARQL query sees when it names
  none, i.e. the union of the project graphs, asserted + inferred, or asserted
  only with ``infer=false``. Extra graphs stay out of it, as they do for queries;
- one named graph (``?graph=IRI``): any graph of :meth:`Store.graphs`, extra
  graphs and the inferred graph included. Quad formats write it under its name.

Writing is cached per store (the store never changes, so neither do the bytes): a
small representation in a bounded in-memory LRU, a large one (a dump of a big graph)
in a file of the cache folder, which every worker process then streams from instead of
each holding the whole dump in its memory. A cache key also names the representation
in its ETag.
Errors are the typed :mod:`eusdp.errors` problems, so the web layer only raises
what this module raises.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import pyoxigraph as ox
from rdflib import Graph

from .errors import BadParameter, UnknownGraph
from .executor import heap_trimmer
from .export import (
    QUAD_FORMATS,
    _plain,  # shared with export so a graph and a dump write literals alike
    _sorted,
    export,
    jsonld_context,
    new_graph,
    prefixes,
    serialize,
)
from .inference import lock_file, prune_unused, touch, unlock, write_atomic
from .store import Store
from .terms import to_oxigraph

Scope = Literal["dataset", "default", "graph"]
What = Literal["all", "asserted", "inferred"]
WHATS: tuple[What, ...] = ("all", "asserted", "inferred")

#: ``format=`` short names (eusdp.formats) -> eusdp.export's format names.
EXPORT_NAMES = {
    "ttl": "turtle",
    "jsonld": "jsonld",
    "nt": "ntriples",
    "rdf": "rdfxml",
    "trig": "trig",
    "nq": "nquads",
}

#: Memory for written representations, per store and process: the project graph's dumps
#: in every format fit many times over.
MEMORY_BYTES = 32 * 1024 * 1024
#: The largest representation kept in memory; a larger one is kept in a file, if there is
#: a cache folder (at a million triples one N-Triples dump is ~240 MB).
MEMORY_ITEM_BYTES = 4 * 1024 * 1024
#: A dump file nobody has served for this long is removed when a new dump is written.
#: Every server on a cache folder refreshes the files it serves, so what goes is the dumps
#: of versions no longer served (one file per version and format, ~240 MB each at a
#: million triples, which would otherwise pile up with every change of the data).
DUMP_IDLE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Selection:
    """Which triples a ``/data`` request asks for, once its parameters have been checked."""

    scope: Scope
    #: ``dataset``: all, asserted or inferred; ``default``: all or asserted; ``graph``: all.
    what: What = "all"
    #: The graph IRI, for ``scope == "graph"``.
    graph: str | None = None

    def stem(self, base_iri: str) -> str:
        """The file name without extension: ``eusdp``, ``eusdp-asserted``, ``eusdp-data-areas``."""
        if self.scope == "dataset":
            return "eusdp" if self.what == "all" else f"eusdp-{self.what}"
        if self.scope == "default":
            return "eusdp-default" if self.what == "all" else "eusdp-default-asserted"
        return f"eusdp-{_graph_slug(self.graph or '', base_iri)}"


def _graph_slug(iri: str, base_iri: str) -> str:
    """A file-name-safe name for a graph: its path under ``{base}graph/``, else its last segment."""
    prefix = f"{base_iri}graph/"
    if iri.startswith(prefix):
        tail = iri[len(prefix) :]
    else:
        parts = urlsplit(iri)
        segments = [s for s in (parts.path or "").split("/") if s]
        tail = parts.fragment or (segments[-1] if segments else parts.netloc)
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", tail).strip("-.")
    return slug or "graph"


def select(
    store: Store,
    *,
    default: bool = False,
    graph: str | None = None,
    what: str | None = None,
    infer: bool | None = None,
) -> Selection:
    """Check a request's ``default``/``graph``/``what``/``infer`` and say what it selects.

    ``None`` means the parameter was absent. Raises :class:`BadParameter` for
    contradictions (``default`` with ``graph``, ``what`` with either, ``infer``
    with a named graph, ``what`` disagreeing with ``infer``) and for a ``graph``
    that is not an absolute IRI; :class:`UnknownGraph` for a graph the store lacks.
    """
    if what is not None and what not in WHATS:
        raise BadParameter(f"what must be one of {', '.join(WHATS)}, not {what!r}")
    if default and graph is not None:
        raise BadParameter("give either 'default' or 'graph', not both (Graph Store Protocol §4.2)")
    if graph is not None:
        if what is not None or infer is not None:
            raise BadParameter(
                "a named graph is served as stored: 'what' and 'infer' apply to the whole "
                "dataset and the default graph only"
            )
        return Selection("graph", graph=_known_graph(store, graph))
    if default:
        if what is not None:
            raise BadParameter(
                "'what' selects from the whole dataset; the default graph takes 'infer' only"
            )
        return Selection("default", "asserted" if infer is False else "all")
    if infer is not None and what is not None and what != ("all" if infer else "asserted"):
        raise BadParameter(
            f"what={what} contradicts infer={'true' if infer else 'false'}; give one of them"
        )
    if what is None:
        what = "asserted" if infer is False else "all"
    return Selection("dataset", _what(what))


def _what(value: str) -> What:
    for known in WHATS:
        if value == known:
            return known
    raise BadParameter(f"what must be one of {', '.join(WHATS)}, not {value!r}")


def _known_graph(store: Store, iri: str) -> str:
    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        raise BadParameter(f"graph {iri!r} is not an absolute IRI: {exc}", graph=iri) from None
    if store.named_graph(iri) is None:
        raise UnknownGraph(
            f"this store has no graph named <{iri}>; GET /graphs lists the graphs it has",
            graph=iri,
        )
    return iri


# --- writing ----------------------------------------------------------------------------


def write_graph(graph: Graph, fmt: str, context: dict[str, Any], name: str | None = None) -> bytes:
    """Write one graph in a ``format=`` short name (``ttl``, ``jsonld``, ``nt``, ...).

    Triple syntaxes go through :func:`eusdp.export.serialize` (rdflib, the project's
    prefixes, JSON-LD compacted with the published context); quad syntaxes through
    Oxigraph, with the triples in the graph ``name`` or, without one, the default graph.
    """
    export_name = _export_name(fmt)
    if export_name in QUAD_FORMATS:
        target: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(name) if name else ox.DefaultGraph()
        quads = (_quad(s, p, o, target) for s, p, o in graph)
        data = ox.serialize(quads, format=QUAD_FORMATS[export_name], prefixes=prefixes(context))
        return _sorted(export_name, data or b"")
    copy = new_graph(context)
    copy.addN((s, p, _plain(o), copy) for s, p, o in graph)
    return serialize(copy, export_name, context)


def _quad(s: Any, p: Any, o: Any, graph: ox.NamedNode | ox.DefaultGraph) -> ox.Quad:
    return ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(_plain(o)), graph)  # type: ignore[arg-type]


def _export_name(fmt: str) -> str:
    try:
        return EXPORT_NAMES[fmt]
    except KeyError:
        raise ValueError(
            f"not a graph format: {fmt!r}; use one of {', '.join(EXPORT_NAMES)}"
        ) from None


def render(store: Store, selection: Selection, fmt: str) -> bytes | Path:
    """A selection in a ``format=`` short name, written once per store: the bytes, or the
    file that holds them when they are too large to keep in memory."""
    key = ("data", selection, fmt)

    def make() -> bytes:
        return _render(store, selection, fmt)

    path = _dump_path(store, key, fmt)
    if path is None:
        return cached(store, key, make)
    if touch(path):
        return path
    try:
        lock = lock_file(path, brief=True)
    except OSError:  # a cache folder that cannot be written costs speed, never the answer
        return cached(store, key, make)
    try:  # one process writes a dump; the others wait for it here, then read the file
        kept = _recall(store, key)
        if kept is not None or path.exists():
            return kept if kept is not None else path
        data = make()
        if len(data) <= MEMORY_ITEM_BYTES:
            _remember(store, key, data)
            return data
        try:
            write_atomic(path, data)  # a reader never sees half a dump
        except OSError:
            return data
    finally:
        unlock(lock)
    del data
    _trim()  # the dump was hundreds of MB of this worker's heap: give them back
    prune_unused(path, DUMP_IDLE_SECONDS)
    return path


_trim = heap_trimmer()


def _dump_path(store: Store, key: tuple[Hashable, ...], fmt: str) -> Path | None:
    folder = store.settings.cache_dir
    if folder is None:
        return None
    return folder / "dumps" / f"{etag(store, *key)}.{fmt}"


def _render(store: Store, selection: Selection, fmt: str) -> bytes:
    context = jsonld_context(store.settings)
    if selection.scope == "dataset":
        return export(store, selection.what, _export_name(fmt), context)
    if selection.scope == "default":
        if _export_name(fmt) == "ntriples":  # the common dump, written without rdflib
            what: What = "all" if selection.what == "all" else "asserted"
            return export(store, what, "ntriples", context)  # the context read once
        return write_graph(store.union(infer=selection.what == "all"), fmt, context)
    graph = store.named_graph(selection.graph or "")
    if graph is None:  # select() checked; a store never loses a graph
        raise UnknownGraph(f"this store has no graph named <{selection.graph}>")
    return write_graph(graph, fmt, context, name=selection.graph)


# --- caching and validators -------------------------------------------------------------

_CACHE: WeakKeyDictionary[Store, OrderedDict[Hashable, bytes]] = WeakKeyDictionary()
_LOCK = threading.Lock()


def _recall(store: Store, key: Hashable) -> bytes | None:
    with _LOCK:
        entries = _CACHE.get(store)
        if entries is None or key not in entries:
            return None
        entries.move_to_end(key)
        return entries[key]


def _remember(store: Store, key: Hashable, data: bytes) -> None:
    if len(data) > MEMORY_ITEM_BYTES:
        return
    with _LOCK:
        entries = _CACHE.setdefault(store, OrderedDict())
        entries[key] = data
        entries.move_to_end(key)
        total = sum(len(v) for v in entries.values())
        while total > MEMORY_BYTES:
            _, old = entries.popitem(last=False)
            total -= len(old)


def cached(store: Store, key: Hashable, make: Callable[[], bytes]) -> bytes:
    """``make()``, remembered per store under ``key`` if small enough (least recently used
    out first).

    Two threads missing together may both write; the bytes are the same, so the
    lock only guards the dictionary, never the (slow) writing.
    """
    kept = _recall(store, key)
    if kept is not None:
        return kept
    data = make()
    _remember(store, key, data)
    return data


def etag(store: Store, *parts: object) -> str:
    """A strong entity tag for a representation: the store's version plus what picks the bytes.

    The store version changes whenever the content may have (a new build), so the
    tag can be computed, and a 304 answered, without writing anything.
    """
    digest = hashlib.blake2b(repr((store.version, *parts)).encode("utf-8"), digest_size=12)
    return digest.hexdigest()


# --- listing ----------------------------------------------------------------------------


def graph_listing(store: Store) -> list[dict[str, object]]:
    """Every graph of the store, for ``/graphs``: IRI, role, size and source *file name*.

    Only the file name: the folder is the server's business, not the client's.
    """
    return [
        {
            "iri": info.iri,
            "role": info.role,
            "triples": info.triples,
            "source": Path(info.source).name if info.source else None,
        }
        for info in store.graphs()
    ]
