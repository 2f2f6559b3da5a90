#!/usr/bin/env python3
"""The floor: the fastest a Python server can answer under eusdp's Granian settings.

``python bench/floor.py --app wsgi|flask --port P`` serves a bare WSGI "hello" or a bare
Flask "hello" with exactly the Granian options ``eusdp serve`` uses
(:func:`eusdp.serve.granian_options`: same workers, threads, keep-alive and access log).
``bench/run`` starts both beside eusdp and reports how close eusdp's answers come to them:
no query engine can make a request cheaper than these.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from typing import Any

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=("wsgi", "flask"), default="wsgi")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    settings = load_settings(dict(os.environ), port=args.port, host="127.0.0.1")
    app = wsgi_hello if args.app == "wsgi" else flask_hello()
    run_app(app, granian_options(settings), thread_stack_bytes(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
