"""The bound on a query's work never falls below what the engine does, and only queries
under it skip the worker (see eusdp.cost)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest

from eusdp import cost, querying
from eusdp.config import load_settings
from eusdp.cost import CostGate, GraphStats, bound, shape
from eusdp.live import query_service
from eusdp.querying import QueryJob, QueryService, _stats, query_form
from eusdp.store import Store
from tests.conftest import ROOT
from tests.test_querying import ENDLESS

P = """PREFIX eusdp: <https://w3id.org/eusdp/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
BUDGET = load_settings().inline_budget

#: The three shapes of the benchmark's ad-hoc queries, with a number no value reaches.
FILTERED_JOIN = P + """SELECT ?partnership ?partner ?date WHERE {
  ?partnership eusdp:partner ?partner ; eusdp:signingDate ?date .
  FILTER(STRLEN(STR(?partner)) < 1000017)
}"""
GROUPED_COUNT = P + """SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class }
GROUP BY ?class HAVING (COUNT(?s) < 1000017)"""
ORDERED_OPTIONAL = P + """SELECT ?country ?label ?organisation WHERE {
  ?country a eusdp:Country ; rdfs:label ?label .
  OPTIONAL { ?country eusdp:memberOf ?organisation }
  FILTER(?country != <https://w3id.org/eusdp/id/bench/1000017>)
}
ORDER BY ?label ?organisation"""


@pytest.fixture(scope="module")
def stats(store: Store) -> GraphStats:
    found = _stats(store)
    assert found is not None
    return found


def rows(store: Store, text: str) -> int:
    result = store.query(text)
    if isinstance(result, ox.QueryBoolean):
        return 1
    return sum(1 for _ in result)


# --- the statistics -----------------------------------------------------------------------


def test_statistics_count_what_the_bound_needs() -> None:
    ex = "http://example.org/"
    n = ox.NamedNode
    type_ = n(cost.RDF_TYPE)
    g1, g2 = n(ex + "g1"), n(ex + "g2")
    quads = [
        ox.Quad(n(ex + "a"), n(ex + "knows"), n(ex + "b"), g1),
        ox.Quad(n(ex + "a"), n(ex + "knows"), n(ex + "c"), g1),
        ox.Quad(n(ex + "d"), n(ex + "knows"), n(ex + "c"), g1),
        ox.Quad(n(ex + "a"), type_, n(ex + "Person"), g1),
        ox.Quad(n(ex + "a"), type_, n(ex + "Person"), g2),  # in two graphs: counted twice
        ox.Quad(n(ex + "d"), type_, n(ex + "Person"), g1),
        ox.Quad(n(ex + "a"), n(ex + "name"), ox.Literal("Alice Liddell"), g1),
    ]
    stats = GraphStats.of(quads)
    assert stats.quads == 7
    assert stats.count == {ex + "knows": 3, cost.RDF_TYPE: 3, ex + "name": 1}
    assert stats.out == {ex + "knows": 2, cost.RDF_TYPE: 2, ex + "name": 1}
    assert stats.into == {ex + "knows": 2, cost.RDF_TYPE: 3, ex + "name": 1}
    assert stats.classes == {ex + "Person": 3}
    assert (stats.out_any, stats.into_any, stats.longest) == (5, 3, 13)


def test_no_statistics_above_the_limit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eusdp.querying.STATS_LIMIT", 100)
    assert _stats(store) is None
    assert not CostGate(None, BUDGET).cheap(FILTERED_JOIN)


# --- the shape ----------------------------------------------------------------------------


def test_texts_a_number_apart_have_one_shape() -> None:
    other = FILTERED_JOIN.replace("1000017", "2999")
    assert other != FILTERED_JOIN
    assert shape(other) != shape(FILTERED_JOIN)  # not the same length
    assert shape(FILTERED_JOIN.replace("1000017", "2999999")) == shape(FILTERED_JOIN)
    masked = shape(ORDERED_OPTIONAL).decode()
    assert "<http://www.w3.org/2000/01/rdf-schema#>" in masked  # the prologue keeps its own
    assert "<https://w0id.org/eusdp/id/bench/0000000>" in masked  # after it, every digit a 0


