"""Queries for clients run under a deadline that really stops them, with a result cache."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from eusdp.config import Settings, load_settings
from eusdp.executor import Overrun
from eusdp.querying import (
    STARVE,
    AnswerTooLarge,
    InTurn,
    QueryAnswer,
    QueryJob,
    QueryService,
    _Waiter,
    query_form,
)
from eusdp.store import Store

NATO = """PREFIX eusdp: <https://w3id.org/eusdp/ontology#>
SELECT ?c WHERE { ?c a eusdp:NATOMemberPartner } ORDER BY ?c"""

#: Queries that do not finish on our graph in any reasonable time.
ENDLESS = {
    "cross product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
    "path on all nodes": "PREFIX e: <https://w3id.org/eusdp/ontology#> "
    "SELECT (COUNT(*) AS ?n) WHERE { ?s (e:partner|!e:partner)* ?o . ?x ?y ?z }",
    "huge group_concat": "SELECT (STRLEN(GROUP_CONCAT(CONCAT(STR(?a), STR(?b), STR(?c))))"
    " AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }",
}


@pytest.fixture()
def service(store: Store) -> Iterator[QueryService]:
    svc = QueryService(store, workers=2, deadline=1.0, cache_bytes=1_000_000)
    yield svc
    svc.close()


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("SELECT * WHERE {}", "select"),
        ("# comment\nPREFIX a: <http://a/>\nBASE <http://b/>\n ask {}", "ask"),
        ("PREFIX : <http://a/> CONSTRUCT WHERE { ?s ?p ?o }", "construct"),
        ("describe <http://x>", "describe"),
        ("INSERT DATA {}", None),
        ("", None),
    ],
)
def test_query_form(text: str, form: str | None) -> None:
    assert query_form(text) == form


def test_answers_and_caches(service: QueryService) -> None:
    first = service.run(QueryJob(NATO, "json"))
    rows = json.loads(first.body)["results"]["bindings"]
    assert [r["c"]["value"].rsplit("/", 1)[1] for r in rows] == [
        "albania", "canada", "north-macedonia", "norway", "united-kingdom"
    ]  # fmt: skip
    assert not first.cached
    second = service.run(QueryJob(NATO, "json"))
    assert second.cached and second.body == first.body
    assert service.run(QueryJob(NATO, "csv")).cached is False  # the format is in the key


def test_cached_answers_cost_the_garbage_collector_nothing(service: QueryService) -> None:
    # Keys and entries are tuples of strings, bytes and numbers, which the cyclic collector
    # stops tracking after one pass: a full cache does not lengthen its pauses.
    for limit in (1, 2, 3):
        service.run(QueryJob(f"{NATO} LIMIT {limit}", "json"))
    gc.collect()
    assert service.cache is not None
    held = list(service.cache._items.items())
    assert len(held) >= 3
    assert not any(gc.is_tracked(key) or gc.is_tracked(entry) for key, entry in held)


def test_syntax_error_comes_back_as_an_error(service: QueryService) -> None:
    with pytest.raises(SyntaxError, match="1:"):
        service.run(QueryJob("SELECT * WHERE { ?s ?p }", "json"))


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_endless_queries_stop_at_the_deadline_and_the_next_one_runs(
    service: QueryService, name: str
) -> None:
    start = time.monotonic()
    with pytest.raises(Overrun):
        service.run(QueryJob(ENDLESS[name], "json"))
    assert time.monotonic() - start < 1.0 + 1.0  # deadline + 1 s
    answer = service.run(QueryJob(NATO, "tsv"))
    assert answer.body.count(b"\n") == 6  # header and five partners


def test_a_client_may_ask_for_less_time_never_more(service: QueryService) -> None:
    start = time.monotonic()
    with pytest.raises(Overrun):
        service.run(QueryJob(ENDLESS["cross product"], "json"), deadline=0.3)
    assert time.monotonic() - start < 0.9
    start = time.monotonic()
    with pytest.raises(Overrun):
        service.run(QueryJob(ENDLESS["cross product"], "json"), deadline=60)
    assert time.monotonic() - start < 2.0


def test_answer_size_limit(store: Store) -> None:
    svc = QueryService(store, workers=1, deadline=5, max_bytes=1000)
    try:
        with pytest.raises(AnswerTooLarge) as err:
            svc.run(QueryJob("SELECT * WHERE { ?s ?p ?o }", "json"))
        assert err.value.limit == 1000 and err.value.size > 1000
    finally:
        svc.close()


def test_rows_are_cut_and_flagged(service: QueryService) -> None:
    answer = service.run(QueryJob("SELECT * WHERE { ?s ?p ?o }", "json", max_rows=3))
    assert answer.truncated
    assert len(json.loads(answer.body)["results"]["bindings"]) == 3


def _slow_evaluations(
    service: QueryService, monkeypatch: pytest.MonkeyPatch, fail: bool = False
) -> tuple[list[QueryJob], threading.Event]:
    """Make every evaluation wait for a gate; returns the jobs evaluated and the gate."""
    evaluated: list[QueryJob] = []
    gate = threading.Event()
    real = service._evaluate

    def slow(job: QueryJob, limit: float, client: str | None) -> object:
        evaluated.append(job)
        gate.wait(10)
        if fail:
            raise Overrun(limit)
        return real(job, limit, client)

    monkeypatch.setattr(service, "_evaluate", slow)
    return evaluated, gate


def _together(
    service: QueryService, job: QueryJob, n: int
) -> tuple[list[object], list[threading.Thread]]:
    """Run ``job`` from ``n`` threads at once; each thread's answer or error."""
    results: list[object] = [None] * n

    def one(i: int) -> None:
        try:
            results[i] = service.run(job)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return results, threads


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_identical_queries_at_once_are_evaluated_once(
    service: QueryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated, gate = _slow_evaluations(service, monkeypatch)
    results, threads = _together(service, QueryJob(NATO, "json"), 5)
    _wait_for(lambda: service.coalesced == 4)  # four wait for the one evaluating
    gate.set()
    for t in threads:
        t.join(10)
    assert len(evaluated) == 1
    bodies = {r.body for r in results if isinstance(r, QueryAnswer)}
    assert len(bodies) == 1 and b"north-macedonia" in bodies.pop()


def test_the_waiters_share_the_failure(
    service: QueryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated, gate = _slow_evaluations(service, monkeypatch, fail=True)
    results, threads = _together(service, QueryJob(NATO, "json"), 3)
    _wait_for(lambda: service.coalesced == 2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(evaluated) == 1
    assert all(isinstance(r, Overrun) for r in results)
    # Nothing was cached and nothing stays in flight: the next run evaluates again.
    monkeypatch.undo()
    assert not service.run(QueryJob(NATO, "json")).cached


@pytest.mark.parametrize(
    ("cores", "overrides", "expected"),
    [
        (2, {}, 1),  # 2 cores, 2 server processes: one each
        (8, {}, 1),  # 8 cores, 8 server processes
        (8, {"workers": 2, "threads": 4}, 4),  # 8 cores over 2 processes
        (32, {"workers": 2, "threads": 4}, 4),  # never more than the threads that wait on them
        (8, {"workers": 1, "threads": 16}, 8),
        (1, {}, 1),  # fewer cores than processes: one each all the same
        (None, {}, 1),  # cores unknown
        (2, {"query_workers": 7}, 7),  # said outright: as said
    ],
)
def test_query_workers_follow_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, overrides: dict[str, int], expected: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert Settings(**overrides).query_worker_count == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cores", "workers", "expected"),
    [(2, 0, 2), (8, 0, 8), (1, 0, 2), (None, 0, 2), (8, 3, 3)],
)
def test_server_processes_follow_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, workers: int, expected: int
) -> None:
    """One per core, at least two (one long query leaves the other free), or as said."""
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert Settings(workers=workers).worker_count == expected


@pytest.mark.parametrize("bad", [{"workers": -1}, {"threads": 0}])
def test_process_and_thread_counts_are_checked(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="workers must be 0"):
        load_settings(**bad)


def test_with_min_uses_a_job_is_kept_once_asked_twice(store: Store) -> None:
    svc = QueryService(store, workers=1, deadline=5.0, cache_bytes=1_000_000, cache_min_uses=2)
    try:
        assert svc.cache is not None
        first, second, third = (svc.run(QueryJob(NATO, "json")) for _ in range(3))
        assert not first.cached and not second.cached and third.cached
        assert first.body == second.body == third.body
        # Asked once: evaluated only, neither looked up nor kept.
        assert svc.cache.stats() == {
            "entries": 1, "bytes": len(first.body), "hits": 1, "misses": 1, "declined": 1
        }  # fmt: skip
    finally:
        svc.close()


def test_a_kept_job_is_answered_at_once_however_rarely_asked(store: Store) -> None:
    """How priming fills the cache: ``keep`` counts the job as asked enough."""
    svc = QueryService(store, workers=1, deadline=5.0, cache_bytes=1_000_000, cache_min_uses=2)
    try:
        svc.run(QueryJob(NATO, "json"), keep=True)
        assert svc.run(QueryJob(NATO, "json")).cached
    finally:
        svc.close()


# --- InTurn: the lock around cheap queries -----------------------------------------------


def test_in_turn_lets_one_thread_in_at_a_time() -> None:
    lock, inside, most, total = InTurn(), [0], [0], [0]

    def work() -> None:
        for _ in range(500):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                count = total[0]
                time.sleep(0)  # let another thread run here, if it could get in
                total[0] = count + 1
                inside[0] -= 1

    threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30.0)
    assert not any(t.is_alive() for t in threads)  # none left waiting for good
    assert total[0] == 2000 and most[0] == 1 and not lock.locked()


