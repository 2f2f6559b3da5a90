"""Running a query for a client: deadline, isolation, answer size, and a result cache.

The web layer (and anything else that answers strangers) hands a :class:`QueryJob`
to :meth:`QueryService.run`. The query is evaluated and serialised in a worker
process under a deadline (see :mod:`eusdp.executor`), so a query that never ends
or crashes the engine costs one worker, not the server; only a query whose work is
provably small (:mod:`eusdp.cost`) runs in the server process, one at a time. Answers are cached by
everything that determines them, the graph's version included: the graph is
read-only, so a cached answer is exact until the data changes.

The format is chosen before the query runs (from the query form, read
lexically), so a client that cannot take the answer is told so without spending
a worker on it.
"""

from __future__ import annotations

import pickle
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pyoxigraph as ox

from .admission import Doorkeeper
from .cost import STATS_LIMIT, Bound, CostGate, GraphStats
from .executor import Executor, Overrun, heap_trimmer
from .federation import mentions
from .formats import BOOLEAN_FORMATS, GRAPH_FORMATS, RESULTS_FORMATS, Format, serialize_result
from .store import Store

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal

_PROLOGUE = re.compile(
    r"""\s*(?:\#[^\n]*\n?|(?:PREFIX\s+[^\s:]*:\s*<[^<>]*>|BASE\s*<[^<>]*>)\s*)*""",
    re.IGNORECASE,
)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)

#: The formats each query form can be written in, the default first.
FORMS: dict[str, tuple[Format, ...]] = {
    "select": RESULTS_FORMATS,
    "ask": BOOLEAN_FORMATS,
    "construct": GRAPH_FORMATS,
    "describe": GRAPH_FORMATS,
}


def query_form(text: str) -> str | None:
    """``select``, ``ask``, ``construct`` or ``describe``, read after the prologue;
    ``None`` if the text starts otherwise (the engine will say what is wrong)."""
    match = _FORM.match(text, _PROLOGUE.match(text).end())  # type: ignore[union-attr]
    return match.group(1).lower() if match else None


class QueryJob(NamedTuple):
    """Everything that determines an answer (and so its cache key).

    A named tuple, as :class:`QueryAnswer`, not a frozen dataclass: one is made and
    one crosses the worker's pipe for every query, and a frozen dataclass cost 1.0 µs
    to make (a ``__setattr__`` per field) against 0.4, and 3.5 µs to pickle and
    unpickle against 2.5."""

    text: str
    format: str  # a short format name, already negotiated
    infer: bool = True
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    bindings: tuple[tuple[str, OxTerm], ...] = ()
    base_iri: str | None = None
    max_rows: int | None = None
    #: Prefixes for Turtle/TriG answers (the query's own, so the answer reads like it).
    prefixes: tuple[tuple[str, str], ...] = ()


_PREFIX = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^<>\s]*)>", re.IGNORECASE | re.M)


def declared_prefixes(text: str) -> tuple[tuple[str, str], ...]:
    """The ``PREFIX`` lines of a query, as (name, IRI) pairs."""
    return tuple((m[1] or "", m[2]) for m in _PREFIX.finditer(text))


class QueryAnswer(NamedTuple):
    body: bytes
    format: str
    truncated: bool
    seconds: float
    cached: bool = False


