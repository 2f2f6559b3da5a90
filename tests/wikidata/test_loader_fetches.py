"""Data files cannot make the program fetch anything: a JSON-LD ``@context`` given as a URL
and XML external entities are refused before parsing, and a local listener records that
no connection was made."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from eusdp.loader import DataError, parse_file
from tests.wikidata.standins import Listener


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "context",
    [
        "{url}",
        ["{url}", {"ex": "https://example.org/"}],
        {"@import": "{url}", "ex": "https://example.org/"},
    ],
)
def test_a_remote_jsonld_context_is_refused(
    tmp_path: Path, listener: Listener, context: object
) -> None:
    raw = json.dumps({"@context": context, "@id": "https://example.org/a", "ex:b": "c"})
    path = write(tmp_path, "remote.jsonld", raw.replace("{url}", listener.url))
    with pytest.raises(DataError, match="would be fetched"):
        parse_file(path)
    assert listener.connections == []


def test_a_nested_remote_context_is_refused(tmp_path: Path, listener: Listener) -> None:
    raw = {
        "@context": {"ex": "https://example.org/"},
        "@id": "ex:a",
        "ex:b": {"@context": listener.url, "@id": "ex:c"},
    }
    with pytest.raises(DataError, match="would be fetched"):
        parse_file(write(tmp_path, "nested.jsonld", json.dumps(raw)))
    assert listener.connections == []


def test_an_inline_context_is_fine(tmp_path: Path) -> None:
    raw = {"@context": {"ex": "https://example.org/"}, "@id": "ex:a", "ex:b": "c"}
    with warnings.catch_warnings():  # rdflib's JSON-LD parser warns about its own ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        assert len(parse_file(write(tmp_path, "inline.jsonld", json.dumps(raw)))) == 1


def test_an_xml_external_entity_is_refused(tmp_path: Path, listener: Listener) -> None:
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY ext SYSTEM "{listener.url}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:ex="https://example.org/">
  <rdf:Description rdf:about="https://example.org/a"><ex:b>&ext;</ex:b></rdf:Description>
</rdf:RDF>
"""
    with pytest.raises(DataError, match="XML entity") as caught:
        parse_file(write(tmp_path, "xxe.rdf", xml))
    assert caught.value.line == 2
    assert listener.connections == []


def test_an_external_dtd_is_refused(tmp_path: Path, listener: Listener) -> None:
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF SYSTEM "{listener.url}">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
"""
    with pytest.raises(DataError, match="external DTD"):
        parse_file(write(tmp_path, "dtd.rdf", xml))
    assert listener.connections == []
