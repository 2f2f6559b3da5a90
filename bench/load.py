#!/usr/bin/env python3
"""``bench/load.py``: the real server under a bounded, mixed load (issue 5 §4). Not a test.

It starts ``eusdp serve`` on 127.0.0.1 (or drives one already running on the loopback,
``--url``), and for each concurrency level sends a mix for a bounded time: canned queries
(with and without parameters), ad-hoc queries (each text new), exports, pages, and a few
hostile requests (malformed SPARQL, a huge Accept, bad parameters, path traversal, unknown
routes, updates, an oversized query). It reports requests/s, p50/p99 latency, answers by
status, connection errors, and the server's memory (RSS summed over its process tree)
before and after; ``--soak S`` adds a run of S seconds at the highest level with memory
sampled every 10 s. Any 5xx, connection error or time-out is printed loudly and makes the
exit status 1.

    .venv/bin/python bench/load.py                          # 1, 8, 64 clients, 10 s each
    .venv/bin/python bench/load.py --concurrency 64 --seconds 30
    .venv/bin/python bench/load.py --soak 300 --json bench/results/load.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from harness import procs
from harness.loadgen import LoadResult, Request, run_python
from harness.workloads import ADHOC, CANNED, MARK_FLOOR

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
JSON = "application/sparql-results+json"
ID = "https://w3id.org/eusdp/id/"


def _sparql(text: str) -> str:
    return "/sparql?query=" + urllib.parse.quote(text, safe="")


def mix() -> list[tuple[str, Request]]:
    """The requests, one entry per share of the load (so the list's counts are the weights)."""
    canned = [("canned", Request(f"/queries/{name}", JSON)) for name in CANNED] * 6
    canned += [
        ("canned", Request("/queries/partners-by-area?area="
                           + urllib.parse.quote(ID + "area/critical-infrastructure"), JSON)),
        ("canned", Request("/queries/partnerships-in-year?year=2024", "text/csv")),
        ("canned", Request("/queries/partner-profile?country="
                           + urllib.parse.quote(ID + "country/norway"), "text/turtle")),
    ]
    adhoc = [("adhoc", Request(_sparql(text), JSON)) for text in ADHOC] * 4
    exports = [("export", Request("/data?format=nt", "application/n-triples")),
               ("export", Request("/data?format=ttl", "text/turtle"))]
    pages = [("page", Request(path, accept)) for path, accept in [
        ("/", "text/html"), ("/id/country/norway", "text/html"),
        ("/id/partnership/eu-japan", "text/turtle"), ("/queries", "application/json"),
        ("/ontology", "text/html"), ("/.well-known/void", "text/turtle"),
        ("/health", "application/json"), ("/graphs", "application/json"),
    ]] * 2
    hostile = [("hostile", r) for r in [
        Request(_sparql("SELECT * WHERE { ?s ?p "), JSON),                   # malformed
        Request(_sparql("SELEKT nothing"), JSON),
        Request("/sparql?query=" + "%28" * 3000, JSON),                      # too long a line
        Request("/sparql", JSON, "POST", (("Content-Type", "application/sparql-query"),),
                b"SELECT * WHERE { FILTER(" + b"(" * 5000 + b"1" + b")" * 5000 + b") }"),
        Request("/queries/partners-in-nato", ", ".join(["text/x-nothing;q=0.1"] * 300)),
        Request("/queries/partners-by-area?area=not%20an%20iri", JSON),     # bad parameter
        Request("/queries/partnerships-in-year?year=twenty", JSON),
        Request("/queries/partners-in-nato?format=nonsense", JSON),
        Request("/id/../../etc/passwd", "text/html"),                        # path traversal
        Request("/id/%2e%2e/%2e%2e/etc/passwd", "text/html"),
        Request("/no/such/route", "text/html"),
        Request("/queries/no-such-query", JSON),
        Request(_sparql("DELETE WHERE { ?s ?p ?o }"), JSON),                 # update
        Request("/sparql", JSON, "POST", (("Content-Type", "application/sparql-query"),),
                b"SELECT * WHERE { ?s ?p ?o } # " + b"x" * 200_000),         # oversized
        Request("/data", "text/turtle", "PUT", (("Content-Type", "text/turtle"),),
                b"<a> <b> <c> ."),                                            # a write
    ]]
    return canned + adhoc + exports + pages + hostile


def picker(entries: list[tuple[str, Request]], base: int) -> Any:
    def pick(n: int) -> Request:
        return entries[n % len(entries)][1].concrete(base + n)

    return pick


def start_server(port: int, work: Path) -> Any:
    env = {**os.environ, "EUSDP_CACHE_DIR": str(work / "cache")}
    proc = procs.start([sys.executable, "-m", "eusdp", "serve", "--host", "127.0.0.1",
                        "--port", str(port)], log=work / "server.log", env=env, cwd=ROOT)
    procs.wait_ready(f"http://127.0.0.1:{port}/health", proc, 300)
    return proc


def level(port: int, clients: int, seconds: float, pid: int | None) -> dict[str, Any]:
    before = procs.memory_mb(pid) if pid else None
    result: LoadResult = run_python(port, picker(mix(), MARK_FLOOR * (1 + int(time.time()))),
                                    connections=clients, seconds=seconds, timeout=60)
    after = procs.memory_mb(pid) if pid else None
    return {
        "concurrency": clients, "seconds": round(result.seconds, 2), "requests": result.requests,
        "rps": round(result.rps, 1), "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "errors_5xx": result.errors_5xx, "connection_errors": result.connect_errors,
        "read_errors": result.read_errors, "timeouts": result.timeouts,
        "rss_before_mb": before, "rss_after_mb": after,
    }


def soak(port: int, clients: int, seconds: float, pid: int | None) -> dict[str, Any]:
    """Load at ``clients`` for ``seconds`` in 10-second slices, memory read after each."""
    samples: list[dict[str, Any]] = []
    statuses: Counter[str] = Counter()
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        part = level(port, clients, min(10.0, seconds - (time.monotonic() - began)), pid)
        statuses.update(part["statuses"])
        samples.append({"t_s": round(time.monotonic() - began, 1), "rps": part["rps"],
                        "p99_ms": part["p99_ms"], "rss_mb": part["rss_after_mb"],
                        "errors_5xx": part["errors_5xx"],
                        "connection_errors": part["connection_errors"] + part["read_errors"]
                        + part["timeouts"]})
    rss = [s["rss_mb"] for s in samples if s["rss_mb"] is not None]
    half = rss[len(rss) // 2:] or rss
    return {
        "concurrency": clients, "seconds": round(time.monotonic() - began, 1),
        "samples": samples, "statuses": dict(statuses),
        "errors_5xx": sum(s["errors_5xx"] for s in samples),
        "connection_errors": sum(s["connection_errors"] for s in samples),
        "rss_first_mb": rss[0] if rss else None, "rss_last_mb": rss[-1] if rss else None,
        "rss_growth_second_half_mb": round(max(half) - min(half), 1) if half else None,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [f"`bench/load.py` against {report['target']}, mix of {report['mix']}.", "",
             "| clients | s | requests | req/s | p50 ms | p99 ms | 5xx | conn. errors "
             "| answers by status | RSS before → after MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in report["levels"]:
        conn = r["connection_errors"] + r["read_errors"] + r["timeouts"]
        statuses = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
        lines.append(f"| {r['concurrency']} | {r['seconds']:g} | {r['requests']} | {r['rps']:,.0f} "
                     f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors_5xx']} | {conn} "
                     f"| {statuses} | {r['rss_before_mb']} → {r['rss_after_mb']} |")
    if report.get("soak"):
        s = report["soak"]
        lines += ["", f"Soak: {s['concurrency']} clients for {s['seconds']:g} s: "
                  f"RSS {s['rss_first_mb']} → {s['rss_last_mb']} MiB (spread over the second "
                  f"half {s['rss_growth_second_half_mb']} MiB), {s['errors_5xx']} 5xx, "
                  f"{s['connection_errors']} connection errors."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/load.py", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a server already running on the loopback (default: start "
                        "one)")
    parser.add_argument("--pid", type=int, help="with --url: its master's pid, for memory")
    parser.add_argument("--concurrency", default="1,8,64", help="levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per level (default 10)")
    parser.add_argument("--soak", type=float, default=0.0,
                        help="then this many seconds at the highest level, memory sampled")
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not levels or min(levels) < 1 or max(levels) > 1024:
        parser.error("--concurrency: levels between 1 and 1024")
    if args.seconds <= 0 or args.seconds > 3600 or args.soak < 0 or args.soak > 7200:
        parser.error("--seconds in (0, 3600], --soak in [0, 7200]")

    procs.install_cleanup()
    work = Path(tempfile.mkdtemp(prefix="eusdp-load-"))
    proc = None
    try:
        if args.url:
            url = urllib.parse.urlsplit(args.url)
            if url.hostname not in LOOPBACK or url.port is None:
                parser.error("--url: only a server on the loopback, with its port")
            port, pid = url.port, args.pid
        else:
            port = procs.free_port()
            proc = start_server(port, work)
            pid = proc.pid
        entries = mix()
        kinds = Counter(kind for kind, _ in entries)
        report: dict[str, Any] = {
            "target": f"127.0.0.1:{port}" + (" (started by load.py)" if proc else ""),
            "mix": ", ".join(f"{n} {k}" for k, n in kinds.items()),
            "levels": [],
        }
        for clients in levels:
            print(f"load: {clients} clients for {args.seconds:g} s", flush=True)
            result = level(port, clients, args.seconds, pid)
            report["levels"].append(result)
            print(f"load: {result['rps']:,.1f} req/s, p50 {result['p50_ms']} ms, p99 "
                  f"{result['p99_ms']} ms, {result['statuses']}", flush=True)
        if args.soak:
            print(f"load: soak, {max(levels)} clients for {args.soak:g} s", flush=True)
            report["soak"] = soak(port, max(levels), args.soak, pid)
        if proc is not None:
            report["server_peak_rss_mb"] = procs.memory_mb(proc.pid, "VmHWM")
    finally:
        if proc is not None:
            procs.stop(proc)
        shutil.rmtree(work, ignore_errors=True)

    table = markdown(report)
    print()
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table, encoding="utf-8")
    failures = [r for r in [*report["levels"], report.get("soak") or {}]
                if r.get("errors_5xx") or r.get("connection_errors") or r.get("read_errors")
                or r.get("timeouts")]
    for r in failures:
        print(f"load: *** FAILURE at {r['concurrency']} clients: {r.get('errors_5xx')} 5xx, "
              f"{r.get('connection_errors')} connection errors, {r.get('read_errors', 0)} read "
              f"errors, {r.get('timeouts', 0)} time-outs ***", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
