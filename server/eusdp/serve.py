"""Run the web app under Granian, a production HTTP server (never Flask's dev server).

Why Granian and not gunicorn: the HTTP work (parsing, keep-alive, writing) is done
in Rust, outside the GIL. Under the same two cores a bare Flask "hello" answers
~17,000 req/s under Granian against ~5,000 under gunicorn's gthread workers
(``bench/floor.py``), and a cached canned answer costs little more than that hello:
the server, not the query, was the ceiling.

The store is built once, in the main process, before the workers fork (the
``fork`` start method and a loader that hands over the app already built):
workers share its memory copy-on-write instead of each parsing the data and
running inference again, and bad data is refused before a port is bound.

Request threads get a large stack (:func:`thread_stack_bytes`, passed to
Granian's Rust threads as ``RUST_MIN_STACK``): Oxigraph parses and evaluates
queries recursively, and a long chain of operators (``1+1+...``, ``{} UNION {}
...``) overflows the default 2 MB and kills the process with a segmentation
fault, which no ``try`` can catch. Query workers are forked from request threads,
so they inherit the same stack. The stack is virtual memory, committed only as
deep as it is used.

Run it as ``eusdp serve`` (the CLI) or ``python -m eusdp.serve`` (settings from
``EUSDP_*`` environment variables).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flask import Flask

from .baton import Baton, passing
from .building import build_in_child
from .config import Settings, load_settings
from .loader import DataError
from .validation import InvalidData

log = logging.getLogger("eusdp.serve")

#: The least stack a request thread gets.
MIN_THREAD_STACK = 256 * 1024 * 1024

#: How long a stopping worker may take to finish the requests it holds.
KILL_TIMEOUT = 10


def thread_stack_bytes(settings: Settings) -> int:
    """A stack deep enough for the largest accepted query (about 6 KiB per byte of query)."""
    wanted = max(MIN_THREAD_STACK, settings.max_query_bytes * 6 * 1024)
    return -(-wanted // 65536) * 65536  # a multiple of the page size on every platform


def granian_options(settings: Settings) -> dict[str, Any]:
    """Granian's settings from ours.

    ``blocking_threads`` is the number of threads running Python per worker (our
    ``threads``); ``backpressure`` caps the requests a worker accepts at once, so
    that a burst waits in the kernel's backlog instead of piling up in Python.
    A worker that dies is started again; a stopping one gets ``KILL_TIMEOUT`` s.
    Granian's single-threaded runtime (``st``, one I/O thread per worker; for WSGI it
    would pick ``mt``): with ``threads=1`` at 1x it gave cached answers 60,233 against
    51,244 req/s and a p99 of 0.3-0.6 against 0.5-0.6 ms. The Python thread does the
    work; more I/O threads would only compete with it for the cores. With
    ``threads=2`` the two measured alike (cached answers 44-56k req/s either way, p99
    1.3-1.5 ms on ``mt`` against 1.0-1.7 ms on ``st``; ad-hoc the same), so ``st`` stays.
    """
    from granian.constants import HTTPModes, Interfaces, RuntimeModes
    from granian.http import HTTP1Settings

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.WSGI,
        "workers": settings.worker_count,
        "blocking_threads": settings.threads,
        "runtime_mode": RuntimeModes.st,
        "backpressure": max(settings.threads * 4, 16),
        "http": HTTPModes.http1,
        "http1_settings": HTTP1Settings(keep_alive=True),
        "websockets": False,
        "log_access": settings.access_log,
        "respawn_failed_workers": True,
        "workers_kill_timeout": KILL_TIMEOUT,
    }


#: Names of a WSGI environ that only a request may set: its headers and body's.
_REQUEST_NAMES = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH")

WSGICallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_process_headers(
    app: WSGICallable, environment: Mapping[str, str] | None = None
) -> WSGICallable:
    """``app``, shown only the headers a request sent, not the server's own environment.

    Granian starts every WSGI environ as a copy of the process's environment (as CGI
    did), before the request's names: a server started with ``HTTP_PROXY`` set would
    show every request a ``Proxy`` header it never sent (the "httpoxy" confusion,
    turned around), and the response cache, which serves only requests without unknown
    headers, would serve none. Such names are taken out of each environ when they hold
    the process's value (a request that sent the same header with the same value loses
    it: only the header's name tells the two apart, and it is the same). Without such
    names in the environment (nearly always) ``app`` itself is returned: nothing added
    to a request."""
    source = os.environ if environment is None else environment
    posing = {name: value for name, value in source.items() if name.startswith(_REQUEST_NAMES)}
    if not posing:
        return app
    log.warning(
        "the server's environment has %s, which the HTTP server would pass to every request "
        "as if the client had sent it: taken out of each request",
        ", ".join(sorted(posing)),
    )
    pairs = tuple(posing.items())

    def stripped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        for name, value in pairs:
            if environ.get(name) == value:
                del environ[name]
        return app(environ, start_response)

    return stripped


def bench_spare_threads(baton: Baton) -> bool:
    """Make Granian's WSGI workers pass ``baton`` around each request (see
    :mod:`eusdp.baton`); False, and a warning, where this Granian has no place for it.

    Granian wraps the app in a per-request callable (``granian.wsgi._callback_wrapper``,
    looked up as ``granian.server.mp._wsgi_call_wrap`` when a worker process starts: it
    calls the app, then hands the response to the HTTP side); the baton goes around that
    callable, so a thread that waits on the bench does so after its response has left.
    That wrapper is Granian's own, not public API: a test (``tests/web/test_baton.py``)
    checks that the installed Granian's worker looks it up there and sends the response
    before the baton's ``finish``, and fails if an upgrade moves it, rather than let the
    threads go back to taking turns unnoticed. (The server's own counters, in a 2x2
    server under wrk, showed one request per process ending on the second thread, which
    then stayed on the bench.)"""
    try:
        from granian.server import mp as workers
    except ImportError:
        workers = None  # type: ignore[assignment]
    original = getattr(workers, "_wsgi_call_wrap", None)
    if original is None:
        log.warning("this Granian has no per-request wrapper to hook: request threads take turns")
        return False
    if getattr(original, "eusdp_baton", None) is not None:  # hooked already (tests, reruns)
        original = original.eusdp_baton

    def wrap(callback: WSGICallable, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return passing(baton, original(callback, *args, **kwargs))

    wrap.eusdp_baton = original  # type: ignore[attr-defined]
    workers._wsgi_call_wrap = wrap  # type: ignore[attr-defined]
    return True


def run_app(app: WSGICallable, options: dict[str, Any], stack_bytes: int) -> None:
    """Serve a WSGI app already built in this process until SIGINT/SIGTERM."""
    from granian.server import Server

    # Read by Rust when the worker starts its threads; workers inherit it by fork.
    os.environ["RUST_MIN_STACK"] = str(stack_bytes)
    threading.stack_size(stack_bytes)
    # Workers must be forks of this process (they inherit the built app); Python 3.14
    # makes forkserver the default, which Granian would turn into spawn.
    multiprocessing.set_start_method("fork", force=True)
    # Everything built so far (the graphs above all) lives as long as the process: move
    # it out of the garbage collector's sight, whose passes would otherwise write to
    # every object's header and so un-share, page by page, what the workers inherit.
    # The young generations only: a full pass took 17 ms of a 0.28 s start, to find 35
    # objects; what garbage the old generation holds is frozen with the rest.
    gc.collect(1)
    gc.freeze()
    if options.get("blocking_threads", 1) > 1:
        bench_spare_threads(Baton())
    served = without_process_headers(app)
    server = Server("eusdp:app", **options)
    server.serve(target_loader=lambda _target: served)


def _log_to_stderr() -> None:
    """The server's own messages (priming, rebuilds, failures) on stderr, beside Granian's."""
    logger = logging.getLogger("eusdp")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def serve(settings: Settings, *, app: Flask | None = None) -> None:
    """Serve until stopped (SIGINT/SIGTERM). Builds the store now, in this (main) process."""
    from .web import create_app

    _log_to_stderr()
    if app is None:
        # Refuse invalid data before binding the port: never serve half a graph. Built in a
        # child process, so that this one (and every worker it forks) holds only the store.
        app = create_app(settings, build_in_child(settings, check=True))
    if settings.prime_seconds > 0:
        from .web.queries import prime

        began = time.monotonic()
        primed = prime(app, settings.prime_seconds)
        log.info("primed %d canned queries in %.2f s", len(primed), time.monotonic() - began)
    run_app(app, granian_options(settings), thread_stack_bytes(settings))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eusdp.serve``: settings from the environment (``EUSDP_*``) only."""
    if argv if argv is not None else sys.argv[1:]:
        print("usage: python -m eusdp.serve  (configure with EUSDP_* variables)", file=sys.stderr)
        return 2
    try:
        serve(load_settings(os.environ))
    except DataError as exc:
        print(f"eusdp: {exc}", file=sys.stderr)
        return 1
    except InvalidData as exc:
        print("eusdp: the data is invalid; not serving it:", file=sys.stderr)
        print("\n".join(exc.report.lines()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
