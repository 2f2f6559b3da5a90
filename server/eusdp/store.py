"""The read-only graph facade the rest of the program talks to.

It holds the asserted named graphs, the inferred graph and any extra graphs in
an in-memory Oxigraph store (the query engine), and keeps the rdflib graphs for
serialisation, pages and the reference engine. It offers no way to write: the
endpoint is read-only by construction, not by looking for the word INSERT.

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

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.query import Result
from rdflib.term import Identifier, Node

from . import __version__
from .config import Settings
from .federation import Federation, federation_from
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


def has_dataset_clause(query: str) -> bool:
    """True if the query names its own dataset with FROM or FROM NAMED."""
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
    """Read-only access to the project graph. Build it with :func:`build_store`."""

    def __init__(
        self,
        settings: Settings,
        dataset: Dataset,
        inferred: Graph,
        report: InferenceReport,
        sources: Sequence[SourceFile],
        load_seconds: float = 0.0,
    ) -> None:
        self.settings = settings
        self.dataset = dataset
        self.inferred = inferred
        self.report = report
        self.sources = tuple(sources)
        self.load_seconds = load_seconds
        self.inferred_iri = inferred_graph_iri(settings)
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
        self._ox = ox.Store()
        self._ox.bulk_extend(to_oxigraph_quad(s, p, o, str(g)) for s, p, o, g in self._quads())
        #: Changes whenever the content changes, and is the same in every process that
        #: loads the same files: part of every cache key and ETag.
        self.version = f"{__version__}:{cache_key(self.sources)[:16]}"

    def _quads(self) -> list[tuple[Node, Node, Node, URIRef]]:
        """Every triple with the name of its graph (the inferred graph has no name of its own)."""
        quads: list[tuple[Node, Node, Node, URIRef]] = []
        for source in self.sources:
            quads.extend((s, p, o, source.graph) for s, p, o in self.dataset.graph(source.graph))
        quads.extend((s, p, o, self.inferred_iri) for s, p, o in self.inferred)
        return quads

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
        kwargs: dict[str, object] = {}
        if default_graph_uris or named_graph_uris:
            kwargs["default_graph"] = [ox.NamedNode(u) for u in default_graph_uris]
            kwargs["named_graphs"] = [ox.NamedNode(u) for u in named_graph_uris]
        elif has_dataset_clause(text):
            pass
        elif infer and self._union_is_everything:
            kwargs["use_default_graph_as_union"] = True
        else:
            kwargs["default_graph"] = self._with_inferred if infer else self._asserted
        if bindings:
            kwargs["substitutions"] = {ox.Variable(k): v for k, v in bindings.items()}
        return self._ox.query(text, base_iri=base_iri, **kwargs)  # type: ignore[arg-type]

    def union(self, infer: bool = True) -> Graph:
        """The project graph as one rdflib Graph (for exports, pages and the reference engine)."""
        return self._union_inferred if infer else self._union_asserted

    @cached_property
    def _union_asserted(self) -> Graph:
        g = Graph()
        for source in self.sources:
            if source.role != "extra":
                for t in self.dataset.graph(source.graph):
                    g.add(t)
        for prefix, ns in self.dataset.namespaces():
            g.bind(prefix, ns, override=True)
        return g

    @cached_property
    def _union_inferred(self) -> Graph:
        g = Graph()
        for t in self._union_asserted:
            g.add(t)
        for t in self.inferred:
            g.add(t)
        for prefix, ns in self._union_asserted.namespaces():
            g.bind(prefix, ns, override=True)
        return g

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
            GraphInfo(str(s.graph), s.role, len(self.dataset.graph(s.graph)), str(s.path))
            for s in self.sources
        ]
        infos.append(GraphInfo(str(self.inferred_iri), "inferred", len(self.inferred), None))
        return infos

    def named_graph(self, iri: str) -> Graph | None:
        if URIRef(iri) == self.inferred_iri:
            return self.inferred
        for source in self.sources:
            if str(source.graph) == iri:
                return self.dataset.graph(source.graph)
        return None

    def counts(self) -> dict[str, int]:
        asserted = sum(len(self.dataset.graph(s.graph)) for s in self.sources if s.role != "extra")
        extra = sum(len(self.dataset.graph(s.graph)) for s in self.sources if s.role == "extra")
        return {
            "asserted": asserted,
            "inferred": len(self.inferred),
            "extra": extra,
            "total": asserted + len(self.inferred) + extra,
        }


def build_store(settings: Settings) -> Store:
    """files -> graphs -> inference -> store. Raises DataError on a broken file."""
    start = time.perf_counter()
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    asserted = merged(dataset, sources)
    inferred, report = infer_cached(asserted, sources, settings.cache_dir)
    extras = extra_sources(settings)
    for extra in extras:
        parse_file(extra.path, into=dataset.graph(extra.graph))
    return Store(
        settings,
        dataset,
        inferred,
        report,
        [*sources, *extras],
        load_seconds=time.perf_counter() - start,
    )
