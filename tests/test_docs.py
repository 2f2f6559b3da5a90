"""The README is part of the product: its tables and commands are checked against the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from eusdp.catalog import Catalog
from eusdp.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", section("Quick start"), re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    serve, test = commands
    assert serve.endswith("eusdp serve")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines(), "the README's test command is not the one .ci/run runs"


def test_every_canned_query_is_in_the_table_with_its_summary(catalog: Catalog) -> None:
    table = section("Canned queries")
    assert len(catalog) >= 11
    for query in catalog:
        row = next((r for r in table.splitlines() if f"[`{query.name}`]" in r), None)
        assert row, f"{query.name} is missing from the README table"
        assert query.summary in row, f"{query.name}: README summary differs from the file"
        assert query.tags, f"{query.name} has no tags"
        for param in query.params:
            assert param.name in row


def test_every_setting_is_documented() -> None:
    table = section("Settings")
    for f in fields(Settings):
        assert f"| `{f.name}` |" in table, f"setting {f.name} is not in the README"
