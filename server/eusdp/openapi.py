"""The OpenAPI 3.1 description of the HTTP API, generated from the canned queries.

The query files are the one source of truth: each ``queries/*.rq`` becomes one
operation (``operationId`` = the file's name) whose parameters, defaults,
enumerations and answer formats come from its ``#+`` decorators and its query
form. Writing the document by hand would let it drift from the files the
server actually runs; generating it means a new query file is documented the
moment it is added.

Media types come from :mod:`eusdp.formats` (the one media-type table) and
problem documents from :mod:`eusdp.errors`. Nothing here knows about Flask:
:func:`openapi_document` takes a catalog and returns a plain dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from . import __version__
from .catalog import _LANGTAG, CannedQuery, Catalog, Parameter, QueryType
from .errors import PROBLEM_MEDIA_TYPE
from .formats import (
    ALL_FORMATS,
    BOOLEAN_FORMATS,
    GRAPH_FORMATS,
    HTML,
    JSON,
    MAX_ROWS_HEADER,
    RESULTS_FORMATS,
    TRUNCATED_HEADER,
    Format,
)

OPENAPI_VERSION = "3.1.0"
#: The media type of the raw text of a canned query (SPARQL 1.1 Protocol §2.1.3).
SPARQL_QUERY = "application/sparql-query"
FORM = "application/x-www-form-urlencoded"
#: Media type of the query listing and of this document.
JSON_MEDIA_TYPE = "application/json"
#: Parameters every canned query takes besides its own; no query parameter may use these names.
RESERVED_PARAMETERS = ("format", "infer", "timeout")

#: The listing's JSON is plain JSON, not a SPARQL result: a format of its own.
_LISTING_JSON = Format("json", JSON_MEDIA_TYPE, "JSON")
#: What the listing can be written in, JSON first (the default for programs).
LISTING_FORMATS: tuple[Format, ...] = (_LISTING_JSON, HTML)


_FORMATS_BY_TYPE: dict[QueryType, tuple[Format, ...]] = {
    "select": RESULTS_FORMATS,
    "ask": BOOLEAN_FORMATS,
    "construct": GRAPH_FORMATS,
    "describe": GRAPH_FORMATS,
}


def formats_for(query_type: QueryType) -> tuple[Format, ...]:
    """The formats an answer of this query form can be written in, preferred first.

    Known before the query runs, so a request for an impossible format is
    refused without evaluating anything (and the document can list them).
    """
    return _FORMATS_BY_TYPE[query_type]


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


# --- parameters ------------------------------------------------------------------------


def parameter_schema(param: Parameter) -> dict[str, Any]:
    """The JSON Schema of one canned-query parameter, as strict as the server's check."""
    schema: dict[str, Any]
    if param.type == "integer":
        schema = {"type": "integer"}
    elif param.type == "iri":
        schema = {"type": "string", "format": "uri"}
    elif param.type == "date":
        schema = {"type": "string", "format": "date"}
    elif param.type == "language":
        # JSON Schema patterns are not anchored; the server's check is a full match.
        schema = {"type": "string", "pattern": f"^(?:{_LANGTAG.pattern})$"}
    else:
        schema = {"type": "string"}

    def typed(value: str) -> str | int:
        return int(value) if param.type == "integer" else value

    if param.enum:
        schema["enum"] = [typed(v) for v in param.enum]
    if param.default is not None:
        schema["default"] = typed(param.default)
    return schema


def _query_parameter(param: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required and param.default is None,
        "schema": parameter_schema(param),
    }
    description = param.description or f"Bound to ?{param.name} as an RDF term ({param.type})."
    out["description"] = description
    return out


def _format_parameter(offered: Sequence[Format]) -> dict[str, Any]:
    return {
        "name": "format",
        "in": "query",
        "required": False,
        "description": (
            "The answer's format, overriding content negotiation on Accept: "
            + ", ".join(f"{f.name} ({f.media_type})" for f in offered)
            + "."
        ),
        "schema": {"type": "string", "enum": [f.name for f in offered]},
    }


