"""Oxigraph answers every canned query exactly as rdflib's engine (the reference) does."""

from __future__ import annotations

from collections import Counter

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.term import Identifier

from eusdp.catalog import Catalog
from eusdp.store import Store
from eusdp.terms import to_rdflib
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))


def test_there_are_canned_queries() -> None:
    assert len(NAMES) >= 11


@pytest.mark.parametrize("infer", [True, False], ids=["inferred", "asserted"])
@pytest.mark.parametrize("name", NAMES)
def test_both_engines_agree(store: Store, catalog: Catalog, name: str, infer: bool) -> None:
    query = catalog.get(name)
    bindings = query.bind({})
    fast = store.query(query.text, infer=infer, bindings=bindings)
    reference = store.reference_query(
        query.text, infer=infer, bindings={k: to_rdflib(v) for k, v in bindings.items()}
    )
    if isinstance(fast, ox.QueryTriples):
        expected = Graph()
        for t in reference:
            expected.add(t)  # type: ignore[arg-type]
        got = Graph()
        for triple in fast:
            got.add(tuple(to_rdflib(x) for x in (triple.subject, triple.predicate, triple.object)))  # type: ignore[arg-type]
        assert len(got) > 0 or not infer
        assert isomorphic(got, expected)
        return
    assert isinstance(fast, ox.QuerySolutions)
    variables = [v.value for v in fast.variables]
    got_rows = Counter(
        tuple(None if row[v] is None else to_rdflib(row[v]) for v in variables) for row in fast
    )
    want_rows: Counter[tuple[Identifier | None, ...]] = Counter(
        tuple(row[v] if v in row.labels else None for v in variables)  # type: ignore[union-attr,index]
        for row in reference
    )
    assert got_rows == want_rows
    if infer:
        assert sum(got_rows.values()) > 0, f"{name} answers nothing"
