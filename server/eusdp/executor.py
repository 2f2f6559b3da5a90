"""Run work under a deadline, in processes that can be killed.

Neither Oxigraph nor rdflib can interrupt a running query, and a pathological
query can also crash the engine outright (a stack overflow in a recursive parser
is a segmentation fault, not an exception). So each query runs in a worker
process forked from the one that holds the store (copy-on-write: the graph is
not copied or reloaded). When a query overruns its deadline the worker is
killed with SIGKILL and replaced; when a worker dies, the query that killed it
gets an error and a new worker takes its place. Either way the server itself
goes on answering.

The pool is created lazily in the process that first uses it, so that under
Granian each worker process forks its own query workers (a pool created in the
master before the fork would share its pipes between processes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import faulthandler
import multiprocessing
import os
import pickle
import select
import signal
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")
Outcome = TypeVar("Outcome")


class Overrun(Exception):
    """The work did not finish within its deadline; the worker doing it was killed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"stopped after {seconds:g} s")


class WorkerDied(Exception):
    """The worker process died while doing the work (e.g. the engine crashed)."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        reason = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else exitcode
        super().__init__(f"the query worker died ({reason})")


class Busy(Exception):
    """No worker became free within the wait allowed."""


# --- the pipe between a server thread and its worker -------------------------------------
#
# Plain pipes with a length prefix and plain pickle, not multiprocessing's Connection:
# measured on the 2-core bench machine, a Connection round trip (send, poll, recv) cost the
# server thread 57 µs of CPU for a 700-byte answer, against 12 µs for the two system calls
# themselves. Its poll builds a selector on every call and its recv reads twice.

_LENGTH = struct.Struct("!Q")


def _send(fd: int, message: object) -> None:
    """Write one message: the length of its pickle (8 bytes), then the pickle."""
    _write(fd, _encode(message))


def _encode(message: object) -> list[bytes]:
    """A message as :func:`_send` writes it; raises here, before anything is written, if
    it cannot be pickled."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    header = _LENGTH.pack(len(data))
    # A small message goes in one write (the reader takes it in one read); a large one
    # is not copied just to put its length in front.
    return [header + data] if len(data) < _CHUNK else [header, data]


def _write(fd: int, parts: list[bytes]) -> None:
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


def _receive(fd: int) -> Any:
    """Read one message written by :func:`_send`; EOFError if the writer is gone.

    One read takes a whole small message, length and all: a pipe holds at most one
    message at a time here (a job, then its outcome), so nothing is read past its end."""
    data = os.read(fd, _CHUNK)
    if not data:
        raise EOFError("the pipe is closed")
    while len(data) < _LENGTH.size:
        data += _more(fd, _LENGTH.size - len(data))
    (size,) = _LENGTH.unpack_from(data)
    missing = _LENGTH.size + size - len(data)
    if missing <= 0:
        return pickle.loads(memoryview(data)[_LENGTH.size :])
    # A large answer (a CONSTRUCT at 1M triples is hundreds of MB) is read into one buffer
    # of its final size: grown chunk by chunk it would be copied as it doubled.
    message = bytearray(size)
    have = len(data) - _LENGTH.size
    message[:have] = memoryview(data)[_LENGTH.size :]
    into = memoryview(message)
    while have < size:
        got = os.readv(fd, [into[have:]])
        if not got:
            raise EOFError("the pipe closed mid-message")
        have += got
    return pickle.loads(message)


_CHUNK = 1 << 16  # a pipe's whole buffer on Linux
_LONGEST_POLL = 2**31 - 1  # milliseconds: poll(2) takes an int (24 days; a deadline is less)


def _more(fd: int, size: int) -> bytes:
    chunk = os.read(fd, size)
    if not chunk:
        raise EOFError("the pipe closed mid-message")
    return chunk