class AnswerTooLarge(Exception):
    """The serialised answer is larger than the server sends."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"the answer is {size} bytes; this server sends at most {limit}")

    def __reduce__(self) -> tuple[type[AnswerTooLarge], tuple[int, int]]:
        return (type(self), (self.size, self.limit))  # crosses the worker's pipe intact


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def portable(error: BaseException) -> BaseException:
    """The error itself if it survives the pipe, else a plain RuntimeError saying it."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def execute(
    store: Store, job: QueryJob, max_bytes: int | None = None, rows: int | None = None
) -> QueryAnswer | _Failed:
    """Evaluate and serialise one job. Runs in a worker: returns errors, never raises.

    ``rows``: a bound on the answer's rows known beforehand (:mod:`eusdp.cost`). Within
    ``max_rows``, the answer is written without counting its rows as it goes (5 µs of a
    small query's 50, through a Python file object)."""
    start = time.perf_counter()
    max_rows = job.max_rows
    if rows is not None and max_rows is not None and rows <= max_rows:
        max_rows = None  # it cannot be cut: nothing to count
    try:

        def evaluate() -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
            return store.query(
                job.text,
                infer=job.infer,
                default_graph_uris=job.default_graph_uris,
                named_graph_uris=job.named_graph_uris,
                bindings=dict(job.bindings) if job.bindings else None,
                base_iri=job.base_iri,
            )

        written = serialize_result(
            evaluate(),
            job.format,
            max_rows=max_rows,
            prefixes=dict(job.prefixes) if job.prefixes else None,
            # Evaluating a SERVICE query again would ask the remote endpoint again.
            again=None if max_rows is None or mentions(job.text, "service") else evaluate,
        )
        if max_bytes is not None and len(written.body) > max_bytes:
            raise AnswerTooLarge(len(written.body), max_bytes)
    except Exception as exc:  # the worker must survive any query: the parent re-raises it
        return _Failed(portable(exc))
    return QueryAnswer(
        written.body, written.format.name, written.truncated, time.perf_counter() - start
    )


class AnswerCache:
    """A least-recently-used cache of answers, bounded by the bytes it holds.

    Keys and entries are plain tuples of strings, bytes and numbers, which Python's cyclic
    garbage collector stops tracking, not dataclasses: a full collection is a pause of
    the whole server process, and with 60,000 ad-hoc answers held in the caches it took
    5.9 ms this way against 11.4 ms (the lane called in a loop, ``gc.callbacks``)."""

    def __init__(self, max_bytes: int, min_uses: int = 1) -> None:
        self.max_bytes = max_bytes
        self.door = Doorkeeper(min_uses)
        self._items: OrderedDict[object, tuple[bytes, str, bool]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: object) -> QueryAnswer | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        body, fmt, truncated = entry
        return QueryAnswer(body, fmt, truncated, 0.0, cached=True)

    def put(self, key: Hashable, answer: QueryAnswer) -> None:
        size = len(answer.body)
        if size > self.max_bytes // 4:  # one answer never takes most of the cache
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (answer.body, answer.format, answer.truncated)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (old, _, _) = self._items.popitem(last=False)
                self._bytes -= len(old)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "bytes": self._bytes, "hits": self.hits,
                    "misses": self.misses, "declined": self.door.declined}  # fmt: skip


_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)

#: Seconds after which a running query counts as long, and a spare worker may take others.
STALL = 0.5

#: Shortest deadline under which a cheap query runs in the server process. A query there
#: cannot be stopped; the costliest within the budget take ~15 ms (``eusdp.cost``),
#: so a client asking for less than a second (``timeout=0.005``) gets a worker and its
#: deadline to the letter.
INLINE_MIN_DEADLINE = 1.0


class _Flight:
    """One evaluation that identical jobs arriving meanwhile wait for.

    A lock the leader holds until the outcome is in, not an Event: every cacheable
    query opens a flight, and an Event (a Condition and its lock, in Python) cost a
    few microseconds of the server's time per ad-hoc query for a wait that is rare."""

    def __init__(self) -> None:
        self._running = threading.Lock()
        self._running.acquire()
        self.outcome: QueryAnswer | _Failed | None = None

    def land(self, outcome: QueryAnswer | _Failed) -> None:
        self.outcome = outcome
        self._running.release()

    def wait(self, timeout: float) -> bool:
        """Whether the outcome came within ``timeout`` seconds."""
        if not self._running.acquire(timeout=timeout):
            return False
        self._running.release()  # for the next waiter
        return True


#: How long a thread may wait for its turn at the cheap queries while another one, done
#: with one, takes the next at once: then the lock is handed over (see :class:`InTurn`).
STARVE = 0.001


class _Waiter:
    __slots__ = ("since", "turn")

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.turn = threading.Lock()
        self.turn.acquire()


