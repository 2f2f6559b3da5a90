"""/openapi.json: a valid OpenAPI 3.1 document generated from the query files, that says
what the server does (every documented operation answers, with the documented types)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from web_support import QUERY_NAMES

from eusdp.catalog import Catalog, load_catalog
from eusdp.config import Settings
from eusdp.openapi import openapi_document
from eusdp.store import Store
from eusdp.web import create_app

NAMES = set(QUERY_NAMES)
SELECT_TYPES = {
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
}
GRAPH_TYPES = {
    "text/turtle",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
}


@pytest.fixture()
def app(project_settings: Settings, store: Store) -> Flask:
    return create_app(project_settings, store)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def doc(catalog: Catalog) -> dict[str, Any]:
    return openapi_document(catalog)


def params_by_name(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation["parameters"] if "name" in p}


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    json.dumps(doc)  # plain JSON all the way down


def test_served_document(client: FlaskClient, doc: dict[str, Any]) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    served = response.get_json()
    validate(served)
    assert served["servers"] == [{"url": "http://localhost"}]
    assert {k: v for k, v in served.items() if k != "servers"} == doc


def test_one_operation_per_query(doc: dict[str, Any]) -> None:
    ids = {
        path.removeprefix("/queries/"): item["get"]["operationId"]
        for path, item in doc["paths"].items()
        if path.startswith("/queries/") and "{" not in path
    }
    assert ids == {name: name for name in NAMES}


def test_operation_metadata_comes_from_the_file(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/queries/partners-in-nato"]["get"]
    assert op["summary"] == "Partner countries that are also members of NATO"
    assert op["description"].startswith(
        "The countries the EU has a Security and Defence Partnership with that are NATO members"
    )
    assert op["tags"] == ["nato", "alliances"]
    assert set(params_by_name(op)) == {"format"}  # infer is a shared component
    assert {"$ref": "#/components/parameters/infer"} in op["parameters"]
    assert doc["components"]["parameters"]["infer"]["schema"] == {
        "type": "boolean",
        "default": True,
    }
    assert {t["name"] for t in doc["tags"]} >= {"nato", "alliances", "sparql", "catalog"}


def test_typed_parameters(doc: dict[str, Any]) -> None:
    area = params_by_name(doc["paths"]["/queries/partners-by-area"]["get"])["area"]
    assert area["in"] == "query"
    assert area["required"] is False
    assert area["schema"] == {
        "type": "string",
        "format": "uri",
        "default": "https://w3id.org/eusdp/id/area/critical-infrastructure",
    }
    assert area["description"].startswith("A cooperation area of the scheme")
    year = params_by_name(doc["paths"]["/queries/partnerships-in-year"]["get"])["year"]
    assert year["schema"] == {"type": "integer", "default": 2024}
    country = params_by_name(doc["paths"]["/queries/partner-profile"]["get"])["country"]
    assert country["schema"]["default"] == "https://w3id.org/eusdp/id/country/japan"


def test_format_parameter_and_responses_follow_the_query_form(doc: dict[str, Any]) -> None:
    select = doc["paths"]["/queries/partners-in-nato"]["get"]
    assert params_by_name(select)["format"]["schema"] == {
        "type": "string",
        "enum": ["json", "xml", "csv", "tsv"],
    }
    assert set(select["responses"]["200"]["content"]) == SELECT_TYPES
    construct = doc["paths"]["/queries/partner-profile"]["get"]
    assert params_by_name(construct)["format"]["schema"]["enum"] == [
        "ttl",
        "jsonld",
        "nt",
        "rdf",
        "trig",
        "nq",
    ]
    assert set(construct["responses"]["200"]["content"]) == GRAPH_TYPES
    headers = select["responses"]["200"]["headers"]
    assert set(headers) == {"X-Eusdp-Truncated", "X-Eusdp-Max-Rows"}


@pytest.mark.parametrize("status", ["400", "404", "406"])
def test_problem_responses(doc: dict[str, Any], status: str) -> None:
    ref = doc["paths"]["/queries/partners-by-area"]["get"]["responses"][status]["$ref"]
    response = doc["components"]["responses"][ref.rsplit("/", 1)[1]]
    assert set(response["content"]) == {"application/problem+json"}


def test_sparql_endpoint_is_described(doc: dict[str, Any]) -> None:
    sparql = doc["paths"]["/sparql"]
    assert set(sparql) == {"get", "post"}
    assert set(params_by_name(sparql["get"])) == {
        "query",
        "default-graph-uri",
        "named-graph-uri",
        "format",
    }
    body = sparql["post"]["requestBody"]["content"]
    assert set(body) == {"application/x-www-form-urlencoded", "application/sparql-query"}
    content = set(sparql["get"]["responses"]["200"]["content"])
    assert content == SELECT_TYPES | GRAPH_TYPES | {"text/html"}
    assert {"400", "403", "406", "413"} <= set(sparql["get"]["responses"])
    assert "415" in sparql["post"]["responses"]


def test_catalog_routes_are_described(doc: dict[str, Any]) -> None:
    listing = doc["paths"]["/queries"]["get"]
    assert set(listing["responses"]["200"]["content"]) == {"application/json", "text/html"}
    text = doc["paths"]["/queries/{name}.rq"]["get"]
    assert set(params_by_name(text)["name"]["schema"]["enum"]) == NAMES
    assert set(text["responses"]["200"]["content"]) == {"application/sparql-query"}


def test_defaults_fit_their_schemas(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        for operation in item.values():
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if "default" in schema:
                    assert Draft202012Validator(schema).is_valid(schema["default"]), path


def test_the_listing_matches_its_schema(client: FlaskClient, doc: dict[str, Any]) -> None:
    schema = {**doc["components"]["schemas"]["QueryList"], "$defs": {}}
    resolved = json.loads(
        json.dumps(schema).replace("#/components/schemas/QueryParameter", "#/$defs/QueryParameter")
    )
    resolved["$defs"]["QueryParameter"] = doc["components"]["schemas"]["QueryParameter"]
    Draft202012Validator(resolved).validate(client.get("/queries").get_json())


def test_every_documented_get_answers(client: FlaskClient, doc: dict[str, Any]) -> None:
    """Documentation is tested: each GET path, with its defaults, exists and answers."""
    for path, item in doc["paths"].items():
        url = path.replace("{name}", "partners-in-nato")
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        documented = item["get"]["responses"]["200"]["content"]
        assert response.mimetype in documented, url


# --- parameter types the real queries do not use ----------------------------------------

TINY = """#+ summary: Events of a kind, in a language, since a date
#+ tags: [test]
#+ method: POST
#+ params:
#+   - name: lang
#+     type: language
#+     default: en
#+   - name: since
#+     type: date
#+     description: The first day
#+   - name: kind
#+     type: literal
#+     enum: [signing, adoption]
#+   - name: limit
#+     type: integer
#+     enum: ["1", "2"]
#+     default: "2"
SELECT ?lang ?since ?kind ?limit WHERE { }
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "events.rq").write_text(TINY, encoding="utf-8")
    (tmp_path / "yes.rq").write_text("#+ summary: Always\nASK { }\n", encoding="utf-8")
    return openapi_document(load_catalog(tmp_path), server_url="https://example.org/api")


