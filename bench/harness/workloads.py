"""What the benchmark asks: canned queries, ad-hoc queries, a CONSTRUCT and an export.

Every text here is plain SPARQL that runs unchanged on each server. Ad-hoc texts hold
the marker ``__N__``: a different number in every request, in a place that cannot change
the answer (a bound no value reaches), so every request is a new query with the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loadgen import MARK

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"

CANNED = ("partners-in-nato", "partnerships-timeline", "area-coverage")

PREFIXES = """PREFIX eusdp: <https://w3id.org/eusdp/ontology#>
PREFIX rdfs:  <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos:  <http://www.w3.org/2004/02/skos/core#>
"""

#: Three shapes: a filtered join, a grouped count over every typed subject, and an ordered
#: join with an OPTIONAL over an inferred property (eusdp:memberOf, a property chain).
ADHOC = (
    PREFIXES + "SELECT ?partnership ?partner ?date WHERE {\n"
    "  ?partnership eusdp:partner ?partner ; eusdp:signingDate ?date .\n"
    f"  FILTER(STRLEN(STR(?partner)) < {MARK})\n}}",
    PREFIXES + "SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class }\n"
    f"GROUP BY ?class HAVING (COUNT(?s) < {MARK})",
    PREFIXES + "SELECT ?country ?label ?organisation WHERE {\n"
    "  ?country a eusdp:Country ; rdfs:label ?label .\n"
    "  OPTIONAL { ?country eusdp:memberOf ?organisation }\n"
    f"  FILTER(?country != <https://w3id.org/eusdp/id/bench/{MARK}>)\n}}\n"
    "ORDER BY ?label ?organisation",
)

CONSTRUCT = (PREFIXES + "CONSTRUCT { ?p ?property ?o }\n"
             "WHERE { ?p a eusdp:Partnership ; ?property ?o }")
DUMP = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"

#: The smallest number a marker takes: large enough for every bound above to hold.
MARK_FLOOR = 10**6


@dataclass(frozen=True)
class Workload:
    """``kind``: ``canned`` (``name`` is the query's), ``select`` and ``graph`` (``text`` is
    the SPARQL), ``export`` (the whole graph as N-Triples)."""

    name: str
    kind: str
    text: str = ""
    canned: str = ""

    @property
    def varies(self) -> bool:
        return MARK in self.text


def canned_text(name: str) -> str:
    """The query file itself: decorators are comments, prefixes are declared in it."""
    return (QUERIES / f"{name}.rq").read_text(encoding="utf-8")


def all_workloads() -> list[Workload]:
    out = [Workload(f"canned:{n}", "canned", canned_text(n), n) for n in CANNED]
    out += [Workload(f"adhoc:{i}", "select", text) for i, text in enumerate(ADHOC, 1)]
    out.append(Workload("construct", "graph", CONSTRUCT))
    out.append(Workload("export", "export", DUMP))
    return out


def select(names: str | None) -> list[Workload]:
    """Workloads by comma-separated names or prefixes (``canned``, ``adhoc:1``...)."""
    every = all_workloads()
    if not names:
        return every
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    chosen = [w for w in every if any(w.name == n or w.name.startswith(n + ":") for n in wanted)]
    if not chosen:
        raise SystemExit(f"bench: no workload matches {names!r}; "
                         f"choose from {', '.join(w.name for w in every)}")
    return chosen