def _format_property(offered: Sequence[Format]) -> dict[str, Any]:
    return {"type": "string", "enum": [f.name for f in offered]}


_INFER = {
    "name": "infer",
    "in": "query",
    "required": False,
    "description": (
        "false: query the asserted triples only, without the OWL 2 RL inferences "
        "(queries that rely on inferred classes then find nothing)."
    ),
    "schema": {"type": "boolean", "default": True},
}

_TIMEOUT = {
    "name": "timeout",
    "in": "query",
    "required": False,
    "description": (
        "Seconds the query may run, at most the server's own deadline; past it the query "
        "is stopped and the answer is a 503 problem document."
    ),
    "schema": {"type": "number", "exclusiveMinimum": 0},
}


# --- responses -------------------------------------------------------------------------


def _content(formats: Iterable[Format]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for fmt in formats:
        if fmt is JSON:
            schema: dict[str, Any] = _ref("schemas", "SparqlResults")
        elif fmt.media_type == "application/ld+json":
            schema = {"type": ["object", "array"]}
        else:
            schema = {"type": "string"}
        content[fmt.media_type] = {"schema": schema}
    return content


def _answer(description: str, formats: Iterable[Format]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            TRUNCATED_HEADER: _ref("headers", "Truncated"),
            MAX_ROWS_HEADER: _ref("headers", "MaxRows"),
        },
        "content": _content(formats),
    }


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(status): _ref("responses", _PROBLEM_RESPONSES[status][0]) for status in statuses}


_PROBLEM_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "A parameter is unknown, missing, or has a value of the wrong type."),
    403: ("Forbidden", "An update, or a federated query (SERVICE): the endpoint is read-only."),
    404: ("NotFound", "No canned query has this name; the problem lists close names."),
    406: ("NotAcceptable", "None of the formats the answer can take is acceptable."),
    413: ("TooLarge", "The query or the request body is larger than the server accepts."),
    415: ("UnsupportedMediaType", "A request body of a type or charset the server does not read."),
}


# --- operations ------------------------------------------------------------------------


def _query_operation(query: CannedQuery, method: str, operation_id: str) -> dict[str, Any]:
    offered = formats_for(query.query_type)
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": query.summary or query.name,
        "description": query.description or query.summary,
        "tags": list(query.tags),
    }
    if method == "get":
        operation["parameters"] = [
            *(_query_parameter(p) for p in query.params),
            _format_parameter(offered),
            _ref("parameters", "infer"),
            _ref("parameters", "timeout"),
        ]
    else:
        properties = {p.name: parameter_schema(p) for p in query.params}
        properties["format"] = _format_property(offered)
        properties["infer"] = {"type": "boolean", "default": True}
        properties["timeout"] = {"type": "number", "exclusiveMinimum": 0}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [p.name for p in query.params if p.required and p.default is None]
        if required:
            schema["required"] = required
        operation["requestBody"] = {"required": False, "content": {FORM: {"schema": schema}}}
    kind = query.query_type.upper()
    operation["responses"] = {
        "200": _answer(f"The answer of the {kind} query.", offered),
        **_problems(400, 404, 406),
    }
    if method == "post":
        operation["responses"].update(_problems(415))
    return operation


def _query_path(query: CannedQuery) -> dict[str, Any]:
    """GET always runs a query; POST too when its ``method`` decorator says POST."""
    if query.method == "POST":
        return {
            "get": _query_operation(query, "get", f"{query.name}-get"),
            "post": _query_operation(query, "post", query.name),
        }
    return {"get": _query_operation(query, "get", query.name)}


