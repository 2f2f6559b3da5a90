"""The media-type table, content negotiation and serialisation, without Flask."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from eusdp import formats
from eusdp.formats import (
    BOOLEAN_FORMATS,
    GRAPH_FORMATS,
    RESULTS_FORMATS,
    find_format,
    negotiate,
    parse_accept,
    serialize_result,
)
from eusdp.store import Store

PARTNERSHIP = "<https://w3id.org/eusdp/ontology#Partnership>"
LABELS = f"""SELECT ?p ?label WHERE {{
  ?p a {PARTNERSHIP} ; <http://www.w3.org/2000/01/rdf-schema#label> ?label
}} ORDER BY ?label"""
GRAPH = f"CONSTRUCT {{ ?p ?q ?o }} WHERE {{ ?p a {PARTNERSHIP} ; ?q ?o }}"


@pytest.mark.parametrize(
    ("accept", "offered", "expected"),
    [
        (None, RESULTS_FORMATS, "json"),
        ("", GRAPH_FORMATS, "ttl"),
        ("*/*", RESULTS_FORMATS, "json"),
        ("*/*", GRAPH_FORMATS, "ttl"),
        ("application/sparql-results+xml", RESULTS_FORMATS, "xml"),
        ("application/json", RESULTS_FORMATS, "json"),
        ("application/json", GRAPH_FORMATS, "jsonld"),
        ("text/plain", GRAPH_FORMATS, "nt"),
        ("text/*", RESULTS_FORMATS, "csv"),
        ("text/csv;q=0.5, text/tab-separated-values", RESULTS_FORMATS, "tsv"),
        ("text/csv;q=0.5, text/tab-separated-values;q=0.4", RESULTS_FORMATS, "csv"),
        ("text/*;q=0, text/csv", RESULTS_FORMATS, "csv"),  # the most specific range rules
        ("application/ld+json, */*", GRAPH_FORMATS, "jsonld"),  # exact beats */* at equal q
        ("application/rdf+xml;q=0.9, */*;q=0.1", GRAPH_FORMATS, "rdf"),
        ("application/sparql-results+json;q=0, */*", RESULTS_FORMATS, "xml"),
        ("text/turtle;charset=utf-8", GRAPH_FORMATS, "ttl"),
        ("TEXT/TURTLE", GRAPH_FORMATS, "ttl"),
        ("application/n-quads", GRAPH_FORMATS, "nq"),
        ("application/trig", GRAPH_FORMATS, "trig"),
        ("garbage", RESULTS_FORMATS, "json"),  # unreadable: as if absent
    ],
)
def test_negotiate(accept: str | None, offered: tuple[formats.Format, ...], expected: str) -> None:
    chosen = negotiate(accept, offered)
    assert chosen is not None and chosen.name == expected


@pytest.mark.parametrize(
    ("accept", "offered"),
    [
        ("text/turtle", RESULTS_FORMATS),
        ("application/sparql-results+json", GRAPH_FORMATS),
        ("*/*;q=0", RESULTS_FORMATS),
        ("image/png, text/html", BOOLEAN_FORMATS),
    ],
)
def test_negotiate_nothing_acceptable(accept: str, offered: tuple[formats.Format, ...]) -> None:
    assert negotiate(accept, offered) is None


def test_parse_accept_ignores_bad_elements() -> None:
    ranges = parse_accept("text/csv;q=2, */x, ;q=1, text/html;q=abc, application/json;q=0.3")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("application", "json", 0.3)]


def test_short_names_and_media_types_are_unique() -> None:
    names = [f.name for f in formats.ALL_FORMATS]
    assert len(names) == len(set(names)) == 10
    assert sorted(names) == sorted(
        ["json", "xml", "csv", "tsv", "ttl", "jsonld", "nt", "rdf", "trig", "nq"]
    )
    for fmt in formats.ALL_FORMATS:
        assert find_format(fmt.name) is fmt
        assert find_format(fmt.media_type) is fmt
        assert fmt.iri is not None and fmt.iri.startswith(("http://", "https://"))


def test_find_format_resolves_aliases_within_the_offer() -> None:
    assert find_format("application/json", RESULTS_FORMATS) is formats.JSON
    assert find_format("application/json", GRAPH_FORMATS) is formats.JSONLD
    assert find_format("TTL") is formats.TURTLE
    assert find_format("nope") is None


def test_text_types_say_utf8() -> None:
    assert formats.CSV.content_type == "text/csv; charset=utf-8"
    assert formats.JSON.content_type == "application/sparql-results+json"


@pytest.mark.parametrize("fmt", RESULTS_FORMATS, ids=lambda f: f.name)
def test_select_in_every_results_format(mini_store: Store, fmt: formats.Format) -> None:
    written = serialize_result(mini_store.query(LABELS), fmt)
    assert not written.truncated
    if fmt is formats.CSV:  # lossy: Oxigraph will not read it back
        assert len(list(csv.reader(io.StringIO(written.body.decode())))) == 4
    else:
        parsed = ox.parse_query_results(written.body, format=fmt.results)
        assert isinstance(parsed, ox.QuerySolutions) and len(list(parsed)) == 3


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_construct_in_every_graph_format(mini_store: Store, fmt: formats.Format) -> None:
    written = serialize_result(mini_store.query(GRAPH), fmt.name)
    assert written.format is fmt
    triples = list(ox.parse(written.body, format=fmt.rdf))
    assert len(triples) == len(list(mini_store.query(GRAPH)))


@pytest.mark.parametrize("fmt", BOOLEAN_FORMATS, ids=lambda f: f.name)
def test_ask_in_every_boolean_format(mini_store: Store, fmt: formats.Format) -> None:
    written = serialize_result(mini_store.query("ASK {}"), fmt)
    assert b"true" in written.body


def test_a_table_cannot_be_turtle(mini_store: Store) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        serialize_result(mini_store.query(LABELS), "ttl")


def test_rows_beyond_the_limit_are_cut_and_flagged(mini_store: Store) -> None:
    written = serialize_result(mini_store.query(LABELS), formats.JSON, max_rows=2)
    assert written.truncated
    assert len(json.loads(written.body)["results"]["bindings"]) == 2
    exact = serialize_result(mini_store.query(LABELS), formats.JSON, max_rows=3)
    assert not exact.truncated


# Line breaks, tabs and quotes inside values: rows are cut by count, never inside a value.
MULTILINE = """SELECT ?n ?text WHERE { VALUES (?n ?text) {
  (1 "one\\ntwo\\tthree") (2 "say \\"hi\\"\\r\\n") (3 "x"@en) (4 UNDEF) } } ORDER BY ?n"""


@pytest.mark.parametrize("fmt", RESULTS_FORMATS, ids=lambda f: f.name)
def test_written_answers_are_oxigraphs_own(mini_store: Store, fmt: formats.Format) -> None:
    ours = serialize_result(mini_store.query(MULTILINE), fmt, max_rows=10)
    theirs = mini_store.query(MULTILINE).serialize(format=fmt.results)
    assert not ours.truncated
    assert ours.body == theirs


def test_rows_with_line_breaks_are_cut_by_count(mini_store: Store) -> None:
    written = serialize_result(mini_store.query(MULTILINE), formats.JSON, max_rows=2)
    doc = json.loads(written.body)
    assert written.truncated and doc["truncated"] is True
    assert [b["text"]["value"] for b in doc["results"]["bindings"]] == [
        "one\ntwo\tthree",
        'say "hi"\r\n',
    ]
    tsv = serialize_result(mini_store.query(MULTILINE), formats.TSV, max_rows=3)
    assert tsv.body.decode().splitlines()[1:] == [
        '1\t"one\\ntwo\\tthree"',
        '2\t"say \\"hi\\"\\r\\n"',
        '3\t"x"@en',
    ]


def test_cut_csv_keeps_quoting(mini_store: Store) -> None:
    written = serialize_result(mini_store.query(LABELS), formats.CSV, max_rows=2)
    rows = list(csv.reader(io.StringIO(written.body.decode("utf-8"))))
    assert rows[0] == ["p", "label"]
    assert rows[1][1] == 'EU–Japan "partnership", with a comma'
    assert len(rows) == 3


def test_graph_answers_are_cut_too(mini_store: Store) -> None:
    written = serialize_result(mini_store.query(GRAPH), formats.NTRIPLES, max_rows=2)
    assert written.truncated
    assert len(written.body.decode().strip().splitlines()) == 2


def test_json_terms_match_oxigraph(mini_store: Store) -> None:
    query = """SELECT ?iri ?lang ?typed ?plain ?bnode ?dir ?triple WHERE {
      BIND(<http://example.org/x> AS ?iri) BIND("chat"@fr AS ?lang)
      BIND(42 AS ?typed) BIND("plain" AS ?plain) BIND(BNODE("b") AS ?bnode)
      BIND(STRLANGDIR("x", "ar", "rtl") AS ?dir)
      BIND(<<( <http://example.org/s> <http://example.org/p> "o" )>> AS ?triple)
    }"""
    ours = json.loads(serialize_result(mini_store.query(query), formats.JSON).body)
    theirs = json.loads(mini_store.query(query).serialize(format=ox.QueryResultsFormat.JSON) or b"")
    ours_row, theirs_row = ours["results"]["bindings"][0], theirs["results"]["bindings"][0]
    ours_row.pop("bnode"), theirs_row.pop("bnode")  # fresh labels on every evaluation
    assert ours["head"] == theirs["head"]
    assert ours_row == theirs_row


# --- JSON in one pass (``again`` given): the same bytes, cut the same way ---------------


def _counted(store: Store, query: str) -> tuple[Callable[[], formats.OxResult], list[int]]:
    """A re-evaluation callback for ``serialize_result``, and how often it was called."""
    calls: list[int] = []

    def again() -> formats.OxResult:
        calls.append(1)
        return store.query(query)

    return again, calls


def test_json_in_one_pass_is_oxigraphs_own_answer(mini_store: Store) -> None:
    again, calls = _counted(mini_store, MULTILINE)
    written = serialize_result(mini_store.query(MULTILINE), formats.JSON, max_rows=10, again=again)
    assert written.body == mini_store.query(MULTILINE).serialize(format=formats.QRF.JSON)
    assert not written.truncated and calls == []


def test_json_longer_than_the_limit_is_evaluated_again_and_cut(mini_store: Store) -> None:
    again, calls = _counted(mini_store, MULTILINE)
    written = serialize_result(mini_store.query(MULTILINE), formats.JSON, max_rows=2, again=again)
    doc = json.loads(written.body)
    assert written.truncated and doc["truncated"] is True and calls == [1]
    assert [b["n"]["value"] for b in doc["results"]["bindings"]] == ["1", "2"]


def test_json_rows_exactly_at_the_limit_are_whole(mini_store: Store) -> None:
    again, calls = _counted(mini_store, MULTILINE)
    written = serialize_result(mini_store.query(MULTILINE), formats.JSON, max_rows=4, again=again)
    assert not written.truncated and calls == []
    assert len(json.loads(written.body)["results"]["bindings"]) == 4


def test_a_row_separator_inside_a_value_never_lets_too_many_rows_through(
    mini_store: Store,
) -> None:
    # Three rows whose values hold "},{": counted as more rows than they are, so the
    # answer is written again the slow way; it must still be whole and not flagged.
    query = 'SELECT ?v WHERE { VALUES ?v { "a},{b" "},{},{" "c" } } ORDER BY ?v'
    again, calls = _counted(mini_store, query)
    written = serialize_result(mini_store.query(query), formats.JSON, max_rows=3, again=again)
    values = [b["v"]["value"] for b in json.loads(written.body)["results"]["bindings"]]
    assert values == ["a},{b", "c", "},{},{"] and not written.truncated and calls == [1]


def test_an_endless_answer_in_json_costs_the_limit_not_the_whole(mini_store: Store) -> None:
    # A million rows (a cross product); cut at 5 in both passes, it returns at once.
    digits = " ".join(str(i) for i in range(1000))
    query = f"SELECT * WHERE {{ VALUES ?a {{ {digits} }} VALUES ?b {{ {digits} }} }}"
    again, calls = _counted(mini_store, query)
    written = serialize_result(mini_store.query(query), formats.JSON, max_rows=5, again=again)
    assert written.truncated and calls == [1]
    assert len(json.loads(written.body)["results"]["bindings"]) == 5
