"""``/data`` (dumps and the Graph Store Protocol's read side), ``/graphs``, ``/context.jsonld``
and the VoID description: every format parses back whole, the selections hold what they say,
writes are refused with 405, and caches can revalidate."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, VOID, XSD
from web_support import ALPHA, BETA

from conftest import mini_settings
from eusdp import graphstore
from eusdp.config import Settings
from eusdp.formats import GRAPH_FORMATS, Format
from eusdp.store import Store, build_store
from eusdp.terms import to_rdflib
from eusdp.web import create_app

EUSDP = Namespace("https://w3id.org/eusdp/ontology#")
ID = Namespace("https://w3id.org/eusdp/id/")
GRAPH = "https://w3id.org/eusdp/graph/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

#: Asserted in data/partnerships.ttl.
SIGNED = (ID["partnership/eu-moldova"], EUSDP.signingDate, Literal("2024-05-21", datatype=XSD.date))
#: Inferred only: Norway is a partner and a NATO member, the ontology makes it this.
NATO_PARTNER = (ID["country/norway"], RDF.type, EUSDP.NATOMemberPartner)
#: The one triple of the fixture's extra graph alpha.
ALPHA_TRIPLE = (
    URIRef("https://example.org/alpha"),
    URIRef("https://example.org/says"),
    Literal("alpha"),
)

#: Our short names -> rdflib's parser names.
PARSERS = {
    "ttl": "turtle",
    "jsonld": "json-ld",
    "nt": "nt",
    "rdf": "xml",
    "trig": "trig",
    "nq": "nquads",
}
TRIPLE_FORMATS = [f for f in GRAPH_FORMATS if f.name in {"ttl", "jsonld", "nt", "rdf"}]
QUAD_FORMATS = [f for f in GRAPH_FORMATS if f.name in {"trig", "nq"}]
WRITES = ["PUT", "POST", "DELETE", "PATCH"]

# rdflib's JSON-LD parser uses ConjunctiveGraph inside, and says so.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture()
def project_app(project_settings: Settings, store: Store) -> Flask:
    return create_app(project_settings, store)


@pytest.fixture()
def web(project_app: Flask) -> FlaskClient:
    """A client over the real project graph."""
    return project_app.test_client()


def as_graph(data: bytes, fmt: Format) -> Graph:
    return Graph().parse(data=data, format=PARSERS[fmt.name])


def as_graphs(data: bytes, fmt: Format) -> dict[str | None, Graph]:
    """A quad document as graph name (``None``: the default graph) -> triples.

    Read with Oxigraph: rdflib's Dataset parser warns about its own deprecations.
    """
    graphs: dict[str | None, Graph] = {}
    for quad in ox.parse(data, format=fmt.rdf):
        name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
        triple = (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        graphs.setdefault(name, Graph()).add(triple)
    return graphs


def named_graphs(graphs: dict[str | None, Graph]) -> dict[str | None, int]:
    """Graph name -> number of triples, for the named graphs."""
    return {name: len(g) for name, g in graphs.items() if name is not None}


def project_graph_sizes(store: Store, *, inferred: bool = True) -> dict[str, int]:
    return {
        g.iri: g.triples
        for g in store.graphs()
        if g.role != "extra" and (inferred or g.role != "inferred")
    }


# --- /data: the whole dataset, every format ---------------------------------------------


@pytest.mark.parametrize("fmt", TRIPLE_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("how", ["accept", "format"])
def test_triple_formats_hold_the_whole_graph(
    web: FlaskClient, store: Store, fmt: Format, how: str
) -> None:
    if how == "accept":
        response = web.get("/data", headers={"Accept": fmt.media_type})
    else:
        response = web.get(f"/data?format={fmt.name}")
    assert response.status_code == 200
    assert response.mimetype == fmt.media_type
    graph = as_graph(response.data, fmt)
    assert len(graph) == len(store.union())
    assert SIGNED in graph
    assert NATO_PARTNER in graph


@pytest.mark.parametrize("fmt", QUAD_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("how", ["accept", "format"])
def test_quad_formats_keep_the_named_graphs(
    web: FlaskClient, store: Store, fmt: Format, how: str
) -> None:
    if how == "accept":
        response = web.get("/data", headers={"Accept": fmt.media_type})
    else:
        response = web.get(f"/data?format={fmt.name}")
    assert response.status_code == 200
    assert response.mimetype == fmt.media_type
    graphs = as_graphs(response.data, fmt)
    assert None not in graphs  # every triple in a named graph
    assert named_graphs(graphs) == project_graph_sizes(store)
    assert SIGNED in graphs[GRAPH + "data/partnerships"]
    assert NATO_PARTNER in graphs[GRAPH + "inferred"]


@pytest.mark.parametrize("accept", [None, "", "*/*", BROWSER, "text/*", "application/x-turtle"])
def test_turtle_is_the_default(web: FlaskClient, accept: str | None) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = web.get("/data", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/n-triples;q=0.5, application/rdf+xml", "application/rdf+xml"),
        ("application/json", "application/ld+json"),
        ("text/plain", "application/n-triples"),
        ("application/trig, application/n-quads;q=0.9", "application/trig"),
    ],
)
def test_accept_is_negotiated(web: FlaskClient, accept: str, expected: str) -> None:
    assert web.get("/data", headers={"Accept": accept}).mimetype == expected


def test_format_parameter_overrides_accept(web: FlaskClient) -> None:
    response = web.get("/data?format=nt", headers={"Accept": "text/turtle"})
    assert response.mimetype == "application/n-triples"
    response = web.get("/data?format=application/ld%2Bjson")
    assert response.mimetype == "application/ld+json"


@pytest.mark.parametrize(
    "headers", [{"Accept": "application/sparql-results+json"}, {"Accept": "text/csv"}]
)
def test_nothing_acceptable_is_406_listing_the_offer(
    web: FlaskClient, headers: dict[str, str]
) -> None:
    response = web.get("/data", headers=headers)
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "not-acceptable"
    assert problem["offered"] == [f.media_type for f in GRAPH_FORMATS]


def test_format_of_a_table_is_406_and_an_unknown_one_400(web: FlaskClient) -> None:
    assert web.get("/data?format=csv").status_code == 406
    response = web.get("/data?format=bogus")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad-parameter"


# --- /data: asserted, inferred -----------------------------------------------------------


@pytest.mark.parametrize("query", ["infer=false", "what=asserted", "infer=0&what=asserted"])
def test_asserted_only_has_no_inferred_triple(web: FlaskClient, store: Store, query: str) -> None:
    response = web.get(f"/data?{query}&format=nt")
    assert response.status_code == 200
    graph = as_graph(response.data, GRAPH_FORMATS[2])
    assert len(graph) == len(store.union(infer=False))
    assert SIGNED in graph
    assert NATO_PARTNER not in graph


def test_asserted_only_in_trig_has_no_inferred_graph(web: FlaskClient, store: Store) -> None:
    trig = QUAD_FORMATS[0]
    graphs = as_graphs(web.get("/data?infer=false&format=trig").data, trig)
    assert named_graphs(graphs) == project_graph_sizes(store, inferred=False)


def test_what_inferred_is_the_inferred_graph_alone(web: FlaskClient, store: Store) -> None:
    graph = as_graph(web.get("/data?what=inferred").data, GRAPH_FORMATS[0])
    assert len(graph) == len(store.inferred)
    assert NATO_PARTNER in graph
    assert SIGNED not in graph


@pytest.mark.parametrize(
    "query",
    [
        "what=everything",
        "what=inferred&infer=false",
        "what=asserted&infer=true",
        "infer=maybe",
        "infer=false&infer=true",
        "download=perhaps",
    ],
)
def test_bad_selections_are_400(web: FlaskClient, query: str) -> None:
    response = web.get(f"/data?{query}")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad-parameter"


# --- /data: headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "filename"),
    [
        ("", "eusdp.ttl"),
        ("format=nt", "eusdp.nt"),
        ("format=jsonld", "eusdp.jsonld"),
        ("format=rdf", "eusdp.rdf"),
        ("format=trig", "eusdp.trig"),
        ("format=nq", "eusdp.nq"),
        ("infer=false", "eusdp-asserted.ttl"),
        ("what=inferred&format=nq", "eusdp-inferred.nq"),
        ("default", "eusdp-default.ttl"),
        ("default&infer=false&format=nt", "eusdp-default-asserted.nt"),
        (f"graph={GRAPH}data/partnerships", "eusdp-data-partnerships.ttl"),
        (f"graph={GRAPH}inferred&format=trig", "eusdp-inferred.trig"),
    ],
)
def test_dumps_are_attachments_with_a_file_name(
    web: FlaskClient, query: str, filename: str
) -> None:
    response = web.get(f"/data?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_download_false_shows_inline(web: FlaskClient) -> None:
    response = web.get("/data?download=false")
    assert response.headers["Content-Disposition"] == 'inline; filename="eusdp.ttl"'


def test_data_links_to_its_description(web: FlaskClient) -> None:
    link = web.get("/data").headers["Link"]
    assert link == '</.well-known/void>; rel="describedby"'


def test_etag_and_304(web: FlaskClient) -> None:
    first = web.get("/data")
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"')
    assert "max-age" in first.headers["Cache-Control"]
    again = web.get("/data", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag
    assert web.get("/data", headers={"If-None-Match": f"W/{tag}"}).status_code == 304
    assert web.get("/data", headers={"If-None-Match": f'"other", {tag}'}).status_code == 304
    assert web.get("/data", headers={"If-None-Match": "*"}).status_code == 304
    assert web.get("/data", headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_names_the_representation(web: FlaskClient) -> None:
    tags = {
        web.get(f"/data?{query}").headers["ETag"]
        for query in ("", "format=nt", "infer=false", "what=inferred", "default", "format=trig")
    }
    assert len(tags) == 6
    assert web.get("/data").headers["ETag"] == web.get("/data").headers["ETag"]
    # the tag of one format does not validate another
    ttl = web.get("/data").headers["ETag"]
    assert web.get("/data?format=nt", headers={"If-None-Match": ttl}).status_code == 200


def test_head_is_get_without_the_body(web: FlaskClient) -> None:
    get, head = web.get("/data"), web.head("/data")
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Content-Disposition"):
        assert head.headers[name] == get.headers[name]
    tag = get.headers["ETag"]
    assert web.head("/data", headers={"If-None-Match": tag}).status_code == 304


# --- the Graph Store Protocol, read side (on the mini store, with extra graphs) ---------


def test_default_graph_is_the_union_without_the_extra_graphs(
    client: FlaskClient, mini_store: Store
) -> None:
    response = client.get("/data?default&format=nt")
    assert response.status_code == 200
    graph = as_graph(response.data, GRAPH_FORMATS[2])
    assert len(graph) == len(mini_store.union())
    assert ALPHA_TRIPLE not in graph
    # the fixture's inference: each partnership is also an agreement
    assert (ID["norway-partnership"], RDF.type, EUSDP.Agreement) in graph


def test_default_graph_asserted_only(client: FlaskClient, mini_store: Store) -> None:
    graph = as_graph(client.get("/data?default&infer=false&format=nt").data, GRAPH_FORMATS[2])
    assert len(graph) == len(mini_store.union(infer=False))
    assert (ID["norway-partnership"], RDF.type, EUSDP.Partnership) in graph
    assert (ID["norway-partnership"], RDF.type, EUSDP.Agreement) not in graph


def test_default_graph_in_trig_is_unnamed(client: FlaskClient, mini_store: Store) -> None:
    graphs = as_graphs(client.get("/data?default&format=trig").data, QUAD_FORMATS[0])
    assert named_graphs(graphs) == {}
    assert len(graphs[None]) == len(mini_store.union())


def test_default_graph_on_the_real_store(web: FlaskClient, store: Store) -> None:
    graph = as_graph(web.get("/data?default").data, GRAPH_FORMATS[0])
    assert len(graph) == len(store.union())
    assert SIGNED in graph and NATO_PARTNER in graph
    graph = as_graph(web.get("/data?default&infer=false").data, GRAPH_FORMATS[0])
    assert SIGNED in graph and NATO_PARTNER not in graph


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_an_extra_graph_by_name(client: FlaskClient, fmt: Format) -> None:
    response = client.get("/data", query_string={"graph": ALPHA, "format": fmt.name})
    assert response.status_code == 200
    if fmt in QUAD_FORMATS:
        assert named_graphs(as_graphs(response.data, fmt)) == {ALPHA: 1}
    else:
        assert set(as_graph(response.data, fmt)) == {ALPHA_TRIPLE}


def test_the_inferred_graph_by_name(client: FlaskClient, mini_store: Store) -> None:
    iri = str(mini_store.inferred_iri)
    graph = as_graph(client.get("/data", query_string={"graph": iri}).data, GRAPH_FORMATS[0])
    assert len(graph) == len(mini_store.inferred)


def test_a_project_graph_by_name(web: FlaskClient, store: Store) -> None:
    iri = GRAPH + "data/partnerships"
    response = web.get("/data", query_string={"graph": iri})
    graph = as_graph(response.data, GRAPH_FORMATS[0])
    assert SIGNED in graph
    assert NATO_PARTNER not in graph  # inferred, so in the inferred graph only
    assert len(graph) == project_graph_sizes(store)[iri]


def test_every_listed_graph_is_served(client: FlaskClient) -> None:
    for entry in client.get("/graphs").get_json():
        response = client.get(entry["data"], headers={"Accept": "application/n-triples"})
        assert response.status_code == 200, entry["iri"]
        assert len(as_graph(response.data, GRAPH_FORMATS[2])) == entry["triples"], entry["iri"]


def test_unknown_graph_is_404(client: FlaskClient) -> None:
    response = client.get("/data", query_string={"graph": "https://example.org/graph/gamma"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "unknown-graph"
    assert problem["graph"] == "https://example.org/graph/gamma"


@pytest.mark.parametrize(
    "query",
    [
        {"default": "", "graph": ALPHA},
        {"graph": "alpha"},
        {"graph": "/graph/alpha"},
        {"graph": ""},
        {"graph": "https://example.org/a graph"},
        {"graph": [ALPHA, BETA]},
        {"graph": ALPHA, "infer": "false"},
        {"graph": ALPHA, "what": "all"},
        {"default": "", "what": "inferred"},
    ],
)
def test_bad_graph_store_requests_are_400(client: FlaskClient, query: dict[str, object]) -> None:
    response = client.get("/data", query_string=query)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad-parameter"


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("query", ["", "?default", f"?graph={ALPHA}"])
def test_writes_are_405_read_only(client: FlaskClient, method: str, query: str) -> None:
    response = client.open(
        f"/data{query}", method=method, data="<a:b> <a:c> <a:d> .", content_type="text/turtle"
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "read-only-graph-store"
    assert "read-only" in problem["detail"]


def test_writes_change_nothing(client: FlaskClient, mini_store: Store) -> None:
    before = client.get(f"/data?graph={ALPHA}&format=nt").data
    client.put(f"/data?graph={ALPHA}", data="<a:b> <a:c> <a:d> .", content_type="text/turtle")
    client.delete(f"/data?graph={ALPHA}")
    assert client.get(f"/data?graph={ALPHA}&format=nt").data == before
    assert mini_store.counts()["extra"] == 2


def test_options_lists_the_read_methods(client: FlaskClient) -> None:
    response = client.options("/data")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- /graphs -----------------------------------------------------------------------------


def test_graphs_lists_every_graph_without_local_paths(
    client: FlaskClient, mini_store: Store
) -> None:
    response = client.get("/graphs")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    listing = response.get_json()
    assert [g["iri"] for g in listing] == [g.iri for g in mini_store.graphs()]
    by_iri = {g["iri"]: g for g in listing}
    assert by_iri[ALPHA] == {
        "iri": ALPHA,
        "role": "extra",
        "triples": 1,
        "source": "alpha.ttl",
        "data": f"/data?graph={ALPHA}",
    }
    assert by_iri[str(mini_store.inferred_iri)]["role"] == "inferred"
    assert by_iri[str(mini_store.inferred_iri)]["source"] is None
    assert {g["role"] for g in listing} == {"ontology", "data", "inferred", "extra"}
    for entry in listing:
        assert entry["source"] is None or "/" not in entry["source"]
        assert "\\" not in json.dumps(entry)
    assert "/work/" not in response.get_data(as_text=True)


def test_graphs_on_the_real_store(web: FlaskClient) -> None:
    by_iri = {g["iri"]: g for g in web.get("/graphs").get_json()}
    assert by_iri[GRAPH + "data/partnerships"]["source"] == "partnerships.ttl"
    assert by_iri[GRAPH + "ontology/eusdp"]["source"] == "eusdp.ttl"
    assert by_iri[GRAPH + "ontology/eusdp"]["role"] == "ontology"


def test_graphs_revalidates(client: FlaskClient) -> None:
    tag = client.get("/graphs").headers["ETag"]
    assert client.get("/graphs", headers={"If-None-Match": tag}).status_code == 304


# --- /context.jsonld ---------------------------------------------------------------------


def test_context_is_the_published_json_ld_context(client: FlaskClient) -> None:
    response = client.get("/context.jsonld", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.data)
    assert document["@context"]["eusdp"] == "https://w3id.org/eusdp/ontology#"
    assert document["@context"]["id"] == "https://w3id.org/eusdp/id/"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    tag = response.headers["ETag"]
    assert client.get("/context.jsonld", headers={"If-None-Match": tag}).status_code == 304


def test_context_compacts_the_json_ld_dump(web: FlaskClient) -> None:
    """The dump's context uses the published prefixes, so the two documents agree."""
    published = json.loads(web.get("/context.jsonld").data)["@context"]
    dump = json.loads(web.get("/data?format=jsonld").data)
    for prefix, namespace in dump["@context"].items():
        if isinstance(namespace, str) and prefix in published:
            assert published[prefix] == namespace


