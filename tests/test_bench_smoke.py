"""The benchmark and the load test still run (a smoke run of each; no timing is asserted).

``bench/run --smoke`` runs eusdp beside ``oxigraph serve-read-only`` (installed into
bench/.venv from PyPI on first use, as the benchmark does itself; if it cannot be had the
run goes on with eusdp alone and says so) for one second per workload, with the built-in
Python load generator so that no system package is needed. ``bench/load.py`` drives a
server it starts with the mixed load at 8 clients for 2 seconds. Both must finish, write
well-formed figures and see no 5xx.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

pytestmark = pytest.mark.slow


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_bench_run_smoke(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    done = _run([str(BENCH / "run.py"), "--scale", "1", "--smoke", "--loadgen", "python",
                 "--json", str(out_json), "--markdown", str(out_md),
                 "--workdir", str(tmp_path / "work")], timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out_json.read_text())
    rows = result["rows"]
    eusdp = {r["workload"] for r in rows if r["server"] == "eusdp"}
    assert {"canned:partners-in-nato", "adhoc:1", "construct", "export"} <= eusdp
    for row in rows:
        assert {"server", "workload", "scale", "rps", "p50_ms", "p99_ms"} <= row.keys()
        assert row["server"] in {"eusdp", "oxigraph", "rdflib-endpoint"}
        assert row["scale"] == "1" and row["rps"] > 0, row
        assert row["rows_match"] is not False, row  # every server returned the same rows
        assert row["errors"] == 0, row
    assert result["start"] and result["inference"] and result["memory"]
    assert "| workload |" in out_md.read_text()


def test_load_smoke(tmp_path: Path) -> None:
    out_json = tmp_path / "load.json"
    done = _run([str(BENCH / "load.py"), "--seconds", "2", "--concurrency", "8",
                 "--json", str(out_json)], timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out_json.read_text())
    (level,) = report["levels"]
    assert level["concurrency"] == 8 and level["requests"] > 0
    assert level["errors_5xx"] == 0 and level["connection_errors"] == 0
    assert not any(status.startswith("5") for status in level["statuses"])
    assert "| clients |" in done.stdout
