"""The federation module on its own: the lexical scan, the allowlist, the HTTP client's
manners (User-Agent, retries, Retry-After, limits) and the VALUES it writes."""

from __future__ import annotations

import json
import pickle

import pyoxigraph as ox
import pytest

from eusdp.config import load_settings
from eusdp.federation import (
    USER_AGENT,
    WIKIDATA_SPARQL,
    DatasetRefused,
    Federation,
    RemoteOptions,
    ServiceFailed,
    ServiceRefused,
    parse_results,
    post_query,
    retry_after,
    scan,
    select,
    values_block,
    without_services,
)
from tests.wikidata.standins import Listener, SparqlStandin, closed_port

WD = "http://www.wikidata.org/entity/"
FAST = RemoteOptions(timeout=2.0, retries=3, backoff=0.01)


def federation(url: str, options: RemoteOptions = FAST) -> Federation:
    return Federation((WIKIDATA_SPARQL,), {WIKIDATA_SPARQL: url}, options)


# --- the scan ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?service { BIND("SERVICE <http://127.0.0.1:1/> {}" AS ?service) }',
        "SELECT * { ?s <http://example.org/SERVICE> ?o } # SERVICE <http://127.0.0.1:1/> {}",
        "PREFIX ex: <http://example.org/> SELECT * { ?s ex:SERVICE ?o }",
        "SELECT * { ?s ?p '''SERVICE <http://127.0.0.1:1/> { }''' }",
    ],
)
def test_the_word_service_in_strings_iris_comments_and_names_is_no_service(query: str) -> None:
    assert scan(query).services == ()


def test_scan_resolves_prefixed_and_relative_service_iris_and_finds_silent() -> None:
    found = scan(
        "BASE <https://query.wikidata.org/>\nPREFIX wdqs: <https://query.wikidata.org/>\n"
        "SELECT * { SERVICE wdqs:sparql { ?a ?b ?c } SERVICE SILENT <sparql> { ?d ?e ?a } }"
    )
    assert [(b.iri, b.silent) for b in found.services] == [
        (WIKIDATA_SPARQL, False),
        (WIKIDATA_SPARQL, True),
    ]
    assert found.services[1].variables == ("d", "e", "a")
    assert found.services[0].pattern == "{ ?a ?b ?c }"


def test_an_unclosed_service_is_a_syntax_error_with_a_position() -> None:
    with pytest.raises(SyntaxError, match=r"error at 1:\d+"):
        scan("SELECT * { SERVICE <https://query.wikidata.org/sparql> ?x }")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { SERVICE <{url}> { ?s ?p ?o } }",
        "SELECT * { SERVICE SILENT <{url}> { ?s ?p ?o } }",
        "PREFIX here: <{url}> SELECT * { service here:sparql { ?s ?p ?o } }",
        "ASK { OPTIONAL { SERVICE <{url}> { ?s ?p ?o } } }",
    ],
)
def test_a_service_off_the_allowlist_is_refused_before_any_fetch(
    query: str, listener: Listener
) -> None:
    text = query.replace("{url}", listener.url)
    with pytest.raises(ServiceRefused, match="is not allowed") as caught:
        federation(listener.url).prepare(text)
    assert caught.value.service is not None and caught.value.service.startswith(listener.url)
    assert listener.connections == []


def test_a_variable_service_is_refused() -> None:
    with pytest.raises(ServiceRefused, match="variable"):
        Federation().prepare("SELECT * { VALUES ?x { <http://127.0.0.1:1/> } SERVICE ?x { } }")


def test_a_refusal_comes_before_the_allowed_services_are_called(listener: Listener) -> None:
    """One bad SERVICE anywhere: nothing at all is fetched, not even the allowed ones."""
    with SparqlStandin() as allowed:
        text = (
            f"SELECT * {{ SERVICE <{WIKIDATA_SPARQL}> {{ ?s ?p ?o }} "
            f"SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"
        )
        with pytest.raises(ServiceRefused):
            federation(allowed.url).prepare(text)
        assert allowed.seen == []
    assert listener.connections == []