def test_a_shape_is_bounded_for_every_text_it_stands_for(store: Store, stats: GraphStats) -> None:
    """Two variables a digit apart are one in the shape: read apart, never as a join
    (?s1 and ?s2 here are a cross product, ?s0 and ?s0 would be a star)."""
    text = "SELECT ?s1 ?s2 WHERE { ?s1 a ?c1 . ?s2 a ?c2 }"
    found = bound(shape(text).decode(), stats)
    assert found is not None and found.rows >= rows(store, text) == stats.count[cost.RDF_TYPE] ** 2
    # A predicate written with digits after the prologue may be any predicate; with a
    # prefix declared in the prologue it is the one it names.
    full = "SELECT * WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    named = P + "SELECT * WHERE { ?s rdfs:label ?l }"
    assert _rows_bound(full, stats) == stats.quads
    assert _rows_bound(named, stats) == stats.count[RDFS_LABEL] == rows(store, named)


RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _rows_bound(text: str, stats: GraphStats) -> int:
    found = bound(shape(text).decode(), stats)
    assert found is not None
    return found.rows


# --- what is judged -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [FILTERED_JOIN, GROUPED_COUNT, ORDERED_OPTIONAL])
def test_the_benchmark_shapes_are_cheap_on_the_project_graph(text: str, stats: GraphStats) -> None:
    assert CostGate(stats, BUDGET).cheap(text)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (FILTERED_JOIN, "select"),
        ("# a comment\nPREFIX ex: <http://example.org/>\nask { ?s ex:p ?o }", "ask"),
        ("BASE <http://example.org/>\nASK WHERE { ?s <p> ?o }", "ask"),
        ("PREFIX ex: <http://example.org/>\nSELECT DISTINCT ?s { ?s ex:p ?o }", "select"),
    ],
)
def test_the_bound_says_the_form_as_the_endpoint_reads_it(
    text: str, form: str, stats: GraphStats
) -> None:
    """The /sparql lane negotiates a judged query's format by this form alone."""
    found = CostGate(stats, BUDGET).judge(text)
    assert found is not None and found.form == form == query_form(text)


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_queries_that_never_end_are_not_cheap(name: str, stats: GraphStats) -> None:
    assert not CostGate(stats, BUDGET).cheap(ENDLESS[name])


def test_a_cross_product_of_the_graph_is_bounded_above_the_budget(stats: GraphStats) -> None:
    found = bound("SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }", stats)
    assert found is not None and found.rows == stats.quads**2 and found.work > BUDGET


@pytest.mark.parametrize(
    "where",
    [
        "{ ?s eusdp:partner/rdfs:label ?l }",  # property path
        "{ ?s eusdp:partner* ?l }",
        "{ { ?s a eusdp:Country } UNION { ?s a eusdp:Partnership } }",
        "{ ?s a eusdp:Country MINUS { ?s eusdp:memberOf ?o } }",
        "{ VALUES ?s { eusdp:a eusdp:b } ?s ?p ?o }",
        "{ { SELECT ?s WHERE { ?s a eusdp:Country } } }",
        "{ ?s a eusdp:Country FILTER NOT EXISTS { ?s eusdp:memberOf ?o } }",
        "{ ?s a eusdp:Country FILTER(EXISTS { ?s eusdp:memberOf ?o }) }",
        "{ GRAPH ?g { ?s ?p ?o } }",
        "{ SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }",
        "{ ?s eusdp:partner [ rdfs:label ?l ] }",
        "{ ?s eusdp:list (1 2) }",
        "{ ?s rdfs:label ?l FILTER(REGEX(?l, ?pattern)) ?s rdfs:comment ?pattern }",
        "{ ?s rdfs:label ?l BIND(REPLACE(?l, STR(?s), \"x\") AS ?m) }",
        "{ ?s rdfs:label ?l FILTER(" + "(" * 40 + "?l" + ")" * 40 + ") }",  # nested deep
        "{ ?s rdfs:label ?l FILTER(" + 'REGEX(' * 40 + "?l" + ', "a")' * 40 + ") }",
        "{ " + "{ " * 10 + "?s rdfs:label ?l FILTER(" + "(" * 10 + "?l" + ")" * 10 + ")"
        + " }" * 10 + " }",  # groups and parentheses together
        "{ ?s rdfs:label ?ländername }",  # a name this reader does not take apart
        "{ " + " . ".join(f"?s{i} ?p ?o" for i in range(cost.MAX_PATTERNS + 1)) + " }",
        "{ ?s ?p ?o ",  # broken: the engine says what is wrong
    ],
)
def test_what_the_reader_does_not_take_apart_is_not_judged(where: str, stats: GraphStats) -> None:
    assert bound(P + "SELECT * WHERE " + where, stats) is None


