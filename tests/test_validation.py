"""`validate` accepts the project data and names file, line, node and rule for bad data.

Each bad case is the minimal valid fixture with one fault put in, so a case shows
exactly the fault it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from eusdp.config import Settings, load_settings
from eusdp.loader import DataError
from eusdp.validation import validate

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = Path(__file__).resolve().parent / "fixtures" / "kg" / "minimal.ttl"


def settings_for(tmp_path: Path, text: str) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    (data / "case.ttl").write_text(text, encoding="utf-8")
    return load_settings(ontology_dir=ROOT / "ontology", data_dir=data, cache_dir=None)


def test_project_data_is_valid(project_settings: Settings) -> None:
    report = validate(project_settings)
    assert report.ok, "\n".join(report.lines())
    # India's areas are not in the sources: a warning, not an invented fact.
    assert [p.focus for p in report.problems] == [
        "https://w3id.org/eusdp/id/partnership/eu-india"
    ]
    assert report.problems[0].severity == "Warning"


def test_minimal_fixture_is_valid(tmp_path: Path) -> None:
    report = validate(settings_for(tmp_path, MINIMAL.read_text(encoding="utf-8")))
    assert report.ok and report.problems == [], report.lines()


def test_bad_turtle_names_file_and_line(tmp_path: Path) -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        'rdfs:label "Xland"@en ;', 'rdfs:label "Xland@en ;'
    )
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"Xland@en' in row)
    with pytest.raises(DataError) as err:
        validate(settings_for(tmp_path, text))
    assert err.value.line == line
    assert err.value.path.name == "case.ttl"
    assert str(err.value).startswith(f"{err.value.path}:{line}: syntax error")


def test_a_fact_stated_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    """Queries read the files' union, where Oxigraph would keep the triple twice: the
    partner count of this data would be 2 for one partner."""
    settings = settings_for(tmp_path, MINIMAL.read_text(encoding="utf-8"))
    again = settings.data_dir / "zz-again.ttl"  # read after case.ttl
    again.write_text(
        "@prefix eusdp: <https://w3id.org/eusdp/ontology#> .\n"
        "@prefix id: <https://w3id.org/eusdp/id/> .\n"
        "id:partnership\\/x eusdp:partner id:country\\/x .\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        validate(settings)
    assert err.value.path == again
    message = str(err.value)
    assert "<https://w3id.org/eusdp/id/partnership/x> eusdp:partner" in message
    assert f"stated here and in {settings.data_dir / 'case.ttl'}" in message


BAD_CASES = {
    "missing-date": (
        ('    eusdp:signingDate "2024-01-01"^^xsd:date ;\n', ""),
        "partnership/x",
        "eusdp:signingDate",
        "exactly one signing date",
    ),
    "wrong-datatype": (
        ('eusdp:signingDate "2024-01-01"^^xsd:date', 'eusdp:signingDate "1 January 2024"'),
        "partnership/x",
        "eusdp:signingDate",
        "xsd:date",
    ),
    "two-partners": (
        ("eusdp:partner id:country\\/x ;", "eusdp:partner id:country\\/x , id:country\\/y ;"),
        "partnership/x",
        "eusdp:partner",
        "exactly one partner",
    ),
    "no-wikidata-link": (
        ("    eusdp:wikidata <http://www.wikidata.org/entity/Q1> .", '    rdfs:comment "x" .'),
        "country/x",
        "eusdp:wikidata",
        "Wikidata link",
    ),
    "bad-wikidata-iri": (
        ("<http://www.wikidata.org/entity/Q1>", "<https://www.wikidata.org/wiki/Q1>"),
        "wikidata.org/wiki/Q1",
        None,
        "entity IRI",
    ),
    "no-source": (
        ("    eusdp:areaListing id:listing\\/x ;\n    dcterms:source id:source\\/a .",
         "    eusdp:areaListing id:listing\\/x ."),
        "partnership/x",
        "dcterms:source",
        "at least one source",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_shape_violation_names_file_node_path_and_rule(tmp_path: Path, case: str) -> None:
    (old, new), focus, path, message = BAD_CASES[case]
    text = MINIMAL.read_text(encoding="utf-8")
    assert old in text, "the fixture changed: update the case"
    report = validate(settings_for(tmp_path, text.replace(old, new)))
    assert not report.ok
    violation = next(p for p in report.violations if focus in p.focus)
    if path:
        assert violation.path == path
        assert violation.file is not None and violation.file.endswith("case.ttl")
    assert message in violation.message
    assert violation.shape and violation.shape.startswith("sh:")
    assert any(message in line and focus in line for line in report.lines())


def test_inconsistent_typing_is_reported(tmp_path: Path) -> None:
    text = MINIMAL.read_text(encoding="utf-8") + (
        "\nid:partnership\\/x a eusdp:UnconfirmedReport .\n"  # disjoint with Partnership
    )
    report = validate(settings_for(tmp_path, text))
    assert not report.ok
    clash = [p for p in report.violations if p.severity == "Inconsistency"]
    assert clash and "partnership/x" in clash[0].message