# --- the VoID description ----------------------------------------------------------------


def void_graph(web: FlaskClient, path: str = "/.well-known/void", **kwargs: object) -> Graph:
    response = web.get(path, **kwargs)
    assert response.status_code == 200
    return as_graph(response.data, GRAPH_FORMATS[0])


def the_dataset(graph: Graph) -> URIRef:
    datasets = [s for s in graph.subjects(VOID.sparqlEndpoint, None) if isinstance(s, URIRef)]
    ours = [d for d in datasets if str(d).startswith("https://w3id.org/eusdp/")]
    assert len(ours) == 1
    return ours[0]


def test_void_describes_the_dataset(web: FlaskClient) -> None:
    graph = void_graph(web)
    dataset = the_dataset(graph)
    assert (dataset, RDF.type, VOID.Dataset) in graph
    endpoint = graph.value(dataset, VOID.sparqlEndpoint)
    assert str(endpoint) == "http://localhost/sparql"
    assert graph.value(dataset, DCTERMS.license) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/"
    )


def test_void_wikidata_linkset(web: FlaskClient) -> None:
    graph = void_graph(web)
    linksets = list(graph.subjects(RDF.type, VOID.Linkset))
    assert len(linksets) == 1
    linkset = linksets[0]
    assert (linkset, VOID.linkPredicate, EUSDP.wikidata) in graph
    # 13 countries, 9 organisations, the Western Union and Kaja Kallas: counted by hand
    assert graph.value(linkset, VOID.triples) == Literal(24, datatype=XSD.integer)


