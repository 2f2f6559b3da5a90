"""Scale the project's real data to any size, keeping its shape: graphs for benchmarks.

The generated graph is the ontology and ``data/areas.ttl`` once (shared, never copied),
then copies of everything else in ``data/*.ttl``: partnerships, countries, memberships,
candidacies, events, signatures (blank nodes), area listings, sources, people, places,
the EU's milestones. Copy 0 is the project's data as it is; copy ``k >= 1`` renames every
instance IRI under ``https://w3id.org/eusdp/id/`` by appending ``-c{k}``
(``…/id/country/norway-c17``) and every blank node, so copies never meet, except through
what is shared: the cooperation areas and their hierarchy, and the individuals the
ontology names (``organisation:nato``, ``organisation:eu``, ``region:asia``, on which
the defined classes depend). So the closure grows with the copies and the ratio of
inferred to asserted triples stays about that of the project graph.

The seed changes the copies a little, as real data would differ: in copy ``k >= 1`` each
``eusdp:listsArea`` points, with probability 1/4, to another shared area drawn at random.
The same arguments always give the same triples, in the same order, with the same
blank-node labels.

API (stable: other benchmarks import it; the folder is a package, ``bench.generate``)::

    generate_graph(target_triples, seed=0, root=None) -> rdflib.Graph
    generate(target_triples, seed=0, root=None) -> rdflib.Graph   # the same
    generate_triples(target_triples, seed=0, root=None) -> Iterator[(s, p, o)]
    write_ntriples(target_triples, path, seed=0, root=None) -> int  # triples written
    plan(target_triples, root=None) -> Plan  # shared/per-copy sizes and the number of copies

``root`` is the checkout holding ``ontology/`` and ``data/`` (default: this one). The graph
has about ``target_triples`` triples (whole copies: within one copy, ~1.1k triples, of
the target; never fewer than one copy). Command line::

    python bench/generate.py --triples 100000 --out /tmp/g100k.nt [--seed 0]

N-Triples are written straight from string templates, without building a graph: a
million triples take a few seconds.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

ROOT = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/eusdp/id/"
EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
SHARED_FILES = ("areas.ttl",)

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class Plan:
    """How a target size is met: ``shared + copies * per_copy`` triples (about)."""

    shared: int
    per_copy: int
    copies: int

    @property
    def triples(self) -> int:
        return self.shared + self.copies * self.per_copy


@dataclass(frozen=True)
class _Base:
    shared: tuple[Triple, ...]  # included once
    copied: tuple[Triple, ...]  # included once per copy, renamed
    renamed: frozenset[URIRef]  # the IRIs a copy renames
    areas: tuple[URIRef, ...]  # what a perturbed listsArea may point to


@cache
def _base(root: Path) -> _Base:
    ontology = Graph()
    for path in sorted((root / "ontology").glob("*.ttl")):
        if path.name != "shapes.ttl":
            ontology.parse(path)
    shared_data = Graph()
    data = Graph()
    for path in sorted((root / "data").glob("*.ttl")):
        (shared_data if path.name in SHARED_FILES else data).parse(path)
    # Canonical blank-node labels: the same input gives the same output, run after run.
    data = to_canonical_graph(data)
    keep = {t for triple in ontology for t in triple if isinstance(t, URIRef)}
    keep |= {s for s in shared_data.subjects() if isinstance(s, URIRef)}
    renamed = frozenset(
        t
        for triple in data
        for t in triple
        if isinstance(t, URIRef) and str(t).startswith(ID) and t not in keep
    )
    copied = sorted(
        (t for t in data if any(x in renamed or isinstance(x, BNode) for x in t)),
        key=lambda t: (t[0].n3(), t[1].n3(), t[2].n3()),
    )
    rest = [t for t in data if not any(x in renamed or isinstance(x, BNode) for x in t)]
    shared = sorted(
        set(ontology) | set(shared_data) | set(rest),
        key=lambda t: (type(t[0]).__name__, str(t[0]), str(t[1]), t[2].n3()),
    )
    areas = sorted(
        {o for o in data.objects(None, EUSDP.listsArea) if isinstance(o, URIRef)}
        | {s for s in shared_data.subjects(None, None) if isinstance(s, URIRef)
           and str(s).startswith(f"{ID}area/")}
    )
    return _Base(tuple(shared), tuple(copied), renamed, tuple(areas))


def plan(target_triples: int, root: Path | None = None) -> Plan:
    """The number of copies that brings the graph nearest ``target_triples`` (at least 1)."""
    base = _base((root or ROOT).resolve())
    per_copy = len(base.copied)
    copies = max(1, round((target_triples - len(base.shared)) / per_copy))
    return Plan(len(base.shared), per_copy, copies)


def _copies(
    target_triples: int, seed: int, root: Path | None
) -> Iterator[tuple[int, list[tuple[int, Triple]]]]:
    """Per copy: the base triples, with the listsArea objects the seed redirects."""
    base = _base((root or ROOT).resolve())
    rng = random.Random(seed)
    n = plan(target_triples, root).copies
    for k in range(n):
        redirected: list[tuple[int, Triple]] = []
        if k:
            listed = {(t[0], t[2]) for t in base.copied if t[1] == EUSDP.listsArea}
            for i, t in enumerate(base.copied):
                if t[1] == EUSDP.listsArea and rng.random() < 0.25:
                    area = rng.choice(base.areas)
                    if (t[0], area) not in listed:  # never two equal triples
                        listed.discard((t[0], t[2]))
                        listed.add((t[0], area))
                        redirected.append((i, (t[0], t[1], area)))
        yield k, redirected


def generate_triples(
    target_triples: int, seed: int = 0, root: Path | None = None
) -> Iterator[Triple]:
    """The triples of the generated graph, in a fixed order (shared first, then copy by copy)."""
    base = _base((root or ROOT).resolve())
    yield from base.shared
    renamed = base.renamed
    for k, redirected in _copies(target_triples, seed, root):
        triples = list(base.copied)
        for i, t in redirected:
            triples[i] = t
        if k == 0:
            yield from triples
            continue
        rename = _renamer(renamed, k)
        for s, p, o in triples:
            yield rename(s), p, rename(o)


def _renamer(renamed: frozenset[URIRef], k: int) -> Callable[[Node], Node]:
    """Copy ``k``'s name for a term: renamed IRIs and blank nodes get the copy's suffix."""
    names: dict[Node, Node] = {}

    def rename(term: Node) -> Node:
        new = names.get(term)
        if new is None:
            if term in renamed:
                new = URIRef(f"{term}-c{k}")
            elif isinstance(term, BNode):
                new = BNode(f"{term}c{k}")
            else:
                new = term
            names[term] = new
        return new

    return rename


def generate_graph(target_triples: int, seed: int = 0, root: Path | None = None) -> Graph:
    """The generated graph as an rdflib Graph (about ``target_triples`` triples)."""
    graph = Graph()
    for t in generate_triples(target_triples, seed, root):
        graph.add(t)
    return graph


generate = generate_graph


def _nt(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    assert isinstance(term, Literal)
    text = str(term).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    if term.language:
        return f'"{text}"@{term.language}'
    if term.datatype:
        return f'"{text}"^^<{term.datatype}>'
    return f'"{text}"'


def write_ntriples(
    target_triples: int, path: Path | str, seed: int = 0, root: Path | None = None
) -> int:
    """Write the generated graph as N-Triples to ``path``; return the number of lines.

    The same triples as :func:`generate_triples`, from string templates: a term a copy
    renames is written as its IRI (or label) and the copy's suffix.
    """
    base = _base((root or ROOT).resolve())
    renamed = base.renamed
    # Each position: (text before the copy's suffix, text after it); a term that is not
    # renamed has no suffix slot.
    Slot = tuple[str, str | None]

    def slot(term: Node) -> Slot:
        if term in renamed:
            return f"<{term}", ">"
        if isinstance(term, BNode):
            return f"_:{term}", ""
        return _nt(term), None

    def render(t: Triple, k: int) -> str:
        parts = []
        for term in t:
            head, tail = slot(term)
            if tail is None or k == 0:
                parts.append(head + (tail or ""))
            else:
                parts.append(f"{head}{'-c' if tail else 'c'}{k}{tail}")
        return " ".join(parts) + " .\n"

    templates = [[slot(x) for x in t] for t in base.copied]
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(f"{_nt(s)} {_nt(p)} {_nt(o)} .\n" for s, p, o in base.shared)
        count += len(base.shared)
        for k, redirected in _copies(target_triples, seed, root):
            changed = dict(redirected)
            lines = []
            for i, template in enumerate(templates):
                if i in changed:
                    lines.append(render(changed[i], k))
                    continue
                parts = []
                for head, tail in template:
                    if tail is None or k == 0:
                        parts.append(head + (tail or ""))
                    elif tail:
                        parts.append(f"{head}-c{k}>")
                    else:
                        parts.append(f"{head}c{k}")
                lines.append(" ".join(parts) + " .\n")
            out.writelines(lines)
            count += len(lines)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="about how many triples")
    parser.add_argument("--out", type=Path, required=True, help="N-Triples file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = write_ntriples(args.triples, args.out, args.seed)
    p = plan(args.triples)
    print(f"{n} triples ({p.shared} shared + {p.copies} copies x {p.per_copy}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