def _catalog_paths(catalog: Catalog) -> dict[str, Any]:
    name_schema: dict[str, Any] = {"type": "string"}
    if len(catalog):
        name_schema["enum"] = catalog.names()
    return {
        "/queries": {
            "get": {
                "operationId": "listQueries",
                "summary": "The canned queries",
                "description": (
                    "Every canned query with its parameters and the URLs that run it and "
                    "give its text: JSON for programs, an HTML page with a form per query "
                    "for people (chosen by Accept, or format=)."
                ),
                "tags": ["catalog"],
                "parameters": [_format_parameter(LISTING_FORMATS)],
                "responses": {
                    "200": {
                        "description": "The list of canned queries.",
                        "content": {
                            JSON_MEDIA_TYPE: {"schema": _ref("schemas", "QueryList")},
                            HTML.media_type: {"schema": {"type": "string"}},
                        },
                    },
                    **_problems(400, 406),
                },
            }
        },
        "/queries/{name}.rq": {
            "get": {
                "operationId": "getQueryText",
                "summary": "The text of a canned query",
                "description": (
                    "The query file as it is, decorators included (they are comments), "
                    "so it runs unchanged in YASGUI or grlc."
                ),
                "tags": ["catalog"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": name_schema}
                ],
                "responses": {
                    "200": {
                        "description": "The SPARQL text.",
                        "content": {SPARQL_QUERY: {"schema": {"type": "string"}}},
                    },
                    **_problems(404),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "summary": "This document",
                "tags": ["catalog"],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 description of the API.",
                        "content": {JSON_MEDIA_TYPE: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _graph_uri_parameter(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": f"IRI of a graph to use as {what} (SPARQL 1.1 Protocol); may repeat.",
        "schema": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "style": "form",
        "explode": True,
    }


def _sparql_path() -> dict[str, Any]:
    """/sparql: the SPARQL 1.1 Protocol query operation (read-only)."""
    known = (*ALL_FORMATS, HTML)
    graph_params = [
        _graph_uri_parameter("default-graph-uri", "the default graph"),
        _graph_uri_parameter("named-graph-uri", "a named graph"),
    ]
    answer = _answer(
        "The answer: SPARQL results for SELECT/ASK, RDF for CONSTRUCT/DESCRIBE; without a "
        "query, the service description (or an HTML query form).",
        known,
    )
    responses = {"200": answer, **_problems(400, 403, 406, 413)}
    form_schema = {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "default-graph-uri": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "named-graph-uri": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "format": _format_property(known),
            "infer": {"type": "boolean", "default": True},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
        },
        "required": ["query"],
    }
    return {
        "get": {
            "operationId": "sparqlGet",
            "summary": "Run a SPARQL query (GET)",
            "description": (
                "SPARQL 1.1 Protocol, query via GET. Without a query: the SPARQL service "
                "description, or a query form for browsers. Updates are refused (read-only)."
            ),
            "tags": ["sparql"],
            "parameters": [
                {
                    "name": "query",
                    "in": "query",
                    "required": False,
                    "description": "The SPARQL 1.1 query.",
                    "schema": {"type": "string"},
                },
                *graph_params,
                _format_parameter(known),
                _ref("parameters", "infer"),
                _ref("parameters", "timeout"),
            ],
            "responses": responses,
        },
        "post": {
            "operationId": "sparqlPost",
            "summary": "Run a SPARQL query (POST)",
            "description": (
                "SPARQL 1.1 Protocol, query via POST: URL-encoded form, or the query itself "
                f"as the body ({SPARQL_QUERY}) with the other parameters in the URL."
            ),
            "tags": ["sparql"],
            "parameters": [
                *graph_params,
                _format_parameter(known),
                _ref("parameters", "infer"),
                _ref("parameters", "timeout"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    FORM: {"schema": form_schema},
                    SPARQL_QUERY: {"schema": {"type": "string"}},
                },
            },
            "responses": {**responses, **_problems(415)},
        },
    }


# --- components ------------------------------------------------------------------------


def _components() -> dict[str, Any]:
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": _ref("schemas", "Problem")}}
    return {
        "schemas": {
            "Problem": {
                "type": "object",
                "description": "An RFC 9457 problem document.",
                "properties": {
                    "type": {"type": "string", "format": "uri-reference"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "code": {"type": "string", "description": "Stable machine-readable code."},
                    "parameter": {
                        "type": "string",
                        "description": "The request parameter at fault (bad-parameter).",
                    },
                    "suggestions": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Names of canned queries close to the one asked for.",
                    },
                },
                "required": ["type", "title", "status"],
            },
            "RdfTerm": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["uri", "literal", "bnode", "triple"]},
                    "value": {},
                    "xml:lang": {"type": "string"},
                    "datatype": {"type": "string", "format": "uri"},
                },
                "required": ["type", "value"],
            },
            "SparqlResults": {
                "type": "object",
                "description": "SPARQL 1.1 Query Results JSON Format (SELECT or ASK).",
                "properties": {
                    "head": {
                        "type": "object",
                        "properties": {"vars": {"type": "array", "items": {"type": "string"}}},
                    },
                    "results": {
                        "type": "object",
                        "properties": {
                            "bindings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": _ref("schemas", "RdfTerm"),
                                },
                            }
                        },
                    },
                    "boolean": {"type": "boolean"},
                },
                "required": ["head"],
            },
            "QueryParameter": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "type": {
                        "type": "string",
                        "enum": ["iri", "literal", "language", "date", "integer"],
                    },
                    "description": {"type": "string"},
                    "default": {"type": ["string", "null"]},
                    "enum": {"type": "array", "items": {"type": "string"}},
                    "required": {"type": "boolean"},
                },
                "required": ["name", "type", "required"],
            },
            "QueryList": {
                "type": "object",
                "properties": {
                    "queries": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "summary": {"type": "string"},
                                "description": {"type": "string"},
                                "tags": {"type": "array", "items": {"type": "string"}},
                                "method": {"type": "string", "enum": ["GET", "POST"]},
                                "query_type": {
                                    "type": "string",
                                    "enum": ["select", "ask", "construct", "describe"],
                                },
                                "parameters": {
                                    "type": "array",
                                    "items": _ref("schemas", "QueryParameter"),
                                },
                                "formats": {"type": "array", "items": {"type": "string"}},
                                "url": {"type": "string", "format": "uri"},
                                "text_url": {"type": "string", "format": "uri"},
                            },
                            "required": ["name", "url", "text_url"],
                        },
                    }
                },
                "required": ["queries"],
            },
        },
        "parameters": {"infer": _INFER, "timeout": _TIMEOUT},
        "headers": {
            "Truncated": {
                "description": "true when the answer was cut at the server's row limit.",
                "schema": {"type": "string", "enum": ["true"]},
            },
            "MaxRows": {
                "description": "The row limit that cut the answer (sent with the flag above).",
                "schema": {"type": "integer"},
            },
        },
        "responses": {
            name: {"description": description, "content": problem_content}
            for name, description in _PROBLEM_RESPONSES.values()
        },
    }


