"""Parameters are bound as RDF terms: no value can change what a query means."""

from __future__ import annotations

import pytest

from eusdp.catalog import BadParameter, Catalog
from eusdp.store import Store

from .conftest import Run

JAPAN = "EU-Japan Security and Defence Partnership"
HOSTILE = [
    'x" || true || "',
    '"} ?s ?p ?o . {"',
    'x" . } # ',
    "> . ?s ?p ?o",
    f'{JAPAN}" || "1" = "1',
    f"{JAPAN}\"@en . }} UNION {{ ?partnership ?p ?label }} #",
    "?label",
    "\\u0022) || (true",
]


def _rows(store: Store, catalog: Catalog, label: str) -> list[tuple[str, ...]]:
    query = catalog.get("partnerships-by-label")
    result = store.query(query.text, bindings=query.bind({"label": label}))
    return [tuple(str(solution[v]) for v in ("partnership",)) for solution in result]


def test_a_real_label_matches(cli_store: Store, catalog: Catalog) -> None:
    assert _rows(cli_store, catalog, JAPAN) == [("<https://w3id.org/eusdp/id/partnership/japan>",)]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_is_only_text(cli_store: Store, catalog: Catalog, value: str) -> None:
    harmless = _rows(cli_store, catalog, "no partnership has this label")
    assert harmless == []
    assert _rows(cli_store, catalog, value) == harmless


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_through_the_command_line(run: Run, value: str) -> None:
    result = run("query", "partnerships-by-label", "-p", f"label={value}", "--format", "csv")
    harmless = run("query", "partnerships-by-label", "-p", "label=nothing", "--format", "csv")
    assert (result.status, harmless.status) == (0, 0)
    assert result.out == harmless.out == "partnership,label,lang\r\n"


@pytest.mark.parametrize(
    ("query", "name"),
    [("is-partner", "country"), ("signed-since", "date"), ("signed-since", "meetings")],
)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_is_refused_by_typed_parameters(
    catalog: Catalog, query: str, name: str, value: str
) -> None:
    with pytest.raises(BadParameter, match=name):
        catalog.get(query).bind({name: value})
