"""Shared fixtures: settings from explicit paths, one store per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eusdp.config import Settings, load_settings
from eusdp.store import Store, build_store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def project_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real ontology and data, with a cache folder of the session's own."""
    return load_settings(
        ontology_dir=ROOT / "ontology",
        data_dir=ROOT / "data",
        queries_dir=ROOT / "queries",
        cache_dir=tmp_path_factory.mktemp("cache"),
    )


@pytest.fixture(scope="session")
def store(project_settings: Settings) -> Iterator[Store]:
    yield build_store(project_settings)
