"""OWL 2 RL closure, kept apart from the asserted triples, and cached.

The closure is computed by :mod:`eusdp.reasoner` (semi-naive, compiled from the
ontology; it hands a graph that needs equality rules to owlrl). owlrl stays the
reference: :func:`run_owlrl` is what the reasoner is tested against.

A reasoner writes much that answers nothing (owlrl more than ours): reflexive
``owl:sameAs`` (owlrl's, even on literals), triples with a literal as subject (not
valid RDF: they break N-Triples export), tautologies about the schema vocabularies
and ``owl:Thing`` typing. :func:`infer` keeps only valid, useful derivations and
counts what each filter dropped, so the report says where the triples went.

The closure is cached on disk as N-Triples, keyed by a hash of every input file
and of the reasoner's version; the file is written to a temporary name, fsynced
and renamed, and it carries its own checksum, so a torn or stale cache is
detected and rebuilt, never served.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from . import __version__, reasoner
from .loader import SourceFile

Triple = tuple[Node, Node, Node]

#: Vocabularies whose terms owlrl describes to itself (``rdf:type rdf:Property``...).
_SCHEMA_NAMESPACES = tuple(
    str(ns)
    for ns in (
        RDF,
        RDFS,
        OWL,
        XSD,
        Namespace("http://www.w3.org/2004/02/skos/core#"),
        Namespace("http://www.w3.org/ns/org#"),
        Namespace("http://www.w3.org/ns/prov#"),
        Namespace("http://purl.org/dc/terms/"),
        Namespace("http://purl.org/dc/elements/1.1/"),
        Namespace("https://schema.org/"),
        Namespace("http://www.w3.org/2006/time#"),
        Namespace("http://www.w3.org/ns/shacl#"),
        Namespace("http://purl.org/vocab/vann/"),
        Namespace("http://xmlns.com/foaf/0.1/"),
    )
)
_WIKIDATA = "http://www.wikidata.org/entity/"
_REFLEXIVE_NOISE = {
    OWL.sameAs,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
}
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
_ERROR_NS = "http://www.daml.org/2002/03/agents/agent-ont#"


def _literal_subject(t: Triple) -> bool:
    return isinstance(t[0], Literal) or isinstance(t[1], Literal | BNode)


def _reflexive(t: Triple) -> bool:
    return t[0] == t[2] and t[1] in _REFLEXIVE_NOISE


def _trivial_type(t: Triple) -> bool:
    return (t[1] == RDF.type and t[2] in _TRIVIAL_TYPES) or (
        t[1] == RDFS.subClassOf and t[2] == OWL.Thing
    )


def _about_schema_vocabulary(t: Triple) -> bool:
    return isinstance(t[0], URIRef) and str(t[0]).startswith(_SCHEMA_NAMESPACES)


def _onto_wikidata(t: Triple) -> bool:
    """Facts copied onto a Wikidata item: the item is linked, never described, here."""
    return isinstance(t[0], URIRef) and str(t[0]).startswith(_WIKIDATA)


def _reasoner_error(t: Triple) -> bool:
    return str(t[1]).startswith(_ERROR_NS) or str(t[2]).startswith(_ERROR_NS)


_SCHEMA_PREDICATES = {
    RDFS.domain,
    RDFS.range,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.inverseOf,
    OWL.disjointWith,
}


def _schema_entailment(t: Triple) -> bool:
    """Derived domains, ranges and class/property hierarchies: the instance-level
    closure already applies them, so stating them again answers nothing new."""
    return t[1] in _SCHEMA_PREDICATES


_CLASS_EXPRESSION_KEYS = (
    OWL.onProperty,
    OWL.intersectionOf,
    OWL.unionOf,
    OWL.complementOf,
    OWL.oneOf,
)


def class_expressions(asserted: Graph) -> set[Node]:
    """Blank nodes that stand for anonymous OWL class expressions (restrictions, intersections)."""
    return {s for key in _CLASS_EXPRESSION_KEYS for s in asserted.subjects(key, None)}


#: Filters in the order they run; the first that matches a triple drops it.
FILTERS: tuple[tuple[str, Callable[[Triple], bool]], ...] = (
    ("literal or blank-node position that RDF forbids", _literal_subject),
    ("reflexive sameAs/equivalence/subclass", _reflexive),
    ("owl:Thing / rdfs:Resource typing", _trivial_type),
    ("statements about standard vocabularies", _about_schema_vocabulary),
    ("schema entailments (domains, ranges, hierarchies)", _schema_entailment),
    ("facts copied onto Wikidata items", _onto_wikidata),
    ("reasoner error messages", _reasoner_error),
)
_ANONYMOUS_CLASS = "typing with anonymous class expressions"


@dataclass
class InferenceReport:
    """What the reasoner did, for people (``eusdp infer``) and for /health."""

    asserted: int = 0
    derived: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    inconsistencies: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cache: str = "off"  # "off", "hit", "miss" or "rebuilt"
    engine: str = "eusdp"  # or "owlrl (...)" when the reasoner handed the graph to owlrl

    def lines(self) -> list[str]:
        out = [f"asserted triples: {self.asserted}"]
        if self.cache == "hit":
            out.append("derived: not run (the cache matches the inputs)")
        else:
            out.append(f"derived by {self.engine}: {self.derived}")
            out += [f"  dropped, {reason}: {n}" for reason, n in self.dropped.items()]
        out += [f"kept (inferred graph): {self.kept}", f"time: {self.seconds:.2f} s"]
        out.append(f"cache: {self.cache}")
        out += [f"inconsistency: {m}" for m in self.inconsistencies]
        return out


def run_owlrl(asserted: Graph) -> tuple[Graph, list[str]]:
    """Run owlrl's OWL-RL closure on a copy; return every new triple and owlrl's error messages."""
    from owlrl.OWLRL import OWLRL_Semantics

    work = Graph()
    for t in asserted:
        work.add(t)
    closure = OWLRL_Semantics(work, False, False, rdfs=False)
    closure.closure()
    derived = Graph()
    for t in work:
        if t not in asserted:
            derived.add(t)
    return derived, list(closure.error_messages)


def filter_derived(derived: Iterable[Triple], asserted: Graph) -> tuple[Graph, dict[str, int]]:
    """Keep the useful derivations; count what each filter drops.

    ``asserted`` tells which blank nodes are anonymous class expressions: a country
    typed with the restriction behind ``eusdp:NATOMemberPartner`` says nothing the
    named class does not.
    """
    anonymous = class_expressions(asserted)
    kept = Graph()
    dropped: Counter[str] = Counter({name: 0 for name, _ in FILTERS})
    dropped[_ANONYMOUS_CLASS] = 0
    for t in derived:
        for name, rule in FILTERS:
            if rule(t):
                dropped[name] += 1
                break
        else:
            if t[0] in anonymous or t[2] in anonymous:
                dropped[_ANONYMOUS_CLASS] += 1
            else:
                kept.add(t)
    return kept, dict(dropped)


def infer(asserted: Graph) -> tuple[Graph, InferenceReport]:
    """The filtered OWL-RL closure of ``asserted`` (which is never modified).

    ``derived`` counts what the reasoner derived before the filters: fewer than owlrl
    (no reflexive ``owl:sameAs`` on every node), the same once filtered.
    """
    start = time.perf_counter()
    result = reasoner.closure(asserted)
    kept, dropped = filter_derived(result.derived, asserted)
    report = InferenceReport(
        asserted=len(asserted),
        derived=len(result.derived),
        kept=len(kept),
        dropped=dropped,
        inconsistencies=sorted(result.inconsistencies),
        seconds=time.perf_counter() - start,
        engine=result.engine if result.fallback is None else f"owlrl ({result.fallback})",
    )
    return kept, report


# --- the cache -----------------------------------------------------------------

_HEADER = "# eusdp-closure"


def cache_key(sources: Sequence[SourceFile]) -> str:
    """Hash of every input file's name and bytes, the reasoner's version and ours."""
    h = hashlib.sha256()
    for part in (__version__, reasoner.VERSION, version("owlrl"), version("rdflib")):
        h.update(part.encode() + b"\0")
    for source in sources:
        h.update(str(source.graph).encode() + b"\0")
        h.update(hashlib.sha256(source.path.read_bytes()).digest())
    return h.hexdigest()


def _serialise(graph: Graph, key: str) -> bytes:
    body = graph.serialize(format="nt", encoding="utf-8")
    lines = sorted(line for line in body.split(b"\n") if line)
    payload = b"\n".join(lines) + b"\n" if lines else b""
    digest = hashlib.sha256(payload).hexdigest()
    return f"{_HEADER} key={key} sha256={digest} triples={len(lines)}\n".encode() + payload


def _remove_orphans(path: Path) -> None:
    """Delete temporary files of writers that died before renaming (their pid is gone)."""
    for orphan in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            pid = int(orphan.name.split(".")[-3])
            os.kill(pid, 0)
        except ProcessLookupError:
            orphan.unlink(missing_ok=True)
        except (ValueError, IndexError, PermissionError):
            continue


def write_atomic(path: Path, data: bytes | Path) -> None:
    """Write ``data`` (bytes, or a file's content) to a temporary file beside ``path``,
    fsync it, rename it into place.

    A reader sees the old file or the new one, never a torn one; a writer killed
    mid-way leaves only its temporary file, which the next writer removes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, Path):
                with data.open("rb") as source:
                    shutil.copyfileobj(source, fh, 1024 * 1024)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_cache(path: Path, key: str) -> Graph | None:
    """The cached closure if it is complete and made from the same inputs, else ``None``."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    header, sep, payload = raw.partition(b"\n")
    if not sep:
        return None
    fields = dict(
        part.split("=", 1) for part in header.decode("ascii", "replace").split()[1:] if "=" in part
    )
    if not header.startswith(_HEADER.encode()) or fields.get("key") != key:
        return None
    if fields.get("sha256") != hashlib.sha256(payload).hexdigest():
        return None
    graph = Graph()
    try:
        graph.parse(data=payload, format="nt")
    except Exception:
        return None
    if str(len(graph)) != fields.get("triples"):
        return None
    return graph


def cache_path(cache_dir: Path) -> Path:
    return cache_dir / "closure.nt"


def infer_cached(
    asserted: Graph, sources: Sequence[SourceFile], cache_dir: Path | None
) -> tuple[Graph, InferenceReport]:
    """Serve the closure from the cache when it matches the inputs; build and store it if not."""
    if cache_dir is None:
        return infer(asserted)
    key = cache_key(sources)
    path = cache_path(cache_dir)
    start = time.perf_counter()
    cached = read_cache(path, key)
    if cached is not None:
        report = InferenceReport(
            asserted=len(asserted),
            kept=len(cached),
            seconds=time.perf_counter() - start,
            cache="hit",
        )
        return cached, report
    existed = path.exists()
    graph, report = infer(asserted)
    try:
        write_atomic(path, _serialise(graph, key))
        report.cache = "rebuilt" if existed else "miss"
    except OSError:
        report.cache = "unwritable"
    return graph, report


def lock_file(
    path: Path, how: int = fcntl.LOCK_EX, suffix: str = ".lock", *, brief: bool = False
) -> int:
    """A ``flock`` (exclusive unless ``how`` says otherwise) on ``path``'s lock file, held
    until the descriptor is closed. It excludes threads as well as processes: each call
    opens the file anew, and a flock belongs to the open file. With ``LOCK_NB`` in ``how``
    it raises ``BlockingIOError`` instead of waiting.

    ``brief``: a lock held for a moment by one thread (release it with :func:`unlock`),
    which a process forked meanwhile must not keep (see :func:`_forget_brief_locks`).
    A lock meant to be shared with this process's forks (a hold) is not brief."""
    lock = path.with_name(path.name + suffix)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with _OPENING:  # no fork between the open and the record of a brief lock
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        if brief:
            _BRIEF.add(fd)
    try:
        fcntl.flock(fd, how)
    except OSError:
        unlock(fd)
        raise
    return fd


