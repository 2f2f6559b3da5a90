"""Run the web app under gunicorn, a production WSGI server (never Flask's dev server).

The store is built once, in the master, before the workers fork (``preload_app``):
workers share its memory copy-on-write instead of each parsing the data and
running inference again. Each worker answers with ``gthread`` threads, so one
slow query does not hold up the others.

Request threads get a large stack (:func:`thread_stack_bytes`): Oxigraph parses
and evaluates queries recursively, and a long chain of operators (``1+1+...``,
``{} UNION {} ...``) overflows the default 8 MB and kills the worker with a
segmentation fault, which no ``try`` can catch. The stack is virtual memory,
committed only as deep as it is used.

Run it as ``eusdp serve`` (the CLI) or ``python -m eusdp.serve`` (settings from
``EUSDP_*`` environment variables).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .config import Settings, load_settings
from .loader import DataError
from .store import build_store
from .validation import InvalidData, check_store

#: The least stack a request thread gets.
MIN_THREAD_STACK = 256 * 1024 * 1024


def thread_stack_bytes(settings: Settings) -> int:
    """A stack deep enough for the largest accepted query (about 6 KiB per byte of query)."""
    wanted = max(MIN_THREAD_STACK, settings.max_query_bytes * 6 * 1024)
    return -(-wanted // 65536) * 65536  # a multiple of the page size on every platform


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings from ours. The request line limit is gunicorn's maximum, so GET
    queries up to about 8 KB work; longer ones must be POSTed (as the Protocol suggests)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return {
        "bind": [f"{host}:{settings.port}"],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": "gthread",
        "preload_app": True,
        "keepalive": 5,
        "timeout": 120,
        "graceful_timeout": 10,
        "limit_request_line": 8190,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "eusdp",
        # gunicorn >= 24 opens a control socket under $HOME by default; we do not need one.
        "control_socket_disable": True,
    }


class _Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's programmatic entry: options from a dict, the app already built."""

    def __init__(self, app: Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def serve(settings: Settings, *, app: Flask | None = None) -> None:
    """Serve until stopped (SIGINT/SIGTERM). Builds the store now, in this (master) process."""
    from .web import create_app

    threading.stack_size(thread_stack_bytes(settings))
    if app is None:
        # Refuse invalid data before binding the port: never serve half a graph.
        store = build_store(settings)
        check_store(store)
        app = create_app(settings, store)
    _Server(app, gunicorn_options(settings)).run()


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
