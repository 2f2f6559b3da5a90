"""Work under a deadline really stops, and the pool goes on answering afterwards."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time

import pytest

from eusdp.executor import Busy, Executor, Overrun, WorkerDied, _receive, _send


def work(job: tuple[str, float]) -> str:
    kind, value = job
    if kind == "sleep":
        time.sleep(value)
        return "slept"
    if kind == "spin":
        while True:  # a busy loop never reaches a point where Python could be interrupted
            pass
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "pid":
        return str(os.getpid())
    if kind == "big":  # larger than a pipe holds: read in many pieces
        return "".join(chr(ord("a") + i % 26) for i in range(int(value)))
    if kind == "span":  # when it ran, on the clock every process shares
        began = time.monotonic()
        time.sleep(value)
        return f"{began} {time.monotonic()}"
    return f"echo {value}"


def _occupy(executor: Executor[tuple[str, float], str], seconds: float) -> threading.Thread:
    """A thread running a ``seconds`` job on ``executor``, already started (and given
    0.05 s to take its worker)."""
    blocker = threading.Thread(target=lambda: executor.run(("sleep", seconds), deadline=5))
    blocker.start()
    time.sleep(0.05)
    return blocker


@pytest.fixture()
def pool() -> Executor[tuple[str, float], str]:
    executor: Executor[tuple[str, float], str] = Executor(work, size=2, wait=5)
    yield executor
    executor.close()


def test_answers_within_the_deadline(pool: Executor[tuple[str, float], str]) -> None:
    assert pool.run(("echo", 1), deadline=5) == "echo 1"


def test_answers_larger_than_a_pipe_arrive_whole(
    pool: Executor[tuple[str, float], str],
) -> None:
    for size in (0, 65_535, 65_536, 3_000_001):
        answer = pool.run(("big", size), deadline=10)
        assert len(answer) == size
        assert answer[:3] == "abc"[: min(size, 3)] and answer.endswith(
            chr(ord("a") + (size - 1) % 26) if size else ""
        )


def test_a_message_cut_short_is_the_end_of_the_pipe_not_a_short_message() -> None:
    read, write = os.pipe()
    try:
        _send(write, "x" * 100)
        assert _receive(read) == "x" * 100
        os.write(write, (1000).to_bytes(8, "big") + b"only part")
        os.close(write)
        with pytest.raises(EOFError):
            _receive(read)
    finally:
        os.close(read)


def test_overrun_is_stopped_within_the_deadline_and_the_next_job_runs(
    pool: Executor[tuple[str, float], str],
) -> None:
    start = time.monotonic()
    with pytest.raises(Overrun):
        pool.run(("spin", 0), deadline=0.5)
    assert time.monotonic() - start < 1.5
    assert pool.run(("echo", 2), deadline=5) == "echo 2"


def test_killed_worker_is_replaced_not_reused() -> None:
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, wait=5)
    try:
        first = int(executor.run(("pid", 0), deadline=5))
        assert int(executor.run(("pid", 0), deadline=5)) == first  # a live worker is reused
        with pytest.raises(Overrun):
            executor.run(("sleep", 10), deadline=0.3)
        second = int(executor.run(("pid", 0), deadline=5))
        assert second != first
        with pytest.raises(ProcessLookupError):  # the overrunning worker is gone
            os.kill(first, 0)
        assert executor.started == 2
    finally:
        executor.close()


def test_a_crash_is_reported_and_contained(pool: Executor[tuple[str, float], str]) -> None:
    with pytest.raises(WorkerDied) as err:
        pool.run(("crash", 0), deadline=5)
    assert err.value.exitcode == -signal.SIGSEGV
    assert pool.run(("echo", 3), deadline=5) == "echo 3"


def test_parallel_jobs_use_separate_workers(pool: Executor[tuple[str, float], str]) -> None:
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(pool.run(("sleep", 0.4), deadline=5)))
        for _ in range(2)
    ]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["slept", "slept"]
    assert time.monotonic() - start < 0.75  # two at once, not one after the other


def test_the_deadline_counts_from_when_the_job_starts() -> None:
    """A job that queued 0.6 s behind another still has its whole 1 s: a 0.7 s job
    answers (counted from the call, it would have had 0.4 s), and one that overruns is
    stopped 1 s after it started, not after it was asked."""
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, wait=5)
    try:
        blocker = _occupy(executor, 0.6)
        start = time.monotonic()
        assert executor.run(("sleep", 0.7), deadline=1.0) == "slept"
        assert time.monotonic() - start >= 1.2  # it did wait for the first
        blocker.join()
        blocker = _occupy(executor, 0.6)
        start = time.monotonic()
        with pytest.raises(Overrun):
            executor.run(("sleep", 10), deadline=1.0)
        assert 1.4 <= time.monotonic() - start < 2.5  # ~0.55 s of wait + 1 s of run
        blocker.join()
    finally:
        executor.close()


def test_the_wait_for_a_worker_is_bounded_by_the_deadline_too() -> None:
    """A job that cannot start within its deadline is Busy (it never ran), and its thread
    was held no longer than that."""
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, wait=30)
    try:
        blocker = _occupy(executor, 1.5)
        start = time.monotonic()
        with pytest.raises(Busy):
            executor.run(("echo", 1), deadline=0.5)
        assert time.monotonic() - start < 1.0
        blocker.join()
    finally:
        executor.close()


def test_busy_when_every_worker_is_taken() -> None:
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, wait=0.2)
    try:
        blocker = threading.Thread(target=lambda: executor.run(("sleep", 0.8), deadline=5))
        blocker.start()
        time.sleep(0.2)
        with pytest.raises(Busy):
            executor.run(("echo", 4), deadline=5)
        blocker.join()
        assert executor.run(("echo", 5), deadline=5) == "echo 5"
    finally:
        executor.close()


def test_threads_waiting_for_a_worker_get_it_in_turn() -> None:
    # Two threads send jobs back to back to one worker, as a server process's two threads
    # do under load. A thread that has just ended a job must not take the worker again
    # ahead of the one that waited: before the queue, the first thread ran all its 15
    # jobs (1.5 s) while the other waited until Busy; in turn, each waits one job.
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, wait=1.0)
    done = {0: 0, 1: 0}
    refused: list[int] = []

    def send(thread: int) -> None:
        for _ in range(15):
            try:
                executor.run(("sleep", 0.1), deadline=5)
                done[thread] += 1
            except Busy:
                refused.append(thread)

    try:
        threads = [threading.Thread(target=send, args=(k,)) for k in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        executor.close()
    assert refused == [] and done == {0: 15, 1: 15}


def test_a_spare_worker_takes_short_jobs_while_a_long_one_runs() -> None:
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, spare=1, stall=0.3)
    try:
        long: list[str] = []
        blocker = threading.Thread(target=lambda: long.append(executor.run(("span", 2.0), 5)))
        blocker.start()
        time.sleep(0.5)  # the long job has now run past the stall time
        short = executor.run(("span", 0.05), deadline=5)
        blocker.join()
        assert float(short.split()[1]) < float(long[0].split()[1])  # done before the long one
    finally:
        executor.close()


def test_the_spare_is_not_for_the_owner_of_the_long_job() -> None:
    """A client whose long query runs waits for it with its next one; another client's
    job takes the spare meanwhile."""
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, spare=1, stall=0.3)
    try:
        long: list[str] = []
        blocker = threading.Thread(
            target=lambda: long.append(executor.run(("span", 1.5), 5, owner="alice"))
        )
        blocker.start()
        time.sleep(0.5)  # the long job has now run past the stall time
        hers = executor.run(("span", 0.05), deadline=5, owner="alice")
        blocker.join()
        assert float(hers.split()[0]) >= float(long[0].split()[1])  # began after it ended
        blocker = threading.Thread(
            target=lambda: long.append(executor.run(("span", 1.5), 5, owner="alice"))
        )
        blocker.start()
        time.sleep(0.5)
        his = executor.run(("span", 0.05), deadline=5, owner="bob")
        blocker.join()
        assert float(his.split()[1]) < float(long[1].split()[1])  # done before hers
    finally:
        executor.close()


def test_short_jobs_do_not_spill_onto_the_spare() -> None:
    """Jobs shorter than the stall time run one at a time on the one worker: no more at
    once than ``size``, so no more than the cores."""
    executor: Executor[tuple[str, float], str] = Executor(work, size=1, spare=1, stall=5.0)
    try:
        spans = _spans_in_parallel([executor, executor])
        (_, first_end), (second_start, _) = spans
        assert second_start >= first_end
    finally:
        executor.close()


def _spans_in_parallel(pools: list[Executor[tuple[str, float], str]]) -> list[tuple[float, float]]:
    """Run one 0.3 s job in each pool at once; when each ran."""
    out: list[str] = []
    threads = [
        threading.Thread(target=lambda p=p: out.append(p.run(("span", 0.3), deadline=5)))
        for p in pools
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted((float(a), float(b)) for a, b in (line.split() for line in out))


def test_a_job_that_cannot_be_pickled_is_refused_without_losing_a_worker() -> None:
    """Before, the worker taken for it was neither given back nor stopped: the next job
    started another, and the first stayed behind for good, idle and untracked."""
    executor: Executor[object, str] = Executor(work, size=1, wait=0.5)  # type: ignore[arg-type]
    try:
        first = executor.run(("pid", 0), deadline=5)
        processes = len(multiprocessing.active_children())
        with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
            executor.run(("echo", lambda: None), deadline=5)
        assert executor.run(("pid", 0), deadline=5) == first  # the same worker, given back
        assert len(multiprocessing.active_children()) == processes
    finally:
        executor.close()
