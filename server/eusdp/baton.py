"""One request thread of a server process serves; the others wait until it is stuck.

Granian runs a WSGI app on a pool of threads per process (``threads``) and wakes
an idle one for every request that arrives while another runs. With two threads
and a steady stream of short requests they take turns: each request hands the GIL
from one thread to the other, a wake-up and a context switch every time. One
thread alone does none of that, and measured so (1x, wrk -c8, two processes,
3x5 s interleaved with Oxigraph's server): cached canned answers p99 0.45-1.06 ms
against 0.76-2.06 ms with two threads, new queries 0.87x Oxigraph's req/s against
0.75-0.80x. But one thread alone would let one client's long query (waiting for a
query worker, a slow upload, a remote SERVICE) hold up every other client of that
process.

The baton keeps both. The thread holding it serves; a thread that finishes a
request while the holder is busy with one of its own gives its place up: it waits
here, on the bench, instead of going back to Granian for more (its response is
already on its way: Granian sends it before the app's callable returns, see
:func:`eusdp.serve.run_app`). So under load one thread answers request after
request, as if it were alone. When the holder has been on one request for
:data:`STUCK` seconds, a benched thread takes the baton and goes back to serving
the others; the slow request finishes when it finishes, and its thread then waits
on the bench in turn (or takes the baton if nobody holds it busy).

The bench is a timed wait, not a signal: a benched thread looks again when the
holder's current request would become stuck, so nothing has to remember to wake
it, and a holder whose thread Granian retired (idle for its timeout) never holds
the others back. A thread Granian starts while every other one is busy or benched
serves its request and then joins the rules like any other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

#: How long the holder may spend on one request before a benched thread takes over.
#: Far above any request at 1x (cached answers take ~0.02 ms, new queries ~0.1 ms) and
#: most at 100k; far below what a person notices. Also how late, at most, a benched
#: thread sees that it is needed.
STUCK = 0.010


class Baton:
    """Which request thread of this process serves (see the module's docstring)."""

    def __init__(self, stuck: float = STUCK) -> None:
        self.stuck = stuck
        self._lock = threading.Lock()
        self._holder: int | None = None  # thread ident
        self._since: float | None = None  # when the holder's current request began; None: idle
        self.benched = 0  # threads waiting now (for tests and the log)
        self.handovers = 0  # times a benched thread took over from a stuck holder

    def start(self) -> None:
        """A request begins in this thread."""
        me = threading.get_ident()
        with self._lock:
            if self._holder is None or (self._since is None and self._holder != me):
                self._holder = me  # nobody serving: this thread is now
            if self._holder == me:
                self._since = time.monotonic()

    def finish(self) -> None:
        """This thread's request is answered: go on serving, or wait on the bench while
        the holder is busy and not stuck."""
        me = threading.get_ident()
        with self._lock:
            if self._holder == me:
                self._since = None
                return
            pause = self._pause()
            if pause <= 0:
                self._take(me)
                return
            self.benched += 1
        try:
            while pause > 0:
                time.sleep(pause)
                with self._lock:
                    pause = self._pause()
                    if pause <= 0:
                        self._take(me)
        finally:
            with self._lock:
                self.benched -= 1

    def _pause(self) -> float:
        """How long a thread off the baton still waits (0: take it now). Under the lock."""
        if self._holder is None or self._since is None:
            return 0.0
        return self._since + self.stuck - time.monotonic()

    def _take(self, me: int) -> None:
        """Under the lock: this thread holds the baton, idle."""
        if self._since is not None:
            self.handovers += 1  # the holder is stuck in a request
        self._holder = me
        self._since = None


def passing(baton: Baton, runner: Callable[..., Any]) -> Callable[..., Any]:
    """Granian's per-request callable (``runner(protocol, scope)``, which calls the WSGI
    app and hands the response to Granian) with the baton taken around it."""

    def run(protocol: Any, scope: Any) -> Any:
        baton.start()
        try:
            return runner(protocol, scope)
        finally:
            baton.finish()

    return run
