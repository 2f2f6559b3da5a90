"""Files -> an rdflib Dataset, one named graph per source file.

Keeping each file in its own graph is what lets a query (and a person) ask
where a triple came from, and lets inference write beside the asserted data
without touching it. Parse errors name the file and the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.util import guess_format

from .config import Settings


class DataError(Exception):
    """A source file that cannot be read as RDF. Says which file and, if known, which line."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[DataError], tuple[Path, str, int | None]]:
        return (type(self), (self.path, self.message, self.line))  # survives a pipe


@dataclass(frozen=True)
class SourceFile:
    """One file of the graph and the named graph it is loaded into."""

    path: Path
    graph: URIRef
    role: str  # "ontology", "data" or "extra"


def graph_iri(settings: Settings, role: str, path: Path) -> URIRef:
    """The named graph of a project file: ``{base}graph/{role}/{stem}``."""
    return URIRef(f"{settings.base_iri}graph/{role}/{path.stem}")


def inferred_graph_iri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_iri}graph/inferred")


def project_sources(settings: Settings) -> list[SourceFile]:
    """The ontology and data files, in a stable order (the order fixes the cache key)."""
    ontology = sorted(p for p in settings.ontology_dir.glob("*.ttl") if p.name != "shapes.ttl")
    data = sorted(settings.data_dir.glob("*.ttl"))
    if not ontology:
        raise DataError(settings.ontology_dir, "no ontology file (*.ttl) found")
    if not data:
        raise DataError(settings.data_dir, "no data file (*.ttl) found")
    sources = [SourceFile(p, graph_iri(settings, "ontology", p), "ontology") for p in ontology]
    sources += [SourceFile(p, graph_iri(settings, "data", p), "data") for p in data]
    names = [s.graph for s in sources]
    duplicates = {str(n) for n in names if names.count(n) > 1}
    if duplicates:
        raise DataError(settings.data_dir, f"two files map to the same graph: {sorted(duplicates)}")
    return sources


def extra_sources(settings: Settings) -> list[SourceFile]:
    return [SourceFile(Path(p), URIRef(iri), "extra") for iri, p in settings.extra_graphs]


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one RDF file, turning parser failures into a :class:`DataError` with a line."""
    graph = into if into is not None else Graph()
    fmt = guess_format(str(path)) or "turtle"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc.strerror or exc}") from None
    refuse_fetches(path, data, fmt)
    try:
        graph.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        # BadSyntax.lines counts the newlines before the fault: the line is one more.
        raise DataError(path, f"syntax error: {exc._why}", line=exc.lines + 1) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(path, f"not UTF-8: {exc.reason}", line=line) from None
    except Exception as exc:  # rdflib raises many types; all mean "not valid RDF here"
        raise DataError(path, f"cannot parse as {fmt}: {exc}") from None
    return graph


# A DOCTYPE with an external identifier, or any entity declaration, in an XML syntax.
_XML_EXTERNAL = re.compile(rb"<!DOCTYPE[^>\[]*\b(?:SYSTEM|PUBLIC)\b|<!ENTITY", re.IGNORECASE)


def refuse_fetches(path: Path, data: bytes, fmt: str) -> None:
    """Refuse what would make a parser fetch from the network, before parsing.

    rdflib's JSON-LD parser loads a ``@context`` (or ``@import``) given as a URL,
    and an XML parser may resolve external entities: a data file must not make
    the program send requests. XML entities are refused altogether (internal
    ones too: they serve no purpose in RDF/XML and can be used to exhaust memory).
    """
    if fmt == "json-ld":
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise DataError(path, f"not JSON: {exc}") from None
        remote = _remote_context(document)
        if remote is not None:
            raise DataError(
                path,
                f"the JSON-LD context {remote!r} would be fetched; "
                "give the context inline (remote contexts are never fetched)",
            )
    elif fmt in {"xml", "trix"}:
        found = _XML_EXTERNAL.search(data)
        if found is not None:
            line = data[: found.start()].count(b"\n") + 1
            raise DataError(path, "XML entity or external DTD declarations are not accepted", line)


def _remote_context(node: object) -> str | None:
    """The first context reference (a string) found under ``@context`` / ``@import``."""
    if isinstance(node, list):
        return next((r for r in map(_remote_context, node) if r is not None), None)
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        if key == "@import" and isinstance(value, str):
            return value
        if key == "@context":
            for ctx in value if isinstance(value, list) else [value]:
                if isinstance(ctx, str):
                    return ctx
                found = _remote_context(ctx)
                if found is not None:
                    return found
        else:
            found = _remote_context(value)
            if found is not None:
                return found
    return None


def load_dataset(sources: Iterable[SourceFile]) -> Dataset:
    """Load every source into its own named graph of a fresh Dataset."""
    dataset = Dataset()
    for source in sources:
        parse_file(source.path, into=dataset.graph(source.graph))
    return dataset


def merged(dataset: Dataset, sources: Iterable[SourceFile]) -> Graph:
    """The triples of the sources' named graphs as one graph (what the reasoner reads).

    Raises :class:`DataError` if two files state the same triple. Queries read the
    union of the files' graphs, and Oxigraph's union keeps a triple once per graph that
    holds it (SPARQL's default graph is a set: Fuseki's union graph, and this graph,
    hold it once), so a fact stated twice would count twice (``COUNT``, ``SUM``, every
    row it joins). A file that restates a fact from another is a slip when a
    partnership is added: each fact has one place, and its file is its provenance."""
    sources = list(sources)
    graph = Graph()
    stated = 0
    for source in sources:
        part = dataset.graph(source.graph)
        stated += len(part)
        for triple in part:
            graph.add(triple)
    if len(graph) != stated:
        raise _stated_twice(dataset, sources)
    return graph


def _stated_twice(dataset: Dataset, sources: Sequence[SourceFile]) -> DataError:
    """The error for the first triple (in file order) that an earlier file states too."""
    first: dict[object, SourceFile] = {}
    for source in sources:
        for triple in dataset.graph(source.graph):
            earlier = first.setdefault(triple, source)
            if earlier is not source:
                shown = " ".join(term.n3(dataset.namespace_manager) for term in triple)
                return DataError(
                    source.path,
                    f"{shown} is stated here and in {earlier.path}: state each fact in one "
                    "file (queries read the files' union, which would hold it twice)",
                )
    raise AssertionError("the union is smaller than its parts, yet no triple is repeated")


def asserted_graphs(sources: Sequence[SourceFile]) -> list[URIRef]:
    return [s.graph for s in sources if s.role in {"ontology", "data"}]
