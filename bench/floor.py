#!/usr/bin/env python3
"""The floor: the fastest a Python server can answer under eusdp's Granian settings.

``python bench/floor.py --app wsgi|flask --port P`` serves a bare WSGI "hello" or a bare
Flask "hello" with exactly the Granian options ``eusdp serve`` uses
(:func:`eusdp.serve.granian_options`: same workers, threads, keep-alive and access log).
``bench/run`` starts both beside eusdp and reports how close eusdp's answers come to them:
no query engine can make a request cheaper than these.

``--app pyoxigraph --data closed.nt`` is the floor for a query nobody has asked before: the
graph in a pyoxigraph store in memory, and ``GET /sparql?query=...`` answered in JSON by
``store.query(text).serialize()`` on the thread that took the request. Nothing else: no
deadline (a query runs as long as it runs, in the server process), no isolation (an engine
crash takes the process), no checks, negotiation, limits or caches. ``bench/run`` times it
on the ad-hoc workloads, so the price of what eusdp adds to a query is measured in every
run rather than estimated.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from eusdp.config import load_settings
from eusdp.serve import granian_options, run_app, thread_stack_bytes

HELLO = b"hello\n"

StartResponse = Callable[..., Any]


def wsgi_hello(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def flask_hello() -> Any:
    from flask import Flask

    app = Flask("floor")

    @app.get("/")
    def hello() -> tuple[bytes, int, dict[str, str]]:
        return HELLO, 200, {"Content-Type": "text/plain"}

    return app


def pyoxigraph_app(data: Path) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES)
    results = ox.QueryResultsFormat.JSON

    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            text = parse_qs(environ.get("QUERY_STRING", ""))["query"][0]
            body = store.query(text).serialize(format=results) or b""
        except (KeyError, SyntaxError, AttributeError) as exc:  # no query, bad query, no table
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        start_response("200 OK", [("Content-Type", "application/sparql-results+json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=("wsgi", "flask", "pyoxigraph"), default="wsgi")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--data", type=Path, help="the N-Triples graph (--app pyoxigraph)")
    args = parser.parse_args()
    settings = load_settings(dict(os.environ), port=args.port, host="127.0.0.1")
    if args.app == "pyoxigraph":
        if args.data is None:
            parser.error("--app pyoxigraph needs --data")
        app = pyoxigraph_app(args.data)
    else:
        app = wsgi_hello if args.app == "wsgi" else flask_hello()
    run_app(app, granian_options(settings), thread_stack_bytes(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
