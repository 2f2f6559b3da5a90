"""The installed ``eusdp`` console script, run as a person would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA, ONTOLOGY, QUERIES


@pytest.mark.slow
def test_console_script_runs_a_canned_query(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("eusdp")
    assert script.is_file(), f"no console script beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EUSDP_")}
    env |= {"EUSDP_CACHE_DIR": str(tmp_path), "EUSDP_QUERIES_DIR": str(QUERIES)}
    common = ["--ontology-dir", str(ONTOLOGY), "--data-dir", str(DATA)]
    done = subprocess.run(
        [str(script), *common, "query", "partners-by-area", "--format", "csv"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("area,partnership,country,name\n")  # text mode: \r\n read as \n
    assert done.stdout.count("\n") == 3

    bad = subprocess.run(
        [str(script), *common, "query", "SELECT * WHERE { ?s ?p }"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("<query>:1:25: SPARQL syntax error")
    assert "Traceback" not in bad.stderr