def test_void_uses_the_request_host(web: FlaskClient) -> None:
    graph = void_graph(web, base_url="https://eusdp.example.org")
    dataset = the_dataset(graph)
    assert str(graph.value(dataset, VOID.sparqlEndpoint)) == "https://eusdp.example.org/sparql"
    dumps = {str(d) for d in graph.objects(dataset, VOID.dataDump)}
    assert "https://eusdp.example.org/data?format=ttl" in dumps


def test_void_alias_serves_the_same_document(web: FlaskClient) -> None:
    assert web.get("/void").data == web.get("/.well-known/void").data


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_void_is_negotiated(web: FlaskClient, fmt: Format) -> None:
    response = web.get("/.well-known/void", headers={"Accept": fmt.media_type})
    assert response.status_code == 200
    assert response.mimetype == fmt.media_type
    if fmt in QUAD_FORMATS:
        graph = as_graphs(response.data, fmt)[None]
    else:
        graph = as_graph(response.data, fmt)
    assert (the_dataset(graph), RDF.type, VOID.Dataset) in graph
    assert "Accept" in response.headers["Vary"]


def test_void_406_and_etag(web: FlaskClient) -> None:
    assert web.get("/void", headers={"Accept": "text/csv"}).status_code == 406
    tag = web.get("/void").headers["ETag"]
    assert web.get("/void", headers={"If-None-Match": tag}).status_code == 304