class InTurn:
    """One thread at a time; the one that lets go may take it again at once, but not for
    longer than :data:`STARVE` while another waits: then it is handed to the oldest waiter.

    Go's ``sync.Mutex`` does the same (its "starvation mode"), for the same two reasons.
    Taking the lock again at once is what makes it pay: around cheap queries (see
    :class:`QueryService`), with ``threading.Lock`` (which lets any thread take it), two
    request threads cost 67-73 us of CPU a query, against 96 with a lock handed over at
    every release (each query a wake-up, as without a lock: 86). But ``threading.Lock``
    bounds nothing: a thread was passed over for many queries in a row, and the ad-hoc
    p99 at 1x went from 1.6 to 14.7 ms. A waiter sleeps at most ``STARVE`` at a time;
    woken, it finds the lock free and hands it to the oldest waiter (itself, or one
    ahead of it), or finds it held and waits to be handed it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[_Waiter] = deque()

    def _starved(self) -> bool:
        waiting = self._waiting
        return bool(waiting) and time.monotonic() - waiting[0].since >= STARVE

    def __enter__(self) -> None:
        with self._guard:
            if not self._held and not self._starved():
                self._held = True
                return
            me = _Waiter()
            self._waiting.append(me)
        if me.turn.acquire(timeout=STARVE):
            return  # handed over
        with self._guard:
            if me in self._waiting and not self._held:
                # Free, and every waiter ahead has waited longer: the oldest goes first
                # (one preempted before its own timed wait may not have woken yet).
                oldest = self._waiting.popleft()
                self._held = True
                if oldest is me:
                    return
                oldest.turn.release()  # handed over; this thread waits for its turn
        me.turn.acquire()  # starved now: the next release hands it over (or has)

    def __exit__(self, *_exc: object) -> None:
        with self._guard:
            if self._starved():
                self._waiting.popleft().turn.release()  # handed over: still held
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held


class QueryService:
    """Runs jobs on a store: cached, isolated in worker processes, under a deadline."""

    def __init__(
        self,
        store: Store,
        *,
        workers: int,
        deadline: float,
        max_bytes: int | None = None,
        cache_bytes: int = 0,
        cache_min_uses: int = 1,
        isolate: bool = True,
        spare: int = 0,
        inline_budget: int = 0,
    ) -> None:
        self.store = store
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.cache = AnswerCache(cache_bytes, cache_min_uses) if cache_bytes > 0 else None
        # Identical cacheable jobs running at once are evaluated once (request coalescing,
        # as Varnish does): on a large graph, a burst of the same slow canned query would
        # otherwise take every worker for the same answer.
        self._flights: dict[object, _Flight] = {}
        self._flights_lock = threading.Lock()
        self.coalesced = 0
        self._executor: Executor[QueryJob, QueryAnswer | _Failed] | None = (
            Executor(
                lambda job: execute(store, job, max_bytes),
                size=workers,
                wait=deadline,
                spare=spare,
                stall=STALL,
            )
            if isolate
            else None
        )
        # A query whose work is provably small runs here, not in a worker: it cannot run
        # long, so it needs no kill, and the hop would cost as much as the query.
        self.gate = CostGate(
            _stats(store) if isolate and inline_budget > 0 else None, inline_budget
        )
        self.inline = 0  # jobs run in this process because provably cheap: for tests
        # One cheap query evaluated at a time in this process. Oxigraph lets the GIL go
        # while it parses and evaluates, and takes it back after: two request threads
        # doing so at once hand the GIL to and fro several times a query, each time a
        # wake-up and a context switch. Waiting for this lock instead is one wake-up a
        # query. Measured with the /sparql lane called by two threads of one process
        # (adhoc:1, Granian's environ): 86-87 us of CPU a query without it, 67-69 with it
        # (54-55 with one thread), for the same queries a second (16-17k). The server's
        # processes share the cores, so CPU a query is what bounds their req/s. A cheap
        # query is short by proof (~15 ms at the very worst), and no thread waits longer
        # than STARVE and the query then running (InTurn).
        self._inline_lock = InTurn()

    def _key(self, job: QueryJob) -> tuple[object, ...]:
        """Everything the answer depends on, as a plain tuple (see :class:`AnswerCache`)."""
        return (self.store.version, *job)

    def cacheable(self, job: QueryJob) -> bool:
        """Whether the answer depends on nothing but the job and the graph (no SERVICE:
        a remote endpoint's data may change under the same query)."""
        return self.cache is not None and not (
            mentions(job.text, "service") and _SERVICE.search(job.text)
        )

    def run(
        self,
        job: QueryJob,
        deadline: float | None = None,
        client: str | None = None,
        *,
        keep: bool = False,
    ) -> QueryAnswer:
        """The answer, or the job's error raised here (SyntaxError, domain errors,
        :class:`~eusdp.executor.Overrun`, :class:`~eusdp.executor.WorkerDied`, ...).

        ``client`` (its address) decides whether a spare worker may take the job while
        the others run long: only for a client none of them belongs to.

        An answer is cached once its job has been asked ``cache_min_uses`` times (see
        :mod:`eusdp.admission`); before that the job is only evaluated, not looked up
        or coalesced (so a burst of a new query evaluates it up to ``cache_min_uses``
        times). ``keep`` counts the job as asked enough already (priming).

        A provably cheap job (:meth:`judge`) is run here and now, and the answer cache
        neither looks it up nor keeps it: asking the cache cost every ad-hoc query ~3 µs
        (counting, the key, the lock) to spare a repeat at most the cheap query's work
        (~15 ms at the very worst, most under 0.1 ms); a repeated GET is answered by the
        response cache in front anyway (:mod:`eusdp.web.fastpath`)."""
        limit = self.deadline if deadline is None else min(deadline, self.deadline)
        cheap = self.judge(
            job.text, limit, dataset=bool(job.default_graph_uris or job.named_graph_uris)
        )
        if cheap is not None:
            self.inline += 1
            with self._inline_lock:
                outcome = execute(self.store, job, self.max_bytes, cheap.rows)
            return self._outcome(outcome)
        if not self.cacheable(job):
            return self._outcome(self._evaluate(job, limit, client))
        assert self.cache is not None
        key = self._key(job)
        if keep:
            self.cache.door.admit(key)
        elif not self.cache.door.asked(key):  # asked too few times to be kept: just run it
            return self._outcome(self._evaluate(job, limit, client))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        with self._flights_lock:
            flight = self._flights.get(key)
            leading = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                self.coalesced += 1
        if not leading:
            if not flight.wait(2 * limit):  # the leader may wait, then run: see Executor
                raise Overrun(limit)
            assert flight.outcome is not None
            return self._outcome(flight.outcome)
        try:
            outcome = self._evaluate(job, limit, client)
        except BaseException as exc:  # Overrun, WorkerDied, Busy: the waiters get it too
            outcome = _Failed(exc)
        finally:
            with self._flights_lock:
                del self._flights[key]
        flight.land(outcome)
        if isinstance(outcome, QueryAnswer):
            self.cache.put(key, outcome)
        return self._outcome(outcome)

    def _evaluate(self, job: QueryJob, limit: float, client: str | None) -> QueryAnswer | _Failed:
        if self._executor is not None:
            return self._executor.run(job, limit, client)
        return execute(self.store, job, self.max_bytes)

    def judge(self, text: str, limit: float, *, dataset: bool = False) -> Bound | None:
        """The bound of a query that would run in this process: provably cheap
        (:mod:`eusdp.cost`) and given at least :data:`INLINE_MIN_DEADLINE`. A dataset
        given with the request (``dataset``) is another graph than the statistics':
        not judged."""
        if dataset or limit < INLINE_MIN_DEADLINE:
            return None
        return self.gate.judge(text)

    @staticmethod
    def _outcome(outcome: QueryAnswer | _Failed) -> QueryAnswer:
        if isinstance(outcome, _Failed):
            raise outcome.error
        return outcome

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()


def _stats(store: Store) -> GraphStats | None:
    """The statistics of every graph the store holds; None above :data:`STATS_LIMIT`.

    Gathered where the service is built, before the server forks, so that its processes
    share them: 7 ms at 1x (2,560 quads), 0.37 s at 100k (158,029). The counting leaves
    ~20 MiB of freed heap at 100k, given back at once (the forks would inherit it)."""
    sizes = store.sizes()
    if sum(sizes.values()) > STATS_LIMIT:
        return None
    stats = GraphStats.of(store.quads_of(list(sizes)))
    heap_trimmer()()
    return stats


def bindings_tuple(bindings: Mapping[str, OxTerm] | None) -> tuple[tuple[str, OxTerm], ...]:
    """Bindings in a stable, hashable order (for the cache key)."""
    return tuple(sorted((bindings or {}).items(), key=lambda kv: kv[0]))