@dataclass
class _Worker:
    process: BaseProcess
    jobs: int  # the server's end of the pipe the worker reads jobs from
    answers: int  # the server's end of the pipe the worker writes outcomes to
    ready: select.poll = field(default_factory=select.poll)

    def __post_init__(self) -> None:
        self.ready.register(self.answers, select.POLLIN | select.POLLHUP)

    def close(self) -> None:
        for fd in (self.jobs, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass


#: A job that took longer than this may have left a large heap behind: give it back.
TRIM_AFTER = 0.05


def heap_trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``, or a no-op where there is none.

    A large query makes Oxigraph (and Python) allocate hundreds of megabytes that
    glibc keeps after they are freed; in a long-lived worker that memory would stay
    counted against the server until the next large query. Trimming after a long job
    returns it to the system.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_STOP = None  # sent to a worker to end it: workers forked later hold copies of earlier
# workers' pipe ends, so closing the pipe alone would not reach the worker.


def _serve(
    work: Callable[[Job], Outcome], jobs: int, answers: int, server_ends: tuple[int, int]
) -> None:
    """The worker's loop: receive a job, send back its outcome, until told to stop."""
    for fd in server_ends:
        os.close(fd)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.disable()  # a crash is reported to the parent by the exit code
    trim = heap_trimmer()
    while True:
        try:
            job = _receive(jobs)
        except (EOFError, OSError):
            return
        if job is _STOP:
            return
        start = time.monotonic()
        _send(answers, work(job))
        if time.monotonic() - start > TRIM_AFTER:  # after the answer left: off its path
            trim()


class Executor(Generic[Job, Outcome]):
    """A pool of ``size`` forked workers that run ``work(job)`` under a deadline.

    ``work`` must catch its own exceptions and return them as part of the outcome:
    an exception that escapes it ends the worker, which is reported as
    :class:`WorkerDied`.

    ``spare`` more workers take jobs only while every running job has run for ``stall``
    seconds or more, and only jobs of an owner (a client) none of them belongs to: one
    client's long query does not hold up other clients' short ones, yet short queries
    never run more at once than ``size`` (more jobs at once than cores cost CPU per
    job, see ``Settings.query_worker_count``), and a client that sends long queries
    back to back gets them run one after another, not each at half speed past its
    deadline (measured at 1M triples, where spares without the owner rule sent answers
    past their deadline).
    """

    def __init__(
        self,
        work: Callable[[Job], Outcome],
        size: int,
        *,
        wait: float = 30.0,
        spare: int = 0,
        stall: float = 0.5,
    ) -> None:
        if size < 1:
            raise ValueError("an executor needs at least one worker")
        self._work = work
        self._size = size
        self._spare = spare
        self._stall = stall
        self._wait = wait
        self._ctx = multiprocessing.get_context("fork")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a job started or ended
        self._idle: list[_Worker] = []
        self._running: dict[object, tuple[float, object]] = {}  # reservation -> (began, owner)
        self._waiting: deque[object] = deque()  # threads waiting for a worker, oldest first
        self._pid = -1
        self.started = 0  # workers started, replacements included: for tests and /health

    def _spawn(self) -> _Worker:
        job_in, job_out = os.pipe()
        answer_in, answer_out = os.pipe()
        process = self._ctx.Process(
            target=_serve,
            args=(self._work, job_in, answer_out, (job_out, answer_in)),
            daemon=True,
        )
        try:
            process.start()
        finally:
            os.close(job_in)
            os.close(answer_out)
        self.started += 1
        return _Worker(process, job_out, answer_in)

    def _own(self) -> None:
        """First use in this process (or after a fork): nothing inherited is ours."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._idle = []
            self._running = {}
            self._waiting = deque()

    def _reserve(self, wait: float, owner: object) -> object:
        """A place to run a job: one of ``size``, or a spare while every job runs long
        and none is ``owner``'s (``None``: an owner unknown, never among them).

        The ``size`` places go first come, first served: a thread that has just ended a
        job and comes back with the next one does not take the place from a thread that
        was waiting for it. Without that order, at 1M triples one of a process's two
        threads was passed over job after job until its wait ran out: one request in a
        few hundred answered 503 Busy after 10 s (``bench/run --scale 1M``), and two
        threads sending 0.3 s jobs to one worker for 20 s ran 67 and 2."""
        until = time.monotonic() + wait
        with self._changed:
            self._own()
            me = object()
            self._waiting.append(me)
            try:
                while True:
                    now = time.monotonic()
                    busy = len(self._running)
                    jobs = self._running.values()
                    spare = self._size <= busy < self._size + self._spare and (
                        owner is None or all(other != owner for _, other in jobs)
                    )
                    stalled = all(now - began >= self._stall for began, _ in jobs)
                    if (busy < self._size and self._waiting[0] is me) or (spare and stalled):
                        token = object()
                        self._running[token] = (now, owner)
                        return token
                    left = until - now
                    if left <= 0:
                        raise Busy(f"no query worker became free within {wait:g} s")
                    if spare:  # a spare is free once all run long
                        youngest = max(began for began, _ in jobs)
                        left = min(left, max(youngest + self._stall - now, 0.001))
                    self._changed.wait(left)
            finally:
                self._waiting.remove(me)
                self._changed.notify_all()  # the next in line may go now

    def _release(self, token: object) -> None:
        with self._changed:
            self._running.pop(token, None)
            self._changed.notify_all()  # only the oldest waiter may take it: wake them all

    def _take(self, wait: float, owner: object) -> tuple[object, _Worker]:
        token = self._reserve(wait, owner)
        with self._lock:
            if self._idle:
                return token, self._idle.pop()
        try:
            return token, self._spawn()
        except BaseException:
            self._release(token)
            raise

    def _give_back(self, token: object, worker: _Worker | None) -> None:
        with self._lock:
            if worker is not None and self._pid == os.getpid():
                self._idle.append(worker)
        self._release(token)

    @staticmethod
    def _kill(worker: _Worker) -> int | None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.close()
        return worker.process.exitcode

    def run(self, job: Job, deadline: float, owner: object = None) -> Outcome:
        """``work(job)`` in a worker, for ``owner``; :class:`Overrun` once it has run for
        ``deadline`` seconds, :class:`Busy` if no worker was free within ``wait`` or
        ``deadline`` seconds, whichever is shorter.

        The deadline counts from when the job starts, as Fuseki's and Virtuoso's query
        timeouts do: a query queued behind another gets the whole time it asked for,
        and one that cannot start is told so, not that it ran out of time. (Counted from
        this call, a 6 s CONSTRUCT at 1M triples queued behind another had 4 s of its
        10 left.) The thread is held at most for the two added up."""
        # Pickled before a worker is taken: a job that cannot be (an error of the caller's)
        # raises here, and no worker is left reserved with nothing sent to it.
        message = _encode(job)
        token, worker = self._take(min(self._wait, deadline), owner)
        keep: _Worker | None = None
        try:
            try:
                _write(worker.jobs, message)
                if not worker.ready.poll(min(max(deadline, 0.0) * 1000, _LONGEST_POLL)):
                    self._kill(worker)
                    raise Overrun(deadline)
                outcome: Outcome = _receive(worker.answers)
            except (EOFError, OSError):
                raise WorkerDied(self._kill(worker)) from None
            keep = worker
            return outcome
        finally:
            self._give_back(token, keep)

    def close(self) -> None:
        """Stop every idle worker (busy ones end when their pipe closes)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            try:
                _send(worker.jobs, _STOP)
            except OSError:
                pass
            worker.process.join(timeout=1)
            self._kill(worker)
