"""Keeping the Wikidata links right: ``eusdp wikidata check`` and ``eusdp wikidata suggest``.

``check`` asks Wikidata's SPARQL endpoint about every linked item, a batch of items
per request (one ``VALUES`` query each, never one request per item), and compares
what it says with what we say: the English label, the ISO 3166-1 codes (P297,
P298), and whether the item still exists. On Wikidata's query service a merged
item is a redirect, shown only as ``?item owl:sameAs ?target``; a deleted item has
no triples at all. Its types (P31) are reported, not compared: our classes are
not Wikidata's. ``suggest`` lists the entities without a link, with the items
whose English label is exactly theirs, for a person to confirm; it never writes
a link (the project links only QIDs its fact sheet verifies).

Calls go through :func:`eusdp.federation.select`: the project's User-Agent with a
contact, a timeout, a size limit, retries with backoff honouring Retry-After.
Nothing here knows of the command line; :mod:`eusdp.cli` prints the reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyoxigraph as ox

from .federation import RemoteOptions, Rows, select
from .store import Store

WD = "http://www.wikidata.org/entity/"
_ITEM = re.compile(re.escape(WD) + r"Q[1-9][0-9]*")
EUSDP = "https://w3id.org/eusdp/ontology#"

#: Classes whose instances can have a Wikidata item: states and groupings, organisations,
#: people, milestones (policies, strategies, initiatives...) and treaties.
LINKABLE = (
    EUSDP + "Party",
    "http://www.w3.org/ns/org#Organization",
    "http://www.w3.org/ns/org#FormalOrganization",
    "https://schema.org/Person",
    EUSDP + "SecurityMilestone",
    EUSDP + "Treaty",
)

_PROLOGUE = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX schema: <http://schema.org/>
"""


# --- what we say ----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One ``eusdp:wikidata`` link and what we say about its subject."""

    entity: str
    item: str
    labels: tuple[str, ...]
    iso2: tuple[str, ...]
    iso3: tuple[str, ...]


def links(store: Store) -> list[Link]:
    """Every asserted Wikidata link, with our English labels and ISO codes."""
    result = store.query(
        f"""PREFIX eusdp: <{EUSDP}>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?entity ?item ?label ?iso2 ?iso3 WHERE {{
          ?entity eusdp:wikidata ?item .
          OPTIONAL {{ ?entity rdfs:label ?label FILTER(LANGMATCHES(LANG(?label), "en")) }}
          OPTIONAL {{ ?entity eusdp:iso3166Alpha2 ?iso2 }}
          OPTIONAL {{ ?entity eusdp:iso3166Alpha3 ?iso3 }}
        }}""",
        infer=False,
    )
    assert isinstance(result, ox.QuerySolutions)
    found: dict[tuple[str, str], dict[str, set[str]]] = {}
    for row in result:
        key = (_value(row["entity"]), _value(row["item"]))
        values = found.setdefault(key, {"label": set(), "iso2": set(), "iso3": set()})
        for name in values:
            if row[name] is not None:
                values[name].add(_value(row[name]))
    return [
        Link(entity, item, *(tuple(sorted(v[n])) for n in ("label", "iso2", "iso3")))
        for (entity, item), v in sorted(found.items())
    ]


def _value(term: object) -> str:
    value = getattr(term, "value", None)
    return str(value) if value is not None else str(term)


# --- check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What Wikidata says about one linked item, and how it differs from us."""

    entity: str
    item: str
    #: "ok", "differs", "redirect", "missing" or "not-an-item"
    status: str
    labels: tuple[str, ...]
    wikidata_labels: tuple[str, ...] = ()
    iso2: tuple[str, ...] = ()
    wikidata_iso2: tuple[str, ...] = ()
    iso3: tuple[str, ...] = ()
    wikidata_iso3: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    redirect: str | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_query(items: Sequence[str]) -> str:
    """One request for a batch of items: label, ISO codes, types and redirect target."""
    values = " ".join(str(ox.NamedNode(i)) for i in items)
    return f"""{_PROLOGUE}SELECT ?item ?label ?iso2 ?iso3 ?type ?redirect WHERE {{
  VALUES ?item {{ {values} }}
  OPTIONAL {{ ?item rdfs:label ?label . FILTER(LANG(?label) = "en") }}
  OPTIONAL {{ ?item wdt:P297 ?iso2 }}
  OPTIONAL {{ ?item wdt:P298 ?iso3 }}
  OPTIONAL {{ ?item wdt:P31 ?type }}
  OPTIONAL {{ ?item owl:sameAs ?redirect }}
}}"""