@pytest.mark.parametrize(
    "text",
    [
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "DESCRIBE <https://w3id.org/eusdp/id/country/norway>",
        "SELECT * FROM <https://w3id.org/eusdp/graph/data> WHERE { ?s ?p ?o }",
        "SELECT * WHERE { ?s ?p ?o } VALUES ?s { <urn:a> }",
    ],
)
def test_other_forms_and_clauses_are_not_judged(text: str, stats: GraphStats) -> None:
    assert bound(text, stats) is None


@pytest.mark.parametrize(
    "filter_",
    [
        'REGEX(?l, "^Nor", "i")',
        'REPLACE(?l, "a", STR(?s)) != ""',
        'REGEX(REPLACE(?l, "a", "b"), "b")',
    ],
)
def test_a_regular_expression_written_in_the_text_is_judged(
    filter_: str, stats: GraphStats
) -> None:
    assert bound(P + f"SELECT * WHERE {{ ?s rdfs:label ?l FILTER({filter_}) }}", stats)


def test_a_text_longer_than_judged_goes_to_a_worker(stats: GraphStats) -> None:
    padded = FILTERED_JOIN + "\n#" + "x" * cost.MAX_TEXT
    assert bound(padded, stats) is not None
    assert not CostGate(stats, BUDGET).cheap(padded)


