"""Canned queries: decorators, typed parameters, and files that must not load."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from eusdp.catalog import (
    BadParameter,
    Catalog,
    CatalogError,
    UnknownQuery,
    load_catalog,
    load_query,
    parse_query,
)

from .conftest import BAD_QUERIES, QUERIES

XSD = "http://www.w3.org/2001/XMLSchema#"
AREA = "https://w3id.org/eusdp/id/area/"
INTEGER = ox.NamedNode(XSD + "integer")
DATE = ox.NamedNode(XSD + "date")


def test_every_fixture_query_loads(catalog: Catalog) -> None:
    assert catalog.names() == sorted(p.stem for p in QUERIES.glob("*.rq"))
    assert all(q.summary and q.tags for q in catalog)


def test_decorators_are_read(catalog: Catalog) -> None:
    q = catalog.get("partners-by-area")
    assert q.summary == "Partner countries that cooperate with the EU in an area"
    assert q.description.startswith("One row per partnership")
    assert q.tags == ("partners", "areas")
    assert q.method == "GET"
    assert q.query_type == "select"
    (area,) = q.params
    assert (area.name, area.type, area.required) == ("area", "iri", False)
    assert area.default == AREA + "maritime"
    assert area.enum == (AREA + "cyber", AREA + "maritime", AREA + "space")
    assert area.description == "An area of cooperation"
    assert q.text == (QUERIES / "partners-by-area.rq").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("partners-by-area", "select"),
        ("is-partner", "ask"),
        ("partnership-card", "construct"),
        ("describe-country", "describe"),
    ],
)
def test_query_form(catalog: Catalog, name: str, kind: str) -> None:
    assert catalog.get(name).query_type == kind


def test_query_without_decorators(tmp_path: Path) -> None:
    path = tmp_path / "plain.rq"
    path.write_text("# just a comment\nASK { ?s ?p ?o }\n", encoding="utf-8")
    q = load_query(path)
    assert (q.name, q.summary, q.tags, q.params, q.method) == ("plain", "", (), (), "GET")


def test_grlc_decorators_are_accepted() -> None:
    text = (
        "#+ summary: From grlc\n#+ endpoint: https://example.org/sparql\n"
        "#+ pagination: 100\n#+ tags: one\nSELECT * WHERE { ?s ?p ?o }\n"
    )
    q = parse_query(text, Path("grlc.rq"))
    assert (q.summary, q.tags) == ("From grlc", ("one",))


def _expectation(path: Path) -> tuple[str, str]:
    """A bad query's first line says where it fails: ``# expect: LINE[:COL]: words``."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# expect: (\d+(?::\d+)?): (.+)", first)
    assert match, f"{path.name}: the first line must be '# expect: LINE: words'"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("path", sorted(BAD_QUERIES.glob("*.rq")), ids=lambda p: p.stem)
def test_bad_query_file_names_file_and_line(path: Path) -> None:
    where, words = _expectation(path)
    with pytest.raises(CatalogError) as caught:
        load_query(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{where}:"), message
    assert words in message


def test_one_bad_file_stops_the_catalog(tmp_path: Path) -> None:
    for good in QUERIES.glob("*.rq"):
        (tmp_path / good.name).write_bytes(good.read_bytes())
    (tmp_path / "zz-broken.rq").write_bytes((BAD_QUERIES / "syntax-error.rq").read_bytes())
    with pytest.raises(CatalogError, match="zz-broken.rq:6:3"):
        load_catalog(tmp_path)


def test_unknown_query_suggests_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnknownQuery) as caught:
        catalog.get("partners-by-aera")
    assert caught.value.suggestions[0] == "partners-by-area"
    assert "did you mean: partners-by-area" in str(caught.value)
    assert isinstance(caught.value, KeyError)


# --- binding -----------------------------------------------------------------------------


def test_defaults_fill_missing_values(catalog: Catalog) -> None:
    assert catalog.get("partners-by-area").bind({}) == {"area": ox.NamedNode(AREA + "maritime")}
    assert catalog.get("signed-since").bind({}) == {
        "date": ox.Literal("2024-01-01", datatype=ox.NamedNode(XSD + "date"))
    }


def test_an_empty_value_counts_as_not_given(catalog: Catalog) -> None:
    assert catalog.get("partners-by-area").bind({"area": ""}) == {
        "area": ox.NamedNode(AREA + "maritime")
    }


@pytest.mark.parametrize(
    ("query", "raw", "name", "words"),
    [
        ("partners-by-area", {"region": AREA + "cyber"}, "region", "unknown parameter"),
        ("partners-by-area", {"area": AREA + "land"}, "area", "is not one of"),
        ("is-partner", {}, "country", "missing"),
        ("is-partner", {"country": "norway"}, "country", "not an absolute IRI"),
        ("is-partner", {"country": "https://x.org/a b"}, "country", "not an absolute IRI"),
        ("is-partner", {"country": "https://x.org/<a>"}, "country", "not an absolute IRI"),
        ("signed-since", {"date": "2024-13-01"}, "date", "YYYY-MM-DD"),
        ("signed-since", {"date": "1 May 2024"}, "date", "YYYY-MM-DD"),
        ("signed-since", {"meetings": "three"}, "meetings", "not an integer"),
        ("signed-since", {"meetings": "2.5"}, "meetings", "not an integer"),
        ("partnerships-by-label", {"label": "x", "lang": "english!"}, "lang", "BCP 47"),
        ("partnerships-by-label", {"label": "x", "lang": "e"}, "lang", "BCP 47"),
    ],
)
def test_bad_values_name_the_parameter_and_why(
    catalog: Catalog, query: str, raw: dict[str, str], name: str, words: str
) -> None:
    with pytest.raises(BadParameter) as caught:
        catalog.get(query).bind(raw)
    assert caught.value.name == name
    assert str(caught.value).startswith(f"parameter {name!r}")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("query", "name", "value", "term"),
    [
        ("is-partner", "country", "urn:x:1", ox.NamedNode("urn:x:1")),
        ("partnerships-by-label", "label", 'a "quoted" text', ox.Literal('a "quoted" text')),
        ("partnerships-by-label", "lang", "fr-BE", ox.Literal("fr-be")),
        ("partnerships-by-label", "lang", "zh-Hant-TW", ox.Literal("zh-hant-tw")),
        ("signed-since", "meetings", "+007", ox.Literal("7", datatype=INTEGER)),
        ("signed-since", "meetings", "-2", ox.Literal("-2", datatype=INTEGER)),
        ("signed-since", "date", "2024-02-29", ox.Literal("2024-02-29", datatype=DATE)),
    ],
)
def test_good_values_become_terms(
    catalog: Catalog, query: str, name: str, value: str, term: ox.Literal | ox.NamedNode
) -> None:
    raw = {"label": "x", name: value} if query == "partnerships-by-label" else {name: value}
    assert catalog.get(query).bind(raw)[name] == term


def test_optional_parameter_without_value_stays_unbound(catalog: Catalog) -> None:
    assert "meetings" not in catalog.get("signed-since").bind({})


def test_the_project_queries_load() -> None:
    """The real ``queries/`` folder passes every check the catalog makes."""
    catalog = load_catalog(Path(__file__).resolve().parents[2] / "queries")
    assert len(catalog) > 0
