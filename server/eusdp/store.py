"""The read-only graph facade the rest of the program talks to.

It holds the asserted named graphs, the inferred graph and any extra graphs in
an in-memory Oxigraph store (the query engine) and nowhere else: rdflib, which
parses, reasons and validates, hands its graphs over and lets them go; rdflib
code that reads the store later reads it through views (:mod:`eusdp.rdfview`).
It offers no way to write: the endpoint is read-only by construction, not by
looking for the word INSERT.

Which triples a query sees (its default graph):
- the SPARQL Protocol's ``default-graph-uri``/``named-graph-uri`` when given
  (they override FROM / FROM NAMED, as the Protocol requires);
- else the query's own FROM / FROM NAMED;
- else the union of the project graphs: asserted + inferred, or asserted only
  with ``infer=False``. Extra graphs (``--graph IRI=FILE``) are reachable by
  GRAPH, FROM or ``default-graph-uri`` but stay out of that union, so serving a
  side file never changes the project's answers.

Nothing a query says makes this process fetch anything by itself: every query
text passes :class:`eusdp.federation.Federation` first, which refuses a SERVICE
that is not on the allowlist and a FROM / FROM NAMED naming a graph the store
does not hold, and evaluates the allowed SERVICE blocks itself (with a timeout
and a size limit), so neither engine ever sees a SERVICE.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.query import Result
from rdflib.term import Identifier

from . import __version__
from .config import Settings
from .federation import Federation, federation_from, mentions
from .inference import InferenceReport, cache_key, infer_cached
from .loader import (
    SourceFile,
    extra_sources,
    inferred_graph_iri,
    load_dataset,
    merged,
    parse_file,
    project_sources,
)
from .rdfview import view_graph
from .terms import to_oxigraph_quad

OxResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


@dataclass(frozen=True)
class GraphInfo:
    """One named graph: its IRI, what it holds and where it came from."""

    iri: str
    role: str  # "ontology", "data", "inferred" or "extra"
    triples: int
    source: str | None


# Dataset clauses (FROM / FROM NAMED) can only stand outside every brace; strings,
# IRIs and comments are skipped so that a FROM inside them does not count.
_TOKENS = re.compile(
    r"""(?P<skip>"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|<[^<>"{}|^`\\\s]*>|\#[^\n]*)|(?P<open>\{)|(?P<close>\})|(?P<from>\bFROM\b)""",
    re.IGNORECASE | re.DOTALL,
)


#: The keywords of a query over the union of every graph (shared: never changed).
_UNION: dict[str, object] = {"use_default_graph_as_union": True}


def has_dataset_clause(query: str) -> bool:
    """True if the query names its own dataset with FROM or FROM NAMED."""
    if not mentions(query, "from"):
        return False  # most queries: no token scan
    depth = 0
    for match in _TOKENS.finditer(query):
        if match.group("open"):
            depth += 1
        elif match.group("close"):
            depth = max(0, depth - 1)
        elif match.group("from") and depth == 0:
            return True
    return False


class Store:
    """Read-only access to the project graph. Build it with :func:`build_store`.

    The triples live in Oxigraph only. The rdflib graphs that parsing, reasoning
    and validation need are dropped once the build is done; what still wants an
    rdflib ``Graph`` (pages, rdflib's serialisers, the reference engine, SHACL on a
    rebuilt graph) gets a read-only view over Oxigraph (:mod:`eusdp.rdfview`), not
    a copy: a copy cost about ten times the memory of the Oxigraph store.
    """

    def __init__(
        self,
        settings: Settings,
        oxstore: ox.Store,
        report: InferenceReport,
        sources: Sequence[SourceFile],
        *,
        sizes: Mapping[str, int],
        namespaces: Sequence[tuple[str, str]] = (),
        load_seconds: float = 0.0,
        reopen: Callable[[], ox.Store] | None = None,
    ) -> None:
        self.settings = settings
        self.report = report
        self.sources = tuple(sources)
        self.load_seconds = load_seconds
        self.inferred_iri = inferred_graph_iri(settings)
        self.namespaces = tuple(namespaces)
        self._sizes = dict(sizes)
        self._asserted = [ox.NamedNode(str(s.graph)) for s in sources if s.role != "extra"]
        self._with_inferred = [*self._asserted, ox.NamedNode(str(self.inferred_iri))]
        # Oxigraph evaluates a default graph given as a list of graphs more slowly than
        # its own union of every named graph (16 -> 10 ms for a join at 100k triples), and
        # both keep a triple that two graphs hold twice. The union is every graph only
        # when no extra graph is served beside the project's.
        self._union_is_everything = all(s.role != "extra" for s in sources)
        self.federation: Federation = federation_from(
            settings.federation_allowlist, settings.federation_map, settings.remote_options
        )
        self._graph_names = frozenset(
            [*(str(s.graph) for s in self.sources), str(self.inferred_iri)]
        )
        self._oxstore = oxstore
        # An on-disk store is opened anew in each process that uses it (``reopen``): a
        # RocksDB handle inherited through fork may hold locks of threads that did not
        # come along. The inherited handle is kept, never closed, in the child.
        self._reopen = reopen
        self._pid = os.getpid()
        self._inherited: list[ox.Store] = []
        self._reopening = threading.Lock()
        self._views: dict[tuple[str, ...], Graph] = {}
        #: Changes whenever the content changes, and is the same in every process that
        #: loads the same files: part of every cache key and ETag.
        self.version = f"{__version__}:{cache_key(self.sources)[:16]}"

    @property
    def _ox(self) -> ox.Store:
        if self._reopen is not None and self._pid != os.getpid():
            with self._reopening:
                if self._pid != os.getpid():
                    self._inherited.append(self._oxstore)
                    self._oxstore = self._reopen()
                    self._views = {}
                    self._pid = os.getpid()
        return self._oxstore

    # --- querying ---------------------------------------------------------------

    def query(
        self,
        text: str,
        *,
        infer: bool = True,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        bindings: Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode] | None = None,
        base_iri: str | None = None,
    ) -> OxResult:
        """Evaluate a SPARQL query with Oxigraph. Raises ``SyntaxError`` for a bad query and
        a :class:`~eusdp.federation.FederationError` for a refused or failed SERVICE / FROM."""
        text = self.federate(text, base_iri=base_iri)
        kwargs: dict[str, object]
        if default_graph_uris or named_graph_uris:
            kwargs = {
                "default_graph": [ox.NamedNode(u) for u in default_graph_uris],
                "named_graphs": [ox.NamedNode(u) for u in named_graph_uris],
            }
        elif has_dataset_clause(text):
            kwargs = {}
        elif infer and self._union_is_everything:
            kwargs = _UNION  # nearly every query: nothing to build
        else:
            kwargs = {"default_graph": self._with_inferred if infer else self._asserted}
        if bindings:
            substitutions = {ox.Variable(k): v for k, v in bindings.items()}
            kwargs = {**kwargs, "substitutions": substitutions}
        return self._ox.query(text, base_iri=base_iri, **kwargs)  # type: ignore[arg-type]

    def quads_of(self, graphs: Sequence[str]) -> Iterator[ox.Quad]:
        """Every quad of these named graphs, straight from Oxigraph: a large write needs
        no rdflib copy of the graph (which costs ~10x the memory of the store)."""
        for iri in graphs:
            yield from self._ox.quads_for_pattern(None, None, None, ox.NamedNode(iri))

    def view(self, graphs: Sequence[str]) -> Graph:
        """A read-only rdflib Graph over these named graphs (their union), kept per store."""
        key = tuple(graphs)
        oxstore = self._ox  # first: a process's first use may reopen and forget the views
        graph = self._views.get(key)
        if graph is None:
            graph = view_graph(oxstore, key, namespaces=self.namespaces)
            self._views[key] = graph
        return graph

    def union(self, infer: bool = True) -> Graph:
        """The project graph as one rdflib Graph (for exports, pages and the reference engine)."""
        graphs = self._with_inferred if infer else self._asserted
        return self.view([g.value for g in graphs])

    @property
    def inferred(self) -> Graph:
        """The inferred triples as an rdflib Graph."""
        return self.view([str(self.inferred_iri)])

    def reference_query(
        self, text: str, *, infer: bool = True, bindings: Mapping[str, Identifier] | None = None
    ) -> Result:
        """Evaluate with rdflib's engine over the same default graph: the parity reference."""
        text = self.federate(text)
        return self.union(infer).query(text, initBindings=bindings or None)

    def federate(self, text: str, *, base_iri: str | None = None) -> str:
        """The query as an engine may see it: refused if it would fetch anything not allowed,
        its allowed SERVICE blocks evaluated and inlined as VALUES."""
        return self.federation.prepare(text, base_iri=base_iri, graphs=self._graph_names)

    # --- describing -------------------------------------------------------------

    def graphs(self) -> list[GraphInfo]:
        infos = [
            GraphInfo(str(s.graph), s.role, self._sizes[str(s.graph)], str(s.path))
            for s in self.sources
        ]
        iri = str(self.inferred_iri)
        infos.append(GraphInfo(iri, "inferred", self._sizes[iri], None))
        return infos

    def named_graph(self, iri: str) -> Graph | None:
        if iri not in self._graph_names:
            return None
        return self.view([iri])

    def sizes(self) -> dict[str, int]:
        """Triples per named graph."""
        return dict(self._sizes)

    def dump_quads(self, path: Path) -> None:
        """Every graph as N-Quads, one quad per line, the lines sorted by predicate, then
        subject: how a build in another process hands the store over, and how the cache
        folder keeps it.

        Sorted because Oxigraph's in-memory store answers faster when it was loaded in
        order (its index entries and terms then lie in memory as they are read).
        Measured at 100k triples, in process, the benchmark's ad-hoc queries over the
        union of the named graphs: 4.8 / 8.6 / 7.7 ms loaded in the order Oxigraph dumps,
        2.9 / 7.7 / 6.5 ms with the lines sorted (subject first). By predicate first, in
        three fresh processes each: 2.81-2.89 / 5.52-5.99 / 5.63-5.99 ms, against
        2.77-2.91 / 6.90-8.62 / 5.52-6.43 ms subject first (by predicate, then object:
        3.41-3.48 / 5.62-5.89 / 5.88-6.77). Sorting the 158,029 lines at 100k (shuffled)
        took 0.17 s with this key against 0.075 s as plain lines, in the build, once per
        content version; the keys hold a second copy of the lines meanwhile.
        """
        data = self._ox.dump(format=ox.RdfFormat.N_QUADS)
        assert data is not None  # without an output to write to, dump returns the bytes
        lines = data.splitlines(keepends=True)
        del data  # at 1M triples, one copy of the dump fewer held while the lines are written
        lines.sort(key=_predicate_first)
        with path.open("wb") as out:
            out.writelines(lines)

    def counts(self) -> dict[str, int]:
        asserted = sum(self._sizes[str(s.graph)] for s in self.sources if s.role != "extra")
        extra = sum(self._sizes[str(s.graph)] for s in self.sources if s.role == "extra")
        inferred = self._sizes[str(self.inferred_iri)]
        return {
            "asserted": asserted,
            "inferred": inferred,
            "extra": extra,
            "total": asserted + inferred + extra,
        }


def _predicate_first(line: bytes) -> bytes:
    """An N-Quads line with its predicate moved before its subject (neither holds a
    space: IRIs and blank node labels cannot), as a sort key."""
    subject_end = line.index(b" ") + 1
    predicate_end = line.index(b" ", subject_end) + 1
    return line[subject_end:predicate_end] + line[:subject_end] + line[predicate_end:]


def build_store(settings: Settings, *, check: bool = False) -> Store:
    """files -> graphs -> inference -> store. Raises DataError on a broken file and, with
    ``check``, :class:`~eusdp.validation.InvalidData` when the data breaks a shape or is
    inconsistent (checked on the rdflib graphs while they exist, which is fastest)."""
    start = time.perf_counter()
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    asserted = merged(dataset, sources)
    inferred, report = infer_cached(asserted, sources, settings.cache_dir)
    extras = extra_sources(settings)
    for extra in extras:
        parse_file(extra.path, into=dataset.graph(extra.graph))
    if check:
        from .validation import check_graphs

        check_graphs(settings, sources, dataset, asserted, inferred, report)
    every = [*sources, *extras]
    inferred_iri = inferred_graph_iri(settings)
    graphs: list[tuple[URIRef, Graph]] = [(s.graph, dataset.graph(s.graph)) for s in every]
    graphs.append((inferred_iri, inferred))
    oxstore = ox.Store()
    oxstore.bulk_extend(
        to_oxigraph_quad(s, p, o, str(name)) for name, graph in graphs for s, p, o in graph
    )
    return Store(
        settings,
        oxstore,
        report,
        every,
        sizes={str(name): len(graph) for name, graph in graphs},
        namespaces=[(prefix, str(ns)) for prefix, ns in dataset.namespaces()],
        load_seconds=time.perf_counter() - start,
    )