def unlock(fd: int) -> None:
    """Release a lock of :func:`lock_file` (closing its descriptor releases it)."""
    with _OPENING:
        _BRIEF.discard(fd)
        os.close(fd)


_BRIEF: set[int] = set()  # descriptors of brief locks this process holds
_OPENING = threading.Lock()


def _forget_brief_locks() -> None:
    """In a forked child: close its copies of the parent's brief locks.

    A flock belongs to the open file, which a fork shares: a query worker forked while
    another thread of the server wrote a dump under its lock held that lock for as long
    as it lived, and every later request for that dump waited on it for good (seen as
    all of a server's threads stuck in ``flock`` under ``bench/load.py``)."""
    global _OPENING
    for fd in _BRIEF:
        try:
            os.close(fd)
        except OSError:
            pass
    _BRIEF.clear()
    _OPENING = threading.Lock()  # held by the forking thread: a fresh one in the child


os.register_at_fork(
    before=lambda: _OPENING.acquire(),
    after_in_parent=lambda: _OPENING.release(),
    after_in_child=_forget_brief_locks,
)


def touch(path: Path) -> bool:
    """Whether ``path`` is there; if so its time of use is now (see :func:`prune_unused`)."""
    try:
        os.utime(path)
    except OSError:  # not there, or not ours to change (the file is still usable)
        return path.exists()
    return True


def prune_unused(kept: Path, idle_seconds: float) -> None:
    """Remove the files beside ``kept`` that nobody has used (:func:`touch`) for
    ``idle_seconds``: cached files of data no longer served, one per version.

    Every process sharing the folder touches the files it uses, so a file in use is
    never idle. Hidden files (a writer's temporary) stay, and so do lock files: removing
    one while another process waits on it would let two processes hold "the" lock.
    """
    cutoff = time.time() - idle_seconds
    try:
        entries = list(os.scandir(kept.parent))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name.endswith(".lock") or entry.name == kept.name:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to remove
            continue
