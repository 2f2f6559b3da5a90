"""Oxigraph answers every canned query exactly as rdflib's engine (the reference) does."""

from __future__ import annotations

from collections import Counter

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.term import Node

from eusdp.catalog import Catalog
from eusdp.store import Store
from eusdp.terms import OxTerm, to_rdflib
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))
pytestmark = pytest.mark.usefixtures("no_engine_iterator_left_in_a_cycle")


def test_there_are_canned_queries() -> None:
    assert len(NAMES) >= 11


Row = tuple[Node | None, ...]


def oxigraph_answer(
    store: Store, text: str, infer: bool, bindings: dict[str, OxTerm]
) -> Graph | tuple[list[str], Counter[Row]]:
    """Oxigraph's answer read whole into rdflib terms: a graph, or variables and rows.

    Read here, not in the test, so that no engine iterator is alive in a frame when
    rdflib's parser runs below it (see ``no_engine_iterator_left_in_a_cycle``)."""
    fast = store.query(text, infer=infer, bindings=bindings)
    if isinstance(fast, ox.QueryTriples):
        got = Graph()
        for triple in fast:
            got.add(tuple(to_rdflib(x) for x in (triple.subject, triple.predicate, triple.object)))  # type: ignore[arg-type]
        return got
    assert isinstance(fast, ox.QuerySolutions)
    variables = [v.value for v in fast.variables]
    rows = Counter(
        tuple(None if row[v] is None else to_rdflib(row[v]) for v in variables) for row in fast
    )
    return variables, rows


@pytest.mark.parametrize("infer", [True, False], ids=["inferred", "asserted"])
@pytest.mark.parametrize("name", NAMES)
def test_both_engines_agree(store: Store, catalog: Catalog, name: str, infer: bool) -> None:
    query = catalog.get(name)
    bindings = query.bind({})
    fast = oxigraph_answer(store, query.text, infer, bindings)
    reference = store.reference_query(
        query.text, infer=infer, bindings={k: to_rdflib(v) for k, v in bindings.items()}
    )
    if isinstance(fast, Graph):
        expected = Graph()
        for t in reference:
            expected.add(t)  # type: ignore[arg-type]
        assert len(fast) > 0 or not infer
        assert isomorphic(fast, expected)
        return
    variables, got_rows = fast
    want_rows: Counter[Row] = Counter(
        tuple(row[v] if v in row.labels else None for v in variables)  # type: ignore[union-attr,index]
        for row in reference
    )
    assert got_rows == want_rows
    if infer:
        assert sum(got_rows.values()) > 0, f"{name} answers nothing"