def openapi_document(catalog: Catalog, *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API: the canned queries, their catalog, and /sparql.

    ``server_url`` (where the API is served) goes into ``servers``; without it
    clients resolve paths against the document's own URL.
    """
    paths: dict[str, Any] = {}
    for query in catalog:
        paths[f"/queries/{query.name}"] = _query_path(query)
    paths.update(_catalog_paths(catalog))
    paths["/sparql"] = _sparql_path()
    query_tags = sorted({tag for query in catalog for tag in query.tags})
    tags = [
        {"name": "sparql", "description": "The SPARQL 1.1 Protocol endpoint (read-only)."},
        {"name": "catalog", "description": "The list of canned queries and their texts."},
        *({"name": tag} for tag in query_tags if tag not in {"sparql", "catalog"}),
    ]
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "eusdp: EU Security and Defence Partnerships",
            "version": __version__,
            "summary": "Canned SPARQL queries and a SPARQL endpoint over the eusdp graph.",
            "description": (
                "Each canned query is one operation, generated from its query file: its "
                "parameters are bound as RDF terms, never pasted into the text. Answers are "
                "negotiated on Accept, or chosen with format=; errors are RFC 9457 problem "
                "documents."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": tags,
        "paths": paths,
        "components": _components(),
    }
    if server_url is not None:
        document["servers"] = [{"url": server_url}]
    return document
