"""Nothing lost: kill -9 while the closure cache is written, many times, at random moments;
every next start finds a good cache or rebuilds one, and answers exactly as before."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from eusdp.config import load_settings
from eusdp.inference import cache_path
from eusdp.store import build_store
from tests.conftest import ROOT

NATO = "SELECT ?c WHERE { ?c a <https://w3id.org/eusdp/ontology#NATOMemberPartner> } ORDER BY ?c"


def answer(cache_dir: Path) -> list[str]:
    settings = load_settings(
        ontology_dir=ROOT / "ontology", data_dir=ROOT / "data", cache_dir=cache_dir
    )
    store = build_store(settings)
    return [row["c"].value for row in store.query(NATO)]  # type: ignore[union-attr]


def test_kill_nine_while_writing_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = answer(tmp_path / "reference")
    assert len(expected) == 5
    rng = random.Random(20261126)
    command = [sys.executable, "-m", "eusdp", "--cache-dir", str(cache),
               "--ontology-dir", str(ROOT / "ontology"), "--data-dir", str(ROOT / "data"),
               "infer"]  # fmt: skip
    kills = 0
    for _ in range(8):
        path = cache_path(cache)
        if path.exists():
            path.unlink()  # force a rebuild, so that the kill can land in the write
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 2.4))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        assert answer(cache) == expected  # rebuilds, and removes any orphaned temporary file
        assert [p.name for p in cache.iterdir()] == ["closure.nt"]
    assert kills >= 3, "the random moments should catch several runs still working"


def test_orphaned_temporary_files_are_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    orphan = cache / f".closure.nt.{dead}.abc123.tmp"
    orphan.write_bytes(b"# eusdp-closure key=torn")
    assert len(answer(cache)) == 5
    assert not orphan.exists()