def test_void_data_dumps_resolve(web: FlaskClient) -> None:
    graph = void_graph(web)
    dumps = sorted(str(d) for d in graph.objects(the_dataset(graph), VOID.dataDump))
    assert len(dumps) == len(GRAPH_FORMATS)
    for dump in dumps:
        response = web.get(dump.removeprefix("http://localhost"))
        assert response.status_code == 200, dump
        assert response.headers["Content-Disposition"].startswith("attachment")


# --- large dumps: kept in a file of the cache folder, streamed ---------------------------


@pytest.fixture()
def small_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every dump counts as large: kept in a file, not in memory."""
    monkeypatch.setattr(graphstore, "MEMORY_ITEM_BYTES", 100)


def _dump_app(tmp_path: Path, cache: str) -> Flask:
    settings = mini_settings(tmp_path / cache)
    return create_app(settings, build_store(settings))


@pytest.mark.usefixtures("small_memory")
def test_a_large_dump_is_written_once_to_a_file_and_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = mini_settings(None)
    client = create_app(settings, build_store(settings)).test_client()
    expected = client.get("/data?format=nt", buffered=True)
    writes: list[object] = []
    real = graphstore._render
    monkeypatch.setattr(
        graphstore, "_render", lambda *args: writes.append(args) or real(*args)
    )
    # two apps on one cache folder: as two worker processes of one server (buffered: a
    # test client leaves a streamed body open, a server closes it)
    first, second = (_dump_app(tmp_path, "cache").test_client() for _ in range(2))
    got = first.get("/data?format=nt", buffered=True)
    again = second.get("/data?format=nt", buffered=True)
    assert got.status_code == again.status_code == 200
    assert got.data == again.data == expected.data
    assert ALPHA_TRIPLE[2].n3().encode() not in got.data  # extra graphs are not in the dataset
    assert b"<https://w3id.org/eusdp/id/japan-partnership>" in got.data
    assert int(got.headers["Content-Length"]) == len(expected.data)
    assert got.headers["ETag"] == expected.headers["ETag"]
    assert len(writes) == 1  # the second app read the file the first one wrote
    files = [p.name for p in (tmp_path / "cache" / "dumps").iterdir() if p.suffix == ".nt"]
    assert files == [got.headers["ETag"].strip('"') + ".nt"]
    assert second.head("/data?format=nt").headers["Content-Length"] == str(len(expected.data))
    tag = got.headers["ETag"]
    revalidated = second.get("/data?format=nt", headers={"If-None-Match": tag}, buffered=True)
    assert revalidated.status_code == 304


@pytest.mark.usefixtures("small_memory")
def test_an_unwritable_cache_folder_still_answers(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the folder should be")
    got = _dump_app(tmp_path, "cache").test_client().get("/data?format=nt", buffered=True)
    assert got.status_code == 200
    assert b"<https://w3id.org/eusdp/id/japan-partnership>" in got.data


@pytest.mark.usefixtures("small_memory")
def test_dumps_unserved_for_a_day_are_pruned_when_one_is_written(tmp_path: Path) -> None:
    dumps = tmp_path / "cache" / "dumps"
    dumps.mkdir(parents=True)
    stale, recent = dumps / "0ld.nt", dumps / "r3cent.nt"  # another version's dumps
    stale.write_bytes(b"stale"), recent.write_bytes(b"recent")
    (dumps / "0ld.nt.lock").touch()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))
    os.utime(dumps / "0ld.nt.lock", (two_days_ago, two_days_ago))
    client = _dump_app(tmp_path, "cache").test_client()
    got = client.get("/data?format=nt", buffered=True)
    assert got.status_code == 200
    mine = dumps / (got.headers["ETag"].strip('"') + ".nt")
    assert mine.read_bytes() == got.data
    assert not stale.exists()
    assert recent.read_bytes() == b"recent"  # served within the day: kept
    assert (dumps / "0ld.nt.lock").exists()  # locks stay: see graphstore._prune
    # serving a dump file counts as a use: it is not pruned while it is being served
    os.utime(mine, (two_days_ago, two_days_ago))
    assert client.get("/data?format=nt", buffered=True).data == got.data
    assert mine.stat().st_mtime > time.time() - 3600


@pytest.mark.usefixtures("small_memory")
def test_a_dump_file_pruned_before_it_is_opened_is_written_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _dump_app(tmp_path, "cache").test_client()
    first = client.get("/data?format=nt", buffered=True)
    real = graphstore.render
    pruned: list[Path] = []

    def render_then_prune(*args: Any) -> bytes | Path:
        found = real(*args)
        if isinstance(found, Path) and not pruned:
            pruned.append(found)
            found.unlink()  # as another server's _prune would, between render and open
        return found

    monkeypatch.setattr("eusdp.web.data.render", render_then_prune)
    again = client.get("/data?format=nt", buffered=True)
    assert again.status_code == 200
    assert again.data == first.data
    assert pruned and pruned[0].exists()  # written anew
    assert client.head("/data?format=nt").headers["Content-Length"] == str(len(first.data))


def test_small_dumps_stay_in_memory(tmp_path: Path) -> None:
    got = _dump_app(tmp_path, "cache").test_client().get("/data?format=nt", buffered=True)
    assert got.status_code == 200
    assert not (tmp_path / "cache" / "dumps").exists() or not any(
        p.suffix == ".nt" for p in (tmp_path / "cache" / "dumps").iterdir()
    )