def test_tiny_document_is_valid(tiny: dict[str, Any]) -> None:
    validate(tiny)
    assert tiny["servers"] == [{"url": "https://example.org/api"}]


def test_post_query_has_both_operations(tiny: dict[str, Any]) -> None:
    item = tiny["paths"]["/queries/events"]
    assert item["post"]["operationId"] == "events"
    assert item["get"]["operationId"] == "events-get"
    body = item["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert body["schema"]["required"] == ["since", "kind"]
    assert set(body["schema"]["properties"]) == {
        "lang",
        "since",
        "kind",
        "limit",
        "format",
        "infer",
        "timeout",
    }


def test_language_date_enum_schemas(tiny: dict[str, Any]) -> None:
    params = params_by_name(tiny["paths"]["/queries/events"]["get"])
    assert params["since"]["schema"] == {"type": "string", "format": "date"}
    assert params["since"]["required"] is True
    assert params["since"]["description"] == "The first day"
    assert params["kind"]["schema"] == {"type": "string", "enum": ["signing", "adoption"]}
    assert params["limit"]["schema"] == {"type": "integer", "enum": [1, 2], "default": 2}
    assert params["limit"]["required"] is False
    lang = params["lang"]["schema"]
    assert lang["type"] == "string" and lang["default"] == "en"
    pattern = re.compile(lang["pattern"])
    for good in ["en", "fr-BE", "zh-Hant", "sr-Latn-RS", "x-private"]:
        assert pattern.search(good), good
    for bad in ["", "english!", "en_GB", "en GB", "f", "en-"]:
        assert not pattern.search(bad), bad


def test_ask_answers_are_results(tiny: dict[str, Any]) -> None:
    op = tiny["paths"]["/queries/yes"]["get"]
    assert set(op["responses"]["200"]["content"]) == SELECT_TYPES
    assert "parameters" in op and set(params_by_name(op)) == {"format"}


def test_served_document_follows_the_app_catalog(
    tmp_path: Path, project_settings: Settings, store: Store
) -> None:
    (tmp_path / "yes.rq").write_text("#+ summary: Always\nASK { }\n", encoding="utf-8")
    client = create_app(replace(project_settings, queries_dir=tmp_path), store).test_client()
    served = client.get("/openapi.json").get_json()
    assert sorted(p for p in served["paths"] if p.startswith("/queries/") and "{" not in p) == [
        "/queries/yes"
    ]
