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
from eusdp.store import build_store
from tests.conftest import ROOT

NATO = "SELECT ?c WHERE { ?c a <https://w3id.org/eusdp/ontology#NATOMemberPartner> } ORDER BY ?c"


def answer(cache_dir: Path) -> list[str]:
    settings = load_settings(
        ontology_dir=ROOT / "ontology", data_dir=ROOT / "data", cache_dir=cache_dir
    )
    store = build_store(settings)
    return [row["c"].value for row in store.query(NATO)]  # type: ignore[union-attr]


#: A writer that rebuilds the cache over and over, until it is killed.
WRITER = """
import sys
from pathlib import Path
from eusdp.config import load_settings
from eusdp.inference import cache_path
from eusdp.store import build_store
root, cache = Path(sys.argv[1]), Path(sys.argv[2])
settings = load_settings(ontology_dir=root / "ontology", data_dir=root / "data", cache_dir=cache)
while True:
    cache_path(cache).unlink(missing_ok=True)
    build_store(settings)
"""


def test_kill_nine_while_writing_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = answer(tmp_path / "reference")
    assert len(expected) == 5
    rng = random.Random(20261126)
    for _ in range(10):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ROOT), str(cache)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 2.5))  # past the imports, into the rebuild loop
        assert process.poll() is None, "the writer stopped by itself"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert answer(cache) == expected  # rebuilds, and removes any orphaned temporary file
        assert [p.name for p in cache.iterdir()] == ["closure.nt"]


def test_orphaned_temporary_files_are_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    orphan = cache / f".closure.nt.{dead}.abc123.tmp"
    orphan.write_bytes(b"# eusdp-closure key=torn")
    assert len(answer(cache)) == 5
    assert not orphan.exists()