def test_a_verdict_is_kept_per_shape(stats: GraphStats, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = CostGate(stats, BUDGET)
    calls: list[str] = []
    real = cost.bound

    def counted(text: str, stats: GraphStats) -> cost.Bound | None:
        calls.append(text)
        return real(text, stats)

    monkeypatch.setattr(cost, "bound", counted)
    assert gate.cheap(FILTERED_JOIN)
    assert gate.cheap(FILTERED_JOIN.replace("1000017", "4242424"))
    assert len(calls) == 1
    assert not CostGate(stats, 0).cheap(FILTERED_JOIN)  # a budget of 0: none is cheap


# --- the bound is a bound -----------------------------------------------------------------


def _random_queries(stats: GraphStats, count: int, seed: int) -> Iterator[str]:
    """Joins of one to four patterns over the graph's predicates, sharing variables."""
    rng = random.Random(seed)
    predicates = sorted(stats.count)
    for _ in range(count):
        variables = [f"?v{i}" for i in range(rng.randint(1, 4))]
        patterns = []
        for _ in range(rng.randint(1, 4)):
            p = rng.choice([f"<{rng.choice(predicates)}>", "?p" + str(rng.randint(0, 2)), "a"])
            patterns.append(f"{rng.choice(variables)} {p} {rng.choice(variables + ['?o'])}")
        optional = rng.random() < 0.3
        body = " . ".join(patterns)
        if optional:
            body += f" OPTIONAL {{ {rng.choice(variables)} <{rng.choice(predicates)}> ?x }}"
        yield f"SELECT * WHERE {{ {body} }}"


def test_the_bound_is_never_below_the_rows(store: Store, stats: GraphStats) -> None:
    """On 300 random joins (and the canned queries the reader takes apart), the rows the
    engine returns are never more than the bound, read from the text or from its shape."""
    texts = list(_random_queries(stats, 300, seed=20261127))
    texts += [f.read_text(encoding="utf-8") for f in sorted((ROOT / "queries").glob("*.rq"))]
    judged = 0
    for text in texts:
        for read in (text, shape(text).decode()):
            found = bound(read, stats)
            if found is None:
                continue
            judged += 1
            assert found.form == query_form(text)
            actual = rows(store, text.replace("LIMIT", "# LIMIT"))
            assert actual <= found.rows, (text, actual, found)
    assert judged >= 500  # the random joins are all judged, both ways


# --- the service --------------------------------------------------------------------------


def test_a_cheap_query_runs_in_the_server_process_and_others_in_a_worker(store: Store) -> None:
    svc = QueryService(store, workers=1, deadline=5.0, inline_budget=BUDGET)
    try:
        answer = svc.run(QueryJob(FILTERED_JOIN, "json"))
        assert len(answer.body) > 0 and svc.inline == 1 and svc._executor.started == 0  # type: ignore[union-attr]
        svc.run(QueryJob("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?a ?b ?c }", "json"))
        assert svc.inline == 1 and svc._executor.started == 1  # type: ignore[union-attr]
        # A dataset named by the request is not the graph the statistics describe.
        svc.run(QueryJob(FILTERED_JOIN, "json", default_graph_uris=(store.graphs()[0].iri,)))
        assert svc.inline == 1
        # A client's deadline under a second is kept to the letter: by a worker.
        svc.run(QueryJob(FILTERED_JOIN.replace("1000017", "1000018"), "json"), deadline=0.5)
        assert svc.inline == 1
    finally:
        svc.close()


def test_cheap_queries_are_evaluated_one_at_a_time_in_a_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two request threads would otherwise hand the GIL to and fro inside Oxigraph."""
    svc = QueryService(store, workers=1, deadline=5.0, inline_budget=BUDGET)
    held: list[bool] = []
    real = querying.execute

    def watched(*args: Any, **kwargs: Any) -> Any:
        held.append(svc._inline_lock.locked())
        return real(*args, **kwargs)

    monkeypatch.setattr(querying, "execute", watched)
    try:
        svc.run(QueryJob(FILTERED_JOIN, "json"))
        assert held == [True] and not svc._inline_lock.locked()
        with pytest.raises(SyntaxError):  # the lock is let go on an error too
            svc.run(QueryJob("SELECT ?s WHERE { ?s ex:p ?o }", "json"))
        assert held == [True, True] and not svc._inline_lock.locked()
    finally:
        svc.close()


def test_an_answer_in_process_is_cut_as_a_worker_cuts_it(store: Store) -> None:
    """Within ``max_rows`` by its bound, an answer is written without counting its rows;
    beyond, it is cut and flagged. Either way the bytes are the worker's."""
    inline = QueryService(store, workers=1, deadline=5.0, inline_budget=BUDGET)
    worker = QueryService(store, workers=1, deadline=5.0)
    try:
        for max_rows in (5, 11, 10_000):  # the filtered join: 9 rows, bounded by 11
            job = QueryJob(FILTERED_JOIN, "json", max_rows=max_rows)
            mine, theirs = inline.run(job), worker.run(job)
            assert (mine.body, mine.truncated) == (theirs.body, theirs.truncated)
            assert mine.truncated == (max_rows < 9)
            assert len(json.loads(mine.body)["results"]["bindings"]) == min(9, max_rows)
        assert inline.inline == 3 and inline._executor.started == 0  # type: ignore[union-attr]
    finally:
        inline.close()
        worker.close()


def test_the_setting_reaches_the_service(store: Store) -> None:
    svc = query_service(store, load_settings())
    try:
        assert svc.gate.budget == 2_000_000 and svc.gate.stats is not None
    finally:
        svc.close()
    off = query_service(store, load_settings(inline_budget=0))
    try:
        assert not off.gate.cheap(FILTERED_JOIN)
    finally:
        off.close()
    with pytest.raises(ValueError, match="inline_budget"):
        load_settings(inline_budget=-1)
