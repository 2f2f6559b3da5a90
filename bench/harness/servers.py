"""How each server is started, told ready, and asked each workload.

All listen on 127.0.0.1 on a free port and serve the same closed graph (asserted +
inferred): eusdp from its data folder (its default graph is the union), Oxigraph and
rdflib-endpoint from the N-Triples export of that graph, loaded into their default graph.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .loadgen import Request
from .workloads import Workload

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"

#: eusdp settings for the benchmark: answers are never cut, so every server returns the
#: same rows at every scale (the deployed defaults would cut the export-sized CONSTRUCTs).
EUSDP_ENV = {"EUSDP_MAX_ROWS": "1000000000", "EUSDP_MAX_RESPONSE_BYTES": "4000000000"}


@dataclass
class Context:
    """Where one scale's inputs are: the data folder, the closed graph, caches and logs."""

    scale: str
    data_dir: Path
    cache_dir: Path
    closed_nt: Path
    oxigraph_dir: Path
    work: Path
    peers_bin: Path
    #: Where eusdp keeps its store on disk (``serve --store-dir``); None: in memory.
    store_dir: Path | None = None
    startup_timeout: float = 600.0
    #: eusdp settings other than its defaults (``EUSDP_*`` variables), from ``--eusdp-setting``.
    eusdp_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Running:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    start_s: float
    log: Path
    rss_start_mb: float = 0.0
    info: dict[str, object] = field(default_factory=dict)


def _sparql_path(route: str, text: str) -> str:
    return f"{route}?query={urllib.parse.quote(text, safe='')}"


class Server:
    name = ""
    #: Which servers' results the row check compares (the floor answers no query).
    answers_queries = True

    def argv(self, ctx: Context, port: int) -> list[str]:
        raise NotImplementedError

    def env(self, ctx: Context) -> dict[str, str]:
        return dict(os.environ)

    def ready_url(self, port: int) -> str:
        raise NotImplementedError

    def request(self, workload: Workload) -> Request:
        raise NotImplementedError

    def start(self, ctx: Context) -> Running:
        port = procs.free_port()
        log = ctx.work / f"{self.name}.log"
        began = time.monotonic()
        proc = procs.start(self.argv(ctx, port), log=log, env=self.env(ctx), cwd=ROOT)
        try:
            procs.wait_ready(self.ready_url(port), proc, ctx.startup_timeout)
            self.wait_all_workers(ctx, proc)
        except BaseException:
            procs.stop(proc)
            raise
        running = Running(self.name, port, proc, round(time.monotonic() - began, 3), log)
        running.rss_start_mb = procs.memory_mb(proc.pid)
        return running

    def wait_all_workers(self, ctx: Context, proc: subprocess.Popen[bytes]) -> None:
        """Servers whose workers load the graph each on their own wait here for all of them."""


class Eusdp(Server):
    name = "eusdp"

    def argv(self, ctx: Context, port: int) -> list[str]:
        argv = [sys.executable, "-m", "eusdp", "serve", "--port", str(port), "--host",
                "127.0.0.1", "--data-dir", str(ctx.data_dir), "--cache-dir", str(ctx.cache_dir)]
        if ctx.store_dir is not None:
            argv += ["--store-dir", str(ctx.store_dir)]
        return argv

    def env(self, ctx: Context) -> dict[str, str]:
        return {**os.environ, **EUSDP_ENV, **ctx.eusdp_env}

    def ready_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/health"

    def request(self, workload: Workload) -> Request:
        if workload.kind == "canned":
            return Request(f"/queries/{workload.canned}", JSON)
        if workload.kind == "export":
            return Request("/data?format=nt", NTRIPLES)
        accept = JSON if workload.kind == "select" else NTRIPLES
        return Request(_sparql_path("/sparql", workload.text), accept)


class Oxigraph(Server):
    name = "oxigraph"

    def argv(self, ctx: Context, port: int) -> list[str]:
        return [str(ctx.peers_bin / "oxigraph"), "serve-read-only", "--location",
                str(ctx.oxigraph_dir), "--bind", f"127.0.0.1:{port}"]

    def ready_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/query?query=ASK%7B%7D"

    def request(self, workload: Workload) -> Request:
        if workload.kind == "export":
            return Request("/store?default", NTRIPLES)
        accept = NTRIPLES if workload.kind == "graph" else JSON
        return Request(_sparql_path("/query", workload.text), accept)


class RdflibEndpoint(Server):
    """rdflib-endpoint under uvicorn with 2 workers (as measured in the issue)."""

    name = "rdflib-endpoint"

    def argv(self, ctx: Context, port: int) -> list[str]:
        return [str(ctx.peers_bin / "python"), "-m", "uvicorn", "--factory", "--workers", "2",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--app-dir", str(BENCH / "harness"), "rdflib_app:make_app"]

    def env(self, ctx: Context) -> dict[str, str]:
        ready = ctx.work / "rdflib-ready"
        ready.mkdir(exist_ok=True)
        for old in ready.iterdir():
            old.unlink()
        return {**os.environ, "BENCH_RDF_FILE": str(ctx.closed_nt), "BENCH_READY_DIR": str(ready)}

    def ready_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D"

    def wait_all_workers(self, ctx: Context, proc: subprocess.Popen[bytes]) -> None:
        ready = ctx.work / "rdflib-ready"
        deadline = time.monotonic() + ctx.startup_timeout
        while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"rdflib-endpoint exited with {proc.returncode}")
            time.sleep(0.05)

    def request(self, workload: Workload) -> Request:
        accept = JSON if workload.kind in ("canned", "select") else NTRIPLES
        return Request(_sparql_path("/sparql", workload.text), accept)


class Floor(Server):
    """A bare hello under eusdp's Granian settings, or (``pyoxigraph``) the bare engine
    answering queries in process with nothing around it (bench/floor.py)."""

    answers_queries = False

    def __init__(self, app: str) -> None:
        self.app = app
        self.name = f"floor-{app}"

    @property
    def takes_queries(self) -> bool:
        """Timed on the ad-hoc workloads, not on a hello."""
        return self.app == "pyoxigraph"

    def argv(self, ctx: Context, port: int) -> list[str]:
        argv = [sys.executable, str(BENCH / "floor.py"), "--app", self.app, "--port", str(port)]
        return [*argv, "--data", str(ctx.closed_nt)] if self.takes_queries else argv

    def ready_url(self, port: int) -> str:
        if self.takes_queries:
            return f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D"
        return f"http://127.0.0.1:{port}/"

    def request(self, workload: Workload) -> Request:
        if self.takes_queries:
            return Request(_sparql_path("/sparql", workload.text), JSON)
        return Request("/", "text/plain")


PEERS = ("oxigraph", "rdflib-endpoint")
ALL = ("eusdp", *PEERS)


def make(name: str) -> Server:
    return {"eusdp": Eusdp, "oxigraph": Oxigraph, "rdflib-endpoint": RdflibEndpoint}[name]()