def test_from_a_graph_not_held_is_refused(listener: Listener) -> None:
    held = {"https://example.org/held"}
    for clause in ("FROM", "FROM NAMED"):
        with pytest.raises(DatasetRefused, match="never fetched"):
            Federation().prepare(f"SELECT * {clause} <{listener.url}> {{ }}", graphs=held)
    assert Federation().prepare("SELECT * FROM <https://example.org/held> { }", graphs=held)
    assert listener.connections == []


def test_an_escaped_keyword_cannot_hide_a_service_from_the_check() -> None:
    """The check is skipped for texts without the words SERVICE and FROM. That is sound
    only while the engine, too, reads ``\\u`` escapes nowhere but in strings."""
    hidden = "SELECT * { S\\u0045RVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"
    assert Federation().prepare(hidden) == hidden
    with pytest.raises(SyntaxError):
        ox.Store().query(hidden)


def test_without_services_keeps_the_pattern_and_fetches_nothing(listener: Listener) -> None:
    text = f"ASK {{ SERVICE <{listener.url}> {{ ?s ?p ?o SERVICE <{listener.url}> {{ }} }} }}"
    local = without_services(text)
    assert local == "ASK { { ?s ?p ?o { } } }"
    assert isinstance(ox.Store().query(local), ox.QueryBoolean)
    assert listener.connections == []


def test_federation_errors_survive_pickling() -> None:
    """Queries may run in worker processes: their errors must cross the pipe intact."""
    error = ServiceFailed("too slow", WIKIDATA_SPARQL, timeout=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.service, copy.timeout) == ("too slow", WIKIDATA_SPARQL, True)


# --- settings ------------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    env = {
        "EUSDP_FEDERATION_ALLOWLIST": f"{WIKIDATA_SPARQL}, https://example.org/sparql",
        "EUSDP_FEDERATION_MAP": f"{WIKIDATA_SPARQL}=http://127.0.0.1:9/sparql",
        "EUSDP_REMOTE_TIMEOUT": "2.5",
    }
    settings = load_settings(env)
    assert settings.federation_allowlist == (WIKIDATA_SPARQL, "https://example.org/sparql")
    assert settings.federation_map == ((WIKIDATA_SPARQL, "http://127.0.0.1:9/sparql"),)
    assert settings.remote_timeout == 2.5
    assert load_settings({"EUSDP_FEDERATION_ALLOWLIST": "none"}).federation_allowlist == ()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EUSDP_FEDERATION_MAP": "https://example.org/sparql=http://x/"}, "not in"),
        ({"EUSDP_FEDERATION_MAP": f"{WIKIDATA_SPARQL}=file:///etc/passwd"}, "http"),
        ({"EUSDP_FEDERATION_MAP": "no-equals-sign"}, "IRI=URL"),
        ({"EUSDP_REMOTE_TIMEOUT": "soon"}, "not a number"),
        ({"EUSDP_REMOTE_TIMEOUT": "0"}, "positive"),
    ],
)
def test_bad_federation_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(env)


# --- the HTTP client -------------------------------------------------------------------------


def test_the_client_says_who_it_is_and_asks_for_json(wikidata_standin: SparqlStandin) -> None:
    select(wikidata_standin.url, "SELECT * { ?s ?p ?o } LIMIT 1", FAST)
    (seen,) = wikidata_standin.seen
    assert seen.method == "POST"
    assert seen.headers["user-agent"] == USER_AGENT
    assert "eusdp/" in USER_AGENT and "https://w3id.org/eusdp/" in USER_AGENT
    assert seen.headers["accept"] == "application/sparql-results+json"


def test_429_is_retried_after_the_delay_the_server_asks(wikidata_standin: SparqlStandin) -> None:
    wikidata_standin.behaviour.throttle = 2
    wikidata_standin.behaviour.retry_after = "1"
    waits: list[float] = []
    body = post_query(
        wikidata_standin.url, "ASK {}", RemoteOptions(timeout=5, retries=3), sleep=waits.append
    )
    assert json.loads(body)["boolean"] is True
    assert waits == [1.0, 1.0]
    assert len(wikidata_standin.seen) == 3