def check(
    found: Sequence[Link], endpoint: str, options: RemoteOptions, batch_size: int = 50
) -> list[Finding]:
    """Compare each link with Wikidata. Raises :class:`~eusdp.federation.ServiceFailed`."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    items = sorted({link.item for link in found if _ITEM.fullmatch(link.item)})
    said: dict[str, dict[str, set[str]]] = {}
    for batch in _batches(items, batch_size):
        rows = select(endpoint, check_query(batch), options, service=endpoint)
        _collect(rows, said)
    return [_compare(link, said.get(link.item)) for link in found]


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _collect(rows: Rows, said: dict[str, dict[str, set[str]]]) -> None:
    names = ("label", "iso2", "iso3", "type", "redirect")
    for row in rows.rows:
        cells = dict(zip(rows.variables, row, strict=True))
        item = cells.get("item")
        if item is None:
            continue
        values = said.setdefault(item.value, {n: set() for n in names})
        for name in names:
            term = cells.get(name)
            if term is not None:
                values[name].add(term.value)


def _compare(link: Link, said: dict[str, set[str]] | None) -> Finding:
    base: dict[str, Any] = {
        "entity": link.entity,
        "item": link.item,
        "labels": link.labels,
        "iso2": link.iso2,
        "iso3": link.iso3,
    }
    if not _ITEM.fullmatch(link.item):
        problem = "not a Wikidata item IRI (http://www.wikidata.org/entity/Q…)"
        return Finding(status="not-an-item", problems=(problem,), **base)
    values = said or {}
    labels, iso2, iso3 = (tuple(sorted(values.get(n, ()))) for n in ("label", "iso2", "iso3"))
    types, redirects = tuple(sorted(values.get("type", ()))), sorted(values.get("redirect", ()))
    theirs: dict[str, Any] = {
        "wikidata_labels": labels,
        "wikidata_iso2": iso2,
        "wikidata_iso3": iso3,
        "types": types,
    }
    if redirects:
        target = redirects[0]
        problem = f"the item is a redirect to {target}: link the target instead"
        return Finding(status="redirect", redirect=target, problems=(problem,), **base, **theirs)
    if not any((labels, iso2, iso3, types)):
        problem = "Wikidata has nothing on this item: deleted, or never created"
        return Finding(status="missing", problems=(problem,), **base, **theirs)
    problems = []
    if link.labels and not set(link.labels) & set(labels):
        shown = " / ".join(f'"{x}"' for x in labels) or "none"
        problems.append(f'English label: ours "{link.labels[0]}", Wikidata {shown}')
    codes = (("alpha-2 (P297)", link.iso2, iso2), ("alpha-3 (P298)", link.iso3, iso3))
    for name, ours, wikidata in codes:
        if set(ours) != set(wikidata) and (ours or wikidata):
            problems.append(
                f"ISO 3166-1 {name}: ours {', '.join(ours) or 'none'}, "
                f"Wikidata {', '.join(wikidata) or 'none'}"
            )
    status = "differs" if problems else "ok"
    return Finding(status=status, problems=tuple(problems), **base, **theirs)


def findings_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [{**asdict(f), "ok": f.ok} for f in findings]


# --- suggest --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    item: str
    description: str | None


@dataclass(frozen=True)
class Suggestion:
    """An entity without a Wikidata link, and the items whose English label is its label."""

    entity: str
    label: str
    candidates: tuple[Candidate, ...]


def unlinked(store: Store) -> list[tuple[str, str]]:
    """(entity, English label) of every linkable entity without a Wikidata link."""
    classes = " ".join(f"<{c}>" for c in LINKABLE)
    result = store.query(
        f"""PREFIX eusdp: <{EUSDP}>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT DISTINCT ?entity ?label WHERE {{
          VALUES ?class {{ {classes} }}
          ?entity a ?class ; rdfs:label ?label .
          FILTER(LANGMATCHES(LANG(?label), "en"))
          FILTER NOT EXISTS {{ ?entity eusdp:wikidata ?item }}
        }} ORDER BY ?label ?entity"""
    )
    assert isinstance(result, ox.QuerySolutions)
    return [(_value(row["entity"]), _value(row["label"])) for row in result]


def suggest_query(labels: Sequence[str]) -> str:
    values = " ".join(str(ox.Literal(label, language="en")) for label in labels)
    return f"""{_PROLOGUE}SELECT ?label ?item ?description WHERE {{
  VALUES ?label {{ {values} }}
  ?item rdfs:label ?label .
  OPTIONAL {{ ?item schema:description ?description . FILTER(LANG(?description) = "en") }}
}}"""


def suggest(
    entities: Sequence[tuple[str, str]],
    endpoint: str,
    options: RemoteOptions,
    batch_size: int = 50,
) -> list[Suggestion]:
    """Candidate items for each entity, found by exact English label. Writes nothing."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    labels = sorted({label for _, label in entities})
    found: dict[str, dict[str, str | None]] = {}
    for batch in _batches(labels, batch_size):
        rows = select(endpoint, suggest_query(batch), options, service=endpoint)
        for row in rows.rows:
            cells = dict(zip(rows.variables, row, strict=True))
            label, item = cells.get("label"), cells.get("item")
            if label is None or item is None or not _ITEM.fullmatch(item.value):
                continue
            described = cells.get("description")
            items = found.setdefault(label.value, {})
            if items.get(item.value) is None:
                items[item.value] = described.value if described is not None else None
    return [
        Suggestion(
            entity,
            label,
            tuple(Candidate(i, d) for i, d in sorted(found.get(label, {}).items(), key=_qid)),
        )
        for entity, label in entities
    ]


def _qid(pair: tuple[str, str | None]) -> int:
    return int(pair[0].rsplit("Q", 1)[1])


def suggestions_json(suggestions: Sequence[Suggestion]) -> list[dict[str, Any]]:
    return [asdict(s) for s in suggestions]
