"""A rebuilt graph is swapped in whole while the previous one keeps answering; a broken
change is never served."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from flask.testing import FlaskClient
from tests.conftest import ROOT

from eusdp.building import built_file
from eusdp.config import load_settings
from eusdp.live import LiveGraph
from eusdp.store import build_store
from eusdp.web import create_app, state

ASK_ICELAND = (
    "ASK { <https://w3id.org/eusdp/id/country/iceland> "
    "<https://w3id.org/eusdp/ontology#alliedWith> <https://w3id.org/eusdp/id/country/norway> }"
)


def ask(client: FlaskClient) -> bool:
    response = client.get("/sparql", query_string={"query": ASK_ICELAND, "format": "json"})
    assert response.status_code == 200
    return bool(response.get_json()["boolean"])


def wait_for(condition: object, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_changed_files_are_rebuilt_and_swapped_in_whole(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    settings = load_settings(
        ontology_dir=ROOT / "ontology", data_dir=data, queries_dir=ROOT / "queries",
        cache_dir=tmp_path / "cache", reload_interval=0.2, isolate_queries=False,
    )  # fmt: skip
    app = create_app(settings)
    client = app.test_client()
    assert ask(client) is False
    with app.app_context():
        live = state().live
    first = live.served

    # A broken change: not served; the previous graph keeps answering.
    countries = data / "countries.ttl"
    original = countries.read_text(encoding="utf-8")
    countries.write_text(original + "\ncountry:iceland eusdp:alliedWith \n", encoding="utf-8")
    assert wait_for(lambda: live.last_error is not None)
    assert "countries.ttl" in (live.last_error or "")
    assert live.served is first and ask(client) is False

    # A good change: rebuilt beside, then swapped in as one new pair.
    countries.write_text(
        original + "\ncountry:iceland eusdp:alliedWith country:norway .\n", encoding="utf-8"
    )
    assert wait_for(lambda: live.swaps == 1)
    assert live.served is not first
    assert live.served.store.version != first.store.version
    assert ask(client) is True
    # Built as a start builds (in a child, kept for the other processes and the next start).
    kept = built_file(settings)
    assert kept is not None and kept.exists()


def test_a_rebuild_that_breaks_a_shape_is_not_swapped_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    settings = load_settings(
        ontology_dir=ROOT / "ontology", data_dir=data, cache_dir=tmp_path / "cache",
        isolate_queries=False,
    )  # fmt: skip
    live = LiveGraph(settings, build_store(settings))
    before = live.served
    with (data / "partnerships.ttl").open("a", encoding="utf-8") as fh:
        fh.write('\npartnership:eu-norway eusdp:signingDate "later" .\n')
    assert live.rebuild() is False
    assert live.served is before
    assert "signingDate" in (live.last_error or "")
