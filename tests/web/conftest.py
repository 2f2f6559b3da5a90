"""Fixtures of the web tests: one small store per session, a fresh app and client per test,
and (for the protocol suite) the real server started as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web_support import (
    ALPHA,
    BETA,
    KASEI,
    W3C_PROTOCOL,
    WEB_FIXTURES,
    LiveServer,
    live_server_process,
)

from eusdp.config import Settings, load_settings
from eusdp.store import Store, build_store
from eusdp.web import create_app


def mini_settings(cache_dir: Path, **overrides: object) -> Settings:
    """Settings over the mini fixture, with the two extra graphs alpha and beta."""
    values: dict[str, object] = {
        "ontology_dir": WEB_FIXTURES / "ontology",
        "data_dir": WEB_FIXTURES / "data",
        "queries_dir": WEB_FIXTURES / "queries",
        "cache_dir": cache_dir,
        "extra_graphs": (
            (ALPHA, WEB_FIXTURES / "graphs" / "alpha.ttl"),
            (BETA, WEB_FIXTURES / "graphs" / "beta.ttl"),
        ),
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return mini_settings(tmp_path_factory.mktemp("web-cache"))


@pytest.fixture(scope="session")
def mini_store(web_settings: Settings) -> Store:
    return build_store(web_settings)


@pytest.fixture()
def app(web_settings: Settings, mini_store: Store) -> Flask:
    return create_app(web_settings, mini_store)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- the live server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def w3c_dir() -> Path:
    """The W3C protocol folder. Missing means the suite cannot run: a failure, not a skip."""
    if not (W3C_PROTOCOL / "manifest.ttl").is_file():
        pytest.fail(
            f"W3C SPARQL Protocol tests not found at {W3C_PROTOCOL} "
            "(expected manifest.ttl and data1.nt..data3.nt, copied from "
            "../shared/w3c/protocol/)",
            pytrace=False,
        )
    return W3C_PROTOCOL


@pytest.fixture(scope="session")
def live_server(w3c_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``python -m eusdp.serve`` (Granian, one worker, four threads) on a free local port.

    It serves the mini fixture plus the W3C graphs data1..data3 as extra named
    graphs. Settings go in as ``EUSDP_*`` variables, as in production. Stopped
    with SIGTERM (Granian's graceful shutdown), killed if it does not stop.
    """
    tmp = tmp_path_factory.mktemp("live")
    extra = ",".join(f"{KASEI}data{i}.rdf={w3c_dir / f'data{i}.nt'}" for i in (1, 2, 3))
    settings = {
        "EUSDP_ONTOLOGY_DIR": str(WEB_FIXTURES / "ontology"),
        "EUSDP_DATA_DIR": str(WEB_FIXTURES / "data"),
        "EUSDP_QUERIES_DIR": str(WEB_FIXTURES / "queries"),
        "EUSDP_CACHE_DIR": str(tmp / "cache"),
        "EUSDP_WORKERS": "1",
        "EUSDP_THREADS": "4",
        "EUSDP_EXTRA_GRAPHS": extra,
    }
    with live_server_process(settings, tmp) as server:
        yield server