def test_5xx_is_retried_with_backoff_then_reported(wikidata_standin: SparqlStandin) -> None:
    wikidata_standin.behaviour.mode = "error"
    waits: list[float] = []
    with pytest.raises(ServiceFailed, match="HTTP 500") as caught:
        post_query(wikidata_standin.url, "ASK {}", FAST, service="urn:x", sleep=waits.append)
    assert caught.value.service == "urn:x" and not caught.value.timeout
    assert waits == [0.01, 0.02, 0.04]
    assert len(wikidata_standin.seen) == 4


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    wikidata_standin: SparqlStandin,
) -> None:
    wikidata_standin.behaviour.throttle = 1
    wikidata_standin.behaviour.retry_after = "3600"
    with pytest.raises(ServiceFailed, match="asks to wait 3600 s"):
        post_query(wikidata_standin.url, "ASK {}", FAST, sleep=pytest.fail)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_a_stalled_endpoint_is_a_timeout(wikidata_standin: SparqlStandin) -> None:
    wikidata_standin.behaviour.mode = "stall"
    with pytest.raises(ServiceFailed, match="did not answer within 0.5 s") as caught:
        select(wikidata_standin.url, "ASK {}", RemoteOptions(timeout=0.5))
    assert caught.value.timeout


def test_an_answer_past_the_size_limit_is_dropped(wikidata_standin: SparqlStandin) -> None:
    wikidata_standin.behaviour.mode = "huge"
    with pytest.raises(ServiceFailed, match="at most 1000 are read"):
        select(wikidata_standin.url, "ASK {}", RemoteOptions(max_bytes=1000))


@pytest.mark.usefixtures("no_engine_iterator_left_in_a_cycle")
def test_garbage_and_unreachable_are_failures_not_timeouts(
    wikidata_standin: SparqlStandin,
) -> None:
    wikidata_standin.behaviour.mode = "garbage"
    with pytest.raises(ServiceFailed, match="not SPARQL JSON") as garbage:
        select(wikidata_standin.url, "SELECT * {}", FAST)
    with pytest.raises(ServiceFailed, match="cannot be reached") as unreachable:
        select(f"http://127.0.0.1:{closed_port()}/sparql", "SELECT * {}", FAST)
    assert not garbage.value.timeout and not unreachable.value.timeout


def test_only_http_urls_are_called() -> None:
    with pytest.raises(ServiceFailed, match="not an http"):
        post_query("file:///etc/passwd", "ASK {}", FAST)


# --- the VALUES written ------------------------------------------------------------------------

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
TRICKY = {
    "head": {"vars": ["a", "b", "c"]},
    "results": {
        "bindings": [
            {
                "a": {
                    "type": "literal",
                    "value": 'say "hi"\\ then\nnew line } )',
                    "xml:lang": "en-GB",
                },
                "b": {"type": "uri", "value": "http://example.org/a?b=c#d"},
                "c": {"type": "literal", "value": "12", "datatype": XSD_INTEGER},
            },
            {"b": {"type": "bnode", "value": "x1"}, "c": {"type": "bnode", "value": "x1"}},
            {"b": {"type": "bnode", "value": "x2"}},
        ]
    },
}


def test_remote_terms_are_written_exactly_and_blank_nodes_become_skolem_iris() -> None:
    rows = parse_results(json.dumps(TRICKY).encode(), "test")
    text = f"SELECT ?a ?b ?c WHERE {values_block(rows.variables, rows.rows)}"
    result = ox.Store().query(text)
    assert isinstance(result, ox.QuerySolutions)
    got = [[row[v] for v in ("a", "b", "c")] for row in result]
    assert got[0] == [
        ox.Literal('say "hi"\\ then\nnew line } )', language="en-gb"),
        ox.NamedNode("http://example.org/a?b=c#d"),
        ox.Literal("12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ]
    assert got[1][0] is None and got[1][1] == got[1][2]
    assert isinstance(got[1][1], ox.NamedNode) and got[1][1].value.startswith("urn:uuid:")
    assert got[2][1] != got[1][1]


def test_no_rows_means_no_solution_on_both_engines() -> None:
    from rdflib import Graph

    text = f"SELECT * WHERE {{ BIND(1 AS ?x) {values_block(['a', 'b'], [])} }}"
    assert list(ox.Store().query(text)) == []  # type: ignore[arg-type]
    assert list(Graph().query(text)) == []
