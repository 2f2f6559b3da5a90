"""``eusdp`` subcommands: what they print and the status they exit with."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from eusdp import cli
from eusdp.config import Settings
from eusdp.store import Store

from .conftest import BAD_QUERIES, FIXTURE, ONTOLOGY, QUERIES, Run

INVALID = FIXTURE / "invalid-data"
BROKEN = FIXTURE / "broken-data"
ID = "https://w3id.org/eusdp/id/"
JAPAN_IS_PARTNERSHIP = (
    "PREFIX eusdp: <https://w3id.org/eusdp/ontology#>\n"
    f"ASK {{ <{ID}partnership/japan> a eusdp:Partnership }}"
)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("eusdp ")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: eusdp" in capsys.readouterr().err


# --- validate ----------------------------------------------------------------------------


def test_validate_valid_data(run: Run) -> None:
    result = run("validate")
    assert result.status == 0, result.err
    assert result.out.splitlines()[-1].startswith("valid:")


def test_validate_invalid_data(run: Run) -> None:
    result = run("validate", data=INVALID)
    assert result.status == 1
    assert "unsigned.ttl" in result.out and "signedOn" in result.out
    assert result.out.splitlines()[-1].startswith("INVALID:")


@pytest.mark.parametrize(
    "argv",
    [["validate"], ["infer"], ["export"], ["query", "ASK {}"]],
    ids=lambda a: a[0],
)
def test_broken_data_is_file_and_line_never_a_traceback(run: Run, argv: list[str]) -> None:
    result = run(*argv, data=BROKEN)
    assert result.status == 1
    assert result.err.startswith(f"{BROKEN / 'broken.ttl'}:4: syntax error")
    assert "Traceback" not in result.err
    assert result.out == ""


def test_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EUSDP_ONTOLOGY_DIR", str(ONTOLOGY))
    monkeypatch.setenv("EUSDP_DATA_DIR", str(INVALID))
    monkeypatch.setenv("EUSDP_CACHE_DIR", "off")
    assert cli.main(["validate"]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_a_bad_base_is_a_usage_error(run: Run) -> None:
    result = run("--base", "https://example.org/no-slash", "infer")
    assert result.status == 2
    assert "base_iri must end with" in result.err


# --- infer ---------------------------------------------------------------------------------


def test_infer_reports_and_caches(run: Run, tmp_path: Path) -> None:
    first = run("infer", "--cache-dir", tmp_path)
    second = run("infer", "--cache-dir", tmp_path)
    assert (first.status, second.status) == (0, 0)
    assert "kept (inferred graph):" in first.out
    assert "cache: miss" in first.out and "cache: hit" in second.out
    assert "cache: off" in run("infer", "--no-cache").out


# --- export ----------------------------------------------------------------------------------


def test_export_to_stdout(run: Run) -> None:
    result = run("export")
    asserted = run("export", "--what", "asserted")
    assert (result.status, asserted.status) == (0, 0)
    everything = Graph().parse(data=result.out, format="turtle")
    assert len(everything) > len(Graph().parse(data=asserted.out, format="turtle")) > 0


def test_export_to_a_file(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out" / "graph.nt"
    stdout = run("export", "--format", "ntriples", "--what", "asserted").out
    result = run("export", "--format", "ntriples", "--what", "asserted", "--output", target)
    assert (result.status, result.out) == (0, "")
    written = Graph().parse(target, format="nt")
    assert isomorphic(written, Graph().parse(data=stdout, format="nt"))
    assert [p.name for p in target.parent.iterdir()] == ["graph.nt"]


def test_export_replaces_a_file_whole_or_not_at_all(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "graph.ttl"
    target.write_text("# the old export\n", encoding="utf-8")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr("eusdp.inference.os.replace", crash)
    result = run("export", "--output", target)
    assert result.status == 1
    assert "No space left on device" in result.err and "Traceback" not in result.err
    assert target.read_text(encoding="utf-8") == "# the old export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.ttl"]

    monkeypatch.undo()
    assert run("export", "--output", target).status == 0
    assert target.read_text(encoding="utf-8").startswith("@prefix")


# --- query ------------------------------------------------------------------------------------


def test_query_table_for_people(run: Run) -> None:
    result = run("query", "partners-by-area")
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["area", "partnership", "country", "name"]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == [
        "id:area/maritime", "id:partnership/japan", "id:country/japan", '"Japan"@en'
    ]
    # Columns are aligned: every cell of a column starts where its header does.
    starts = [lines[0].index(h) for h in ("partnership", "country", "name")]
    assert all(line[s - 2 : s] == "  " for line in lines[1:4] for s in starts)
    assert lines[-1] == "2 rows"


def test_query_table_shows_literals_plainly(run: Run) -> None:
    result = run("query", f"SELECT ?d ?t WHERE {{ <{ID}partnership/japan> "
                 "<https://w3id.org/eusdp/ontology#signedOn> ?d ; "
                 "<https://w3id.org/eusdp/ontology#source>/<http://purl.org/dc/terms/title> ?t }")
    assert result.status == 0, result.err
    row = result.out.splitlines()[2]
    assert row.startswith("2024-11-01  ")
    assert row.endswith('"Joint statement\\nwith a second line"@en')


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("json", lambda out: json.loads(out)["head"]["vars"] == ["area", "partnership",
                                                                 "country", "name"]),
        ("csv", lambda out: out.startswith("area,partnership,country,name\r\n")),
        ("tsv", lambda out: out.startswith("?area\t?partnership\t?country\t?name\n")),
        ("xml", lambda out: "<sparql xmlns=" in out),
    ],
)
def test_query_result_formats(run: Run, fmt: str, check: object) -> None:
    result = run("query", "partners-by-area", "--format", fmt)
    assert result.status == 0, result.err
    assert callable(check) and check(result.out)


def test_query_parameters(run: Run) -> None:
    result = run("query", "partners-by-area", "-p", f"area={ID}area/cyber", "--format", "csv")
    assert result.out.splitlines()[1:] == [
        f"{ID}area/cyber,{ID}partnership/norway,{ID}country/norway,Norway"
    ]


def test_query_ask(run: Run) -> None:
    assert run("query", "is-partner", "-p", f"country={ID}country/japan").out == "true\n"
    assert run("query", "is-partner", "-p", f"country={ID}country/mars").out == "false\n"
    out = run("query", "is-partner", "-p", f"country={ID}country/japan", "--format", "json").out
    assert json.loads(out)["boolean"] is True


def test_query_construct_and_describe(run: Run, cli_store: Store) -> None:
    turtle = run("query", "partnership-card")
    assert turtle.status == 0, turtle.err
    card = Graph().parse(data=turtle.out, format="turtle")
    assert len(card) == 5  # found through inference: 3 labels and 2 dates
    jsonld = run("query", "describe-country", "--format", "jsonld")
    assert json.loads(jsonld.out)["@id"] == f"{ID}country/japan"


def test_query_no_infer(run: Run) -> None:
    assert run("query", JAPAN_IS_PARTNERSHIP).out == "true\n"
    assert run("query", JAPAN_IS_PARTNERSHIP, "--no-infer").out == "false\n"


def test_query_from_a_file(run: Run) -> None:
    path = QUERIES / "partners-by-area.rq"
    by_path = run("query", path, "--format", "csv")
    by_flag = run("query", "-f", path, "-p", f"area={ID}area/maritime", "--format", "csv")
    by_name = run("query", "partners-by-area", "--format", "csv")
    assert by_path.status == by_flag.status == 0
    assert by_path.out == by_flag.out == by_name.out


def test_query_file_that_is_not_there(run: Run, tmp_path: Path) -> None:
    result = run("query", tmp_path / "missing.rq")
    assert result.status == 1
    assert result.err == f"{tmp_path / 'missing.rq'}: no such query file\n"


def test_query_from_stdin(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(read=lambda: "ASK { ?s ?p ?o }"))
    assert run("query", "-f", "-").out == "true\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("SELECT * WHERE { ?s ?p }", "1:25"),
        ("SELECT ?s WHERE {\n  ?s ?p ?o .\n  ?s ?p ?o ?x .\n  ?s ?p ?o .\n}", "3:12"),
        ("SELECT ?s WHERE {\n  ?s ?p ?o } }\n", "2:14"),
    ],
)
def test_bad_query_says_where(run: Run, text: str, where: str) -> None:
    result = run("query", text)
    assert result.status == 1
    assert result.err.startswith(f"<query>:{where}: SPARQL syntax error")
    assert "Traceback" not in result.err and result.out == ""


def test_bad_query_file_says_which_file(run: Run) -> None:
    result = run("query", "-f", BAD_QUERIES / "syntax-error.rq")
    assert result.status == 1
    assert result.err.startswith(f"{BAD_QUERIES / 'syntax-error.rq'}:6:3: SPARQL syntax error")


def test_unknown_canned_query_lists_close_names(run: Run) -> None:
    result = run("query", "partner-by-area")
    assert result.status == 1
    assert "no canned query named 'partner-by-area'; did you mean: partners-by-area" in result.err
    lost = run("query", "zzz")
    assert lost.status == 1
    assert "the canned queries are: describe-country, is-partner, partners-by-area" in lost.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["-p", "area=cyber"], "parameter 'area': 'cyber' is not one of"),
        (["-p", f"region={ID}area/cyber"], "parameter 'region': unknown parameter"),
    ],
)
def test_bad_parameters_are_named(run: Run, argv: list[str], words: str) -> None:
    result = run("query", "partners-by-area", *argv)
    assert result.status == 1
    assert result.err.startswith(words)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["query"], "give a query"),
        (["query", "ASK {}", "-f", str(QUERIES / "is-partner.rq")], "not both"),
        (["query", "ASK {}", "-p", "a=b"], "-p works with canned queries"),
        (["query", "partners-by-area", "-p", "area"], "expected NAME=VALUE"),
        (["query", "partners-by-area", "--format", "turtle"], "returns solutions"),
        (["query", "partnership-card", "--format", "csv"], "returns a graph"),
        (["query", "partners-by-area", "--format", "yaml"], "invalid choice"),
        (["serve", "--graph", "no-equals-sign"], "expected IRI=FILE"),
    ],
)
def test_usage_errors(run: Run, argv: list[str], words: str) -> None:
    result = run(*argv)
    assert result.status == 2
    assert words in result.err


def test_flags_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["query", "is-partner", "-p", f"country={ID}country/norway", "--no-cache"]
    status = cli.main([*argv, "--ontology-dir", str(ONTOLOGY), "--data-dir",
                       str(FIXTURE / "data"), "--queries-dir", str(QUERIES)])
    assert (status, capsys.readouterr().out) == (0, "true\n")


# --- serve ------------------------------------------------------------------------------------


def test_serve_hands_over_the_settings(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []
    stand_in = types.ModuleType("eusdp.serve")
    stand_in.serve = seen.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "eusdp.serve", stand_in)
    extra = FIXTURE / "data" / "countries.ttl"
    result = run("serve", "--host", "0.0.0.0", "--port", "9999", "--graph", f"urn:x:g={extra}")
    assert result.status == 0, result.err
    (settings,) = seen
    assert (settings.host, settings.port) == ("0.0.0.0", 9999)
    assert settings.extra_graphs == (("urn:x:g", extra),)
    assert settings.data_dir == FIXTURE / "data"
    assert settings.access_log is False  # off unless asked for
    assert run("serve", "--access-log").status == 0
    assert seen[-1].access_log is True


def test_serve_without_the_web_layer(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eusdp.serve", None)
    result = run("serve")
    assert result.status == 1
    assert "serve is not available" in result.err