def test_in_turn_a_starved_waiter_goes_before_the_holder_comes_back() -> None:
    """Held past STARVE while another waits, it is handed to the waiter at release: the
    holder asking again at once comes second (with threading.Lock it came first in 9 of
    10 trials)."""
    for _ in range(5):
        lock, order = InTurn(), list[str]()
        lock.__enter__()

        def waiter(lock: InTurn = lock, order: list[str] = order) -> None:
            with lock:
                order.append("waiter")

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        time.sleep(STARVE * 20)
        lock.__exit__(None, None, None)
        with lock:
            order.append("holder again")
        thread.join(5.0)
        assert order == ["waiter", "holder again"]


def test_in_turn_a_waiter_takes_it_once_free_without_a_hand_over() -> None:
    """Let go before the waiter starved and never taken again: the waiter, waking, takes it."""
    lock, got = InTurn(), threading.Event()
    lock.__enter__()

    def waiter() -> None:
        with lock:
            got.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    time.sleep(STARVE / 4)
    lock.__exit__(None, None, None)
    assert got.wait(5.0)
    thread.join(5.0)
    assert not lock.locked()


def test_in_turn_a_waiter_finding_it_free_hands_it_to_an_older_waiter() -> None:
    """A waiter that wakes from its timed wait to a free lock while an older one has not
    woken yet (preempted before its own wait) hands the lock to the older one and waits
    its turn; before, it took the lock ahead of it."""
    lock, got = InTurn(), threading.Event()
    lock.__enter__()
    older = _Waiter()  # a thread queued first, not yet in its wait
    lock._waiting.append(older)

    def younger() -> None:
        with lock:
            got.set()

    thread = threading.Thread(target=younger, daemon=True)
    thread.start()
    while len(lock._waiting) < 2:
        time.sleep(STARVE / 10)
    with lock._guard:  # let go the way __exit__ does when no waiter has starved yet
        lock._held = False
    assert older.turn.acquire(timeout=5.0)  # the older waiter was handed the lock...
    assert lock.locked() and not got.is_set()  # ...and the younger waits behind it
    lock.__exit__(None, None, None)  # the older one done: the younger, starved, next
    assert got.wait(5.0)
    thread.join(5.0)
    assert not lock.locked()
