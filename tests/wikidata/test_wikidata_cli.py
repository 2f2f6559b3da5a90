"""``eusdp wikidata check`` and ``suggest`` against the Wikidata-shaped fixture on 127.0.0.1:
each report path (match, wrong label, wrong ISO code, redirect, missing), batching, the
client's manners, and Wikidata unreachable, stalled or answering garbage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from eusdp.cli import main
from eusdp.config import Settings
from tests.wikidata.conftest import cli_env
from tests.wikidata.standins import FIXTURES, SparqlStandin, closed_port

WD = "http://www.wikidata.org/entity/"
ID = "https://w3id.org/eusdp/id/"


@pytest.fixture()
def env(
    project_settings: Settings, wikidata_standin: SparqlStandin, monkeypatch: pytest.MonkeyPatch
) -> SparqlStandin:
    assert project_settings.cache_dir is not None
    cli_env(monkeypatch, wikidata_standin.url, project_settings.cache_dir)
    return wikidata_standin


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, json.loads(out) if out.strip() else None


def test_check_reports_each_difference_and_exits_1(
    env: SparqlStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    status, findings = run_json(capsys, "wikidata", "check", "--json")
    assert status == 1
    assert len(findings) == 24
    by_item = {f["item"].removeprefix(WD): f for f in findings}
    odd = {q: f["status"] for q, f in by_item.items() if f["status"] != "ok"}
    assert odd == {
        "Q17": "differs",  # the wrong label
        "Q884": "differs",  # the wrong ISO alpha-3
        "Q973809": "redirect",
        "Q7988404": "missing",
    }
    assert by_item["Q17"]["wikidata_labels"] == ["Wrong label (fixture)"]
    assert by_item["Q17"]["labels"] == ["Japan"]
    assert by_item["Q884"]["problems"] == ["ISO 3166-1 alpha-3 (P298): ours KOR, Wikidata XKR"]
    assert by_item["Q973809"]["redirect"] == WD + "Q8896"
    assert by_item["Q7988404"]["entity"] == ID + "milestone/western-union"
    norway = by_item["Q20"]
    assert norway["ok"] and norway["wikidata_iso2"] == ["NO"] and norway["wikidata_iso3"] == ["NOR"]
    assert norway["types"] == ["https://example.org/wikidata-fixture/state"]


def test_check_asks_in_batches_with_one_values_query_each(
    env: SparqlStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wikidata", "check", "--json", "--batch-size", "10"]) == 1
    capsys.readouterr()
    queries = env.queries()
    assert len(queries) == 3  # 24 items, 10 per request
    assert [q.count("<http://www.wikidata.org/entity/Q") for q in queries] == [10, 10, 4]
    assert all(q.count("VALUES ?item") == 1 for q in queries)
    assert all(s.headers["user-agent"].startswith("eusdp/") for s in env.seen)


def test_check_table_for_people(env: SparqlStandin, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wikidata", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["status", "entity", "item"]
    assert out[2].split()[:3] == ["missing", "id:milestone/western-union", "wd:Q7988404"]
    wrong = 'English label: ours "Japan", Wikidata "Wrong label (fixture)"'
    assert f"wd:Q17 (id:country/japan): {wrong}" in out
    assert out[-1] == "24 links: 20 match, 4 differ"


def test_check_exits_0_when_every_link_matches(
    env: SparqlStandin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EUSDP_DATA_DIR", str(FIXTURES / "kg"))
    status, findings = run_json(capsys, "wikidata", "check", "--json")
    assert status == 0
    assert [(f["item"].removeprefix(WD), f["status"]) for f in findings] == [
        ("Q217", "ok"),
        ("Q20", "ok"),
    ]


def test_check_retries_when_throttled(
    env: SparqlStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    env.behaviour.throttle = 1
    env.behaviour.retry_after = "0"
    status, findings = run_json(capsys, "wikidata", "check", "--json")
    assert status == 1 and len(findings) == 24
    assert len(env.seen) == 2


@pytest.mark.parametrize(
    ("mode", "message"),
    [("unreachable", "cannot be reached"), ("garbage", "not SPARQL JSON"),
     ("stall", "did not answer within 1 s"), ("error", "HTTP 500")],
)
def test_check_when_wikidata_fails_exits_3_with_one_line(
    env: SparqlStandin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    message: str,
) -> None:
    monkeypatch.setenv("EUSDP_REMOTE_TIMEOUT", "1")
    monkeypatch.setenv("EUSDP_REMOTE_RETRIES", "1")
    endpoint = env.url
    if mode == "unreachable":
        endpoint = f"http://127.0.0.1:{closed_port()}/sparql"
    else:
        env.behaviour.mode = mode
    assert main(["wikidata", "check", "--endpoint", endpoint]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [["--endpoint", "file:///etc/passwd"], ["--endpoint", "not a url"], ["--batch-size", "0"]],
)
def test_check_usage_errors_exit_2(
    env: SparqlStandin, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(["wikidata", "check", *argv]) == 2
    assert env.seen == []


def test_suggest_lists_unlinked_entities_with_candidates_and_writes_nothing(
    env: SparqlStandin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EUSDP_DATA_DIR", str(FIXTURES / "kg"))
    data = FIXTURES / "kg" / "links.ttl"
    before = data.read_bytes()
    status, suggestions = run_json(capsys, "wikidata", "suggest", "--json")
    assert status == 0
    assert suggestions == [
        {
            "entity": ID + "country/iceland",
            "label": "Iceland",
            "candidates": [{"item": WD + "Q189", "description": "fixture item for Iceland"}],
        },
        {"entity": ID + "organisation/quad", "label": "Quad", "candidates": []},
    ]
    (query,) = env.queries()
    assert 'VALUES ?label { "Iceland"@en "Quad"@en }' in query
    assert data.read_bytes() == before
    assert main(["wikidata", "suggest"]) == 0
    out = capsys.readouterr().out
    assert ["id:country/iceland", "Iceland", "wd:Q189", "fixture item for Iceland"] in [
        re.split(r"\s{2,}", line) for line in out.splitlines()
    ]
    assert "Nothing was written" in out


def test_suggest_when_wikidata_cannot_be_reached(
    env: SparqlStandin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}/sparql"
    assert main(["wikidata", "suggest", "--endpoint", endpoint]) == 3
    assert "cannot be reached" in capsys.readouterr().err
