"""``bench/run``: eusdp, ``oxigraph serve-read-only`` and rdflib-endpoint, side by side.

For each scale it builds the closed graph (asserted + inferred) once, loads it into
every server, checks that all of them return the same rows for every workload, then
times the workloads with the servers interleaved and repeated, and reports requests/s,
p50/p99 and the ratio to Oxigraph, with start, load and inference times and peak
memory. Everything it starts, it stops (process groups, ``finally``, ``atexit``).

See bench/README.md for what each workload asks and how to read the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import check, procs, report, servers
from harness.loadgen import LoadResult, find_wrk, run_python, run_wrk
from harness.servers import Context, Running, Server
from harness.workloads import MARK_FLOOR, Workload, select

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS_VENV = BENCH / ".venv"
DATA = BENCH / ".data"
SCALES = {"1": 0, "100k": 100_000, "1M": 1_000_000}
#: Scales at which eusdp keeps its store on disk (``--store-dir``), as advised for large graphs.
ON_DISK = {"1M"}
PEER_PACKAGES = {"oxigraph": ["oxigraph"], "rdflib-endpoint": ["rdflib-endpoint", "uvicorn"]}
PEER_PROBE = {"oxigraph": "bin/oxigraph", "rdflib-endpoint": "rdflib_endpoint"}


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


# --- what is needed: the peers, wrk ------------------------------------------------------------


def _peer_present(name: str) -> bool:
    if name == "oxigraph":
        return (PEERS_VENV / "bin" / "oxigraph").exists()
    python = PEERS_VENV / "bin" / "python"
    return python.exists() and subprocess.run(
        [str(python), "-c", "import rdflib_endpoint, uvicorn"], capture_output=True, check=False
    ).returncode == 0


def ensure_peers(names: list[str]) -> list[str]:
    """Install the peers into bench/.venv (once); the ones that could not be had are left out."""
    missing = [n for n in names if not _peer_present(n)]
    if missing:
        if not (PEERS_VENV / "bin" / "python").exists():
            say(f"creating {PEERS_VENV.relative_to(ROOT)}")
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=False)
        packages = [p for n in missing for p in PEER_PACKAGES[n]]
        say(f"installing {' '.join(packages)} into {PEERS_VENV.relative_to(ROOT)}")
        subprocess.run([str(PEERS_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *packages],
                       check=False, stdout=subprocess.DEVNULL)
    available = [n for n in names if _peer_present(n)]
    for name in set(names) - set(available):
        say(f"*** {name} could not be installed: left out of this run ***")
    return available


def peer_versions() -> dict[str, str]:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        return {}
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                         capture_output=True, text=True, check=False).stdout
    wanted = {"oxigraph", "rdflib-endpoint", "rdflib", "uvicorn"}
    try:
        return {p["name"]: p["version"] for p in json.loads(out) if p["name"].lower() in wanted}
    except ValueError:
        return {}


# --- one scale's inputs ------------------------------------------------------------------------


def eusdp(*args: str, timeout: float = 7200) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eusdp", *args], capture_output=True,
                          text=True, check=False, timeout=timeout)


def data_dir_for(scale: str, seed: int, workdir: Path) -> Path:
    """The project's data (1×) or generated data of the same shape (bench/generate.py)."""
    if scale == "1":
        return ROOT / "data"
    folder = workdir / scale / "data"
    target = folder / "generated.ttl"  # N-Triples, which is Turtle too
    if not target.exists():
        began = time.monotonic()
        count = write_generated(SCALES[scale], seed, folder, target)
        say(f"generated {count:,} triples into {target} "
            f"in {time.monotonic() - began:.1f} s")
    return folder


def write_generated(triples: int, seed: int, folder: Path, target: Path) -> int:
    """bench/generate.py's graph, less the ontology it includes (eusdp reads that from its
    ontology folder; twice would put every axiom in two named graphs)."""
    from rdflib import BNode, Graph

    try:
        from generate import generate_triples, plan  # type: ignore[import-not-found]
    except ImportError:
        raise SystemExit("bench: the 100k and 1M scales need bench/generate.py") from None
    say(f"generating ~{triples:,} triples (bench/generate.py, seed {seed})")
    ontology = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        if path.name != "shapes.ttl":
            ontology.parse(path)
    shared = plan(triples).shared  # the first triples: ontology, areas, shared individuals
    graph = Graph()
    for index, triple in enumerate(generate_triples(triples, seed=seed)):
        if index < shared and (triple in ontology or any(isinstance(t, BNode) for t in triple)):
            continue  # the shared part's blank nodes are all the ontology's
        graph.add(triple)
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    graph.serialize(destination=str(partial), format="nt", encoding="utf-8")
    partial.replace(target)
    return len(graph)


def prepare(scale: str, seed: int, work: Path, workdir: Path, fresh_cache: bool,
            eusdp_env: dict[str, str]) -> tuple[Context, dict[str, Any]]:
    """Data, inference (timed), the closed graph exported, Oxigraph's store loaded (timed)."""
    data_dir = data_dir_for(scale, seed, workdir)
    cache_dir = workdir / scale / "cache"
    if fresh_cache or scale == "1":  # 1×: cheap, so always measured afresh
        shutil.rmtree(cache_dir, ignore_errors=True)
    scale_dir = workdir / scale
    scale_dir.mkdir(parents=True, exist_ok=True)
    # At 1M eusdp serves as its README advises for large graphs: the store on disk, as
    # Oxigraph's server keeps its own (in memory, every query worker would come to copy
    # the pages of the store it touches).
    ctx = Context(scale=scale, data_dir=data_dir, cache_dir=cache_dir,
                  closed_nt=scale_dir / "closed.nt", oxigraph_dir=scale_dir / "oxigraph",
                  work=work, peers_bin=PEERS_VENV / "bin",
                  store_dir=scale_dir / "stores" if scale in ON_DISK else None,
                  eusdp_env=eusdp_env)
    common = ["--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]

    say(f"[{scale}] inference (eusdp infer)")
    began = time.monotonic()
    out = eusdp("infer", *common)
    if out.returncode != 0:
        raise SystemExit(f"bench: eusdp infer failed:\n{out.stdout}{out.stderr}")
    fields = dict(re.findall(r"^([a-z][a-z ()]*?):\s*(\S+)", out.stdout, re.MULTILINE))
    stamp = scale_dir / "inference.json"
    inference: dict[str, Any] = {"scale": scale, "wall_s": round(time.monotonic() - began, 2),
                                 "asserted": int(fields.get("asserted triples", 0)),
                                 "inferred": int(fields.get("kept (inferred graph)", 0)),
                                 "cache": fields.get("cache", "?")}
    if inference["cache"] == "hit" and stamp.exists():
        inference["seconds"] = json.loads(stamp.read_text())["seconds"]
        inference["note"] = "measured when the cache was filled"
    else:
        inference["seconds"] = float(fields.get("time", "nan"))
        stamp.write_text(json.dumps({"seconds": inference["seconds"]}))
    say(f"[{scale}] {inference['asserted']:,} asserted, {inference['inferred']:,} inferred, "
        f"reasoner {inference['seconds']} s ({inference['cache']})")

    began = time.monotonic()
    out = eusdp("export", *common, "--format", "ntriples", "--output", str(ctx.closed_nt))
    if out.returncode != 0:
        raise SystemExit(f"bench: eusdp export failed:\n{out.stderr}")
    triples = sum(1 for _ in ctx.closed_nt.open("rb"))
    inference["closed_triples"] = triples
    inference["export_s"] = round(time.monotonic() - began, 2)
    say(f"[{scale}] closed graph: {triples:,} triples -> {ctx.closed_nt}")
    return ctx, inference


#: Timed starts per cache state: the start target is about the project graph (1×).
START_RUNS = 3


def eusdp_start_times(ctx: Context, runs: int = START_RUNS) -> dict[str, Any]:
    """eusdp's start, to its first answer: from an empty cache folder ("cold": parse,
    reason, validate, load, prime), then again on the folder that start filled
    ("cached"). Asked every 5 ms, so the figure is the server's, not the polling's."""
    # As an installed package starts: from bytecode (an editable install under
    # PYTHONDONTWRITEBYTECODE, as on the CI machine, would compile every module each time).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "server" / "eusdp")],
                   check=False, capture_output=True)
    server = servers.Eusdp()
    times: dict[str, list[float]] = {"cold": [], "cached": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="eusdp-start-") as folder:
            fresh = dataclasses.replace(ctx, cache_dir=Path(folder))
            for state in ("cold", "cached"):
                port = procs.free_port()
                began = time.monotonic()
                proc = procs.start(server.argv(fresh, port), log=ctx.work / "eusdp-start.log",
                                   env=server.env(fresh), cwd=ROOT)
                try:
                    procs.wait_ready(server.ready_url(port), proc, ctx.startup_timeout,
                                     poll=0.005)
                    times[state].append(time.monotonic() - began)
                finally:
                    procs.stop(proc)
    return {"server": "eusdp", "scale": ctx.scale, "runs": runs,
            **{f"{state}_s": round(statistics.median(t), 3) for state, t in times.items()},
            **{f"{state}_runs": [round(x, 3) for x in t] for state, t in times.items()}}


def load_oxigraph(ctx: Context) -> float:
    shutil.rmtree(ctx.oxigraph_dir, ignore_errors=True)
    began = time.monotonic()
    out = subprocess.run([str(ctx.peers_bin / "oxigraph"), "load", "--location",
                          str(ctx.oxigraph_dir), "--file", str(ctx.closed_nt)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"oxigraph load failed: {out.stderr[-500:]}")
    return round(time.monotonic() - began, 3)


# --- measuring -----------------------------------------------------------------------------------


class Driver:
    """Runs one timed load against one server with the chosen generator."""

    def __init__(self, kind: str, connections: int, threads: int, seconds: float) -> None:
        self.wrk = find_wrk(install=kind == "auto") if kind in ("auto", "wrk") else None
        if kind == "wrk" and not self.wrk:
            raise SystemExit("bench: --loadgen wrk, but wrk is not on PATH")
        self.connections, self.threads, self.seconds = connections, threads, seconds
        if self.wrk:
            version = subprocess.run([self.wrk, "--version"], capture_output=True, text=True,
                                     check=False).stdout.split(" [")[0].strip()
            self.name = f"{version or 'wrk'} -t{threads} -c{connections}"
        else:
            self.name = f"built-in Python asyncio generator -c{connections} (wrk not available)" \
                if kind == "auto" else f"built-in Python asyncio generator -c{connections}"

    def run(self, server: Server, running: Running, workload: Workload,
            seconds: float | None = None) -> LoadResult:
        request = server.request(workload)
        seconds = self.seconds if seconds is None else seconds
        base = random.randrange(MARK_FLOOR, 10**12) * 1000  # new texts in every run
        if self.wrk:
            return run_wrk(self.wrk, running.port, request, connections=self.connections,
                           seconds=seconds, threads=self.threads, base=base)
        return run_python(running.port, lambda n: request.concrete(base + n),
                          connections=self.connections, seconds=seconds)


def check_rows(live: dict[str, tuple[Server, Running]], workloads: list[Workload]
               ) -> dict[tuple[str, str], bool | None]:
    """Same rows everywhere? Reference: Oxigraph, or eusdp when Oxigraph is not running."""
    verdict: dict[tuple[str, str], bool | None] = {}
    reference_name = "oxigraph" if "oxigraph" in live else "eusdp"
    for workload in workloads:
        graph = workload.kind in ("graph", "export")
        answers = {
            name: check.answer(running.port, server.request(workload).concrete(MARK_FLOOR), graph)
            for name, (server, running) in live.items() if server.answers_queries
        }
        reference = answers[reference_name]
        counts = ", ".join(f"{n} {a.count}" for n, a in answers.items())
        say(f"rows {workload.name}: {counts}")
        for name, got in answers.items():
            if got.error:
                say(f"*** {name} {workload.name}: {got.error} ***")
            ok = check.same(reference, got) and not got.error
            verdict[(name, workload.name)] = ok
            if not ok and name != reference_name:
                say(f"*** ROW MISMATCH {workload.name}: {name} differs from {reference_name}: "
                    f"{check.difference(reference, got)} ***")
    return verdict


def median_row(samples: list[LoadResult]) -> dict[str, Any]:
    return {
        "rps": round(statistics.median(s.rps for s in samples), 1),
        "p50_ms": round(statistics.median(s.p50_ms for s in samples), 3),
        "p99_ms": round(statistics.median(s.p99_ms for s in samples), 3),
        "errors": sum(s.non_2xx + s.connect_errors + s.read_errors + s.timeouts for s in samples),
        "runs": [round(s.rps, 1) for s in samples],
    }


def bench_scale(scale: str, args: argparse.Namespace, peers: list[str], driver: Driver,
                result: dict[str, Any]) -> None:
    work = args.workdir / scale / "logs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ctx, inference = prepare(scale, args.seed, work, args.workdir, args.fresh_cache,
                             args.eusdp_env)
    result["inference"].append(inference)
    names = [n for n in args.servers if n == "eusdp" or n in peers]
    load_s: dict[str, float] = {}
    if "oxigraph" in names:
        load_s["oxigraph"] = load_oxigraph(ctx)
        say(f"[{scale}] oxigraph load: {load_s['oxigraph']} s")
    if "rdflib-endpoint" in names:
        load_s["rdflib-endpoint"] = 0.0  # it parses the file at start: inside its start time
    if scale == "1" and not args.smoke:
        say(f"[{scale}] timing eusdp's start, cold and with the cache ({START_RUNS} each)")
        result["start_times"].append(eusdp_start_times(ctx))
    floors: list[Server] = [] if args.no_floor else [
        servers.Floor("wsgi"), servers.Floor("flask"), servers.Floor("pyoxigraph")]
    live: dict[str, tuple[Server, Running]] = {}
    try:
        for server in [*map(servers.make, names), *floors]:
            say(f"[{scale}] starting {server.name}")
            try:
                running = server.start(ctx)
            except (RuntimeError, TimeoutError) as exc:
                say(f"*** {server.name} did not start: {exc} (log: {work / server.name}.log) ***")
                if server.name == "eusdp":
                    raise SystemExit(1) from None
                continue
            live[server.name] = (server, running)
            say(f"[{scale}] {server.name} ready in {running.start_s} s on port {running.port}")
            result["start"].append({"server": server.name, "scale": scale,
                                    "start_s": running.start_s, "load_s": load_s.get(server.name),
                                    "triples": inference["closed_triples"]
                                    if server.answers_queries else None})
        if ctx.store_dir is not None:
            result["notes"].append(f"{scale}: eusdp's store on disk "
                                   f"(--store-dir {_shown(ctx.store_dir)})")
        workloads = select(args.workloads)
        verdict = check_rows(live, workloads)
        if any(v is False for v in verdict.values()):
            result["notes"].append(f"{scale}: some servers' rows differ (marked **NO**); "
                                   "their timings are not comparable")
        samples: dict[tuple[str, str], list[LoadResult]] = {}
        queried = [n for n, (s, _) in live.items() if s.answers_queries]
        floor_names = [n for n, (s, _) in live.items() if not s.answers_queries]
        pids = [running.proc.pid for _, running in live.values()]

        def settle() -> None:
            """No run pays for the requests an earlier one left running, in any server."""
            waited = procs.wait_idle(pids)
            if waited > 2:
                say(f"[{scale}] waited {waited:g} s for the servers to finish earlier requests")

        if args.warmup > 0:  # first requests pay for connections, caches and lazy pools
            say(f"[{scale}] warming up: {args.warmup:g} s per server and workload")
            for workload in workloads:
                for name in queried:
                    settle()
                    driver.run(*live[name], workload, seconds=args.warmup)
        for repeat in range(args.repeat):
            for index, workload in enumerate(workloads):
                shift = (repeat + index) % len(queried)
                for name in queried[shift:] + queried[:shift]:  # interleaved, order rotated
                    server, running = live[name]
                    settle()
                    sample = driver.run(server, running, workload)
                    samples.setdefault((name, workload.name), []).append(sample)
                    say(f"[{scale}] run {repeat + 1}/{args.repeat} {workload.name:<32} "
                        f"{name:<16} {sample.rps:9.1f} req/s  p50 {sample.p50_ms:8.2f} ms  "
                        f"p99 {sample.p99_ms:8.2f} ms" + _errors(sample))
            for name in floor_names:
                server, running = live[name]
                for workload in _floor_workloads(server, workloads):
                    settle()
                    sample = driver.run(server, running, workload)
                    samples.setdefault((name, workload.name), []).append(sample)
                    say(f"[{scale}] run {repeat + 1}/{args.repeat} {workload.name} {name:<16} "
                        f"{sample.rps:9.1f} req/s")
        for name, (_, running) in live.items():
            result["memory"].append({
                "server": name, "scale": scale, "rss_start_mb": running.rss_start_mb,
                "rss_end_mb": procs.memory_mb(running.proc.pid),
                "pss_end_mb": procs.pss_mb(running.proc.pid),
                "peak_rss_mb": procs.memory_mb(running.proc.pid, "VmHWM"),
                "processes": len(procs.tree(running.proc.pid)),
            })
        for (name, workload_name), runs in samples.items():
            row = {"server": name, "workload": workload_name, "scale": scale, **median_row(runs)}
            if name in floor_names:
                result["floor"].append(row)
            else:
                row["rows_match"] = verdict.get((name, workload_name))
                result["rows"].append(row)
    finally:
        for _, running in live.values():
            procs.stop(running.proc)


def _floor_workloads(server: Server, workloads: list[Workload]) -> list[Workload]:
    """What a floor is timed on: a hello, or (the bare engine) the ad-hoc queries chosen."""
    if isinstance(server, servers.Floor) and server.takes_queries:
        return [w for w in workloads if w.name.startswith("adhoc:")]
    return [Workload("hello", "hello")]


def _shown(path: Path) -> str:
    """A path as the results show it: from the project's root when under it, so that the
    committed JSON and Markdown name no folder of the machine that ran them."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _errors(sample: LoadResult) -> str:
    bad = sample.non_2xx + sample.connect_errors + sample.read_errors + sample.timeouts
    return f"  *** {bad} errors {dict(sample.statuses)} ***" if bad else ""


def finish(result: dict[str, Any]) -> None:
    report.ratios(result["rows"])
    for floor in result["floor"]:
        if floor["workload"] != "hello":  # the bare engine: eusdp on the same query
            same = [r["rps"] for r in result["rows"] if r["server"] == "eusdp"
                    and r["scale"] == floor["scale"] and r["workload"] == floor["workload"]]
            floor["eusdp_share"] = round(same[0] / floor["rps"], 3) \
                if same and floor["rps"] else None
            continue
        canned = [r["rps"] for r in result["rows"] if r["server"] == "eusdp"
                  and r["scale"] == floor["scale"] and r["workload"].startswith("canned:")]
        floor["eusdp_best_canned_share"] = round(max(canned) / floor["rps"], 3) \
            if canned and floor["rps"] else None


# --- the command ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1",
                        help="1, 100k or 1M, or several comma-separated (default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, default=BENCH / "results" / "latest.md",
                        help="where the Markdown table goes (default bench/results/latest.md)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per timed run (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (median; 3)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of untimed load per server and workload first (1)")
    parser.add_argument("--servers", default=",".join(servers.ALL),
                        help="comma-separated, from eusdp, oxigraph, rdflib-endpoint")
    parser.add_argument("--workloads", help="comma-separated names or kinds (canned, adhoc...)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk (installed from Debian if missing), else built-in")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-hello floor")
    parser.add_argument("--fresh-cache", action="store_true",
                        help="at 100k/1M, run the reasoner again instead of using its cache")
    parser.add_argument("--seed", type=int, default=0, help="of the data generator")
    parser.add_argument("--workdir", type=Path, default=DATA,
                        help="generated data, caches, stores and logs (default bench/.data)")
    parser.add_argument("--eusdp-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="run eusdp with this setting instead of its default, e.g. "
                             "isolate_queries=false (repeatable; recorded with the figures)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds: 1 s per run, one repeat, eusdp and oxigraph, no floor")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.repeat, args.no_floor = min(args.seconds, 1.0), 1, True
        args.warmup = 0.0
        if "--servers" not in (argv or sys.argv[1:]):
            args.servers = "eusdp,oxigraph"
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - set(servers.ALL)
    if unknown or "eusdp" not in args.servers:
        parser.error(f"--servers: eusdp plus any of {', '.join(servers.PEERS)}")
    args.eusdp_env = {}
    for setting in args.eusdp_setting:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip():
            parser.error(f"--eusdp-setting {setting!r}: give NAME=VALUE")
        args.eusdp_env["EUSDP_" + name.strip().upper()] = value.strip()
    args.scales = [s.strip() for s in args.scale.split(",")]
    if set(args.scales) - set(SCALES):
        parser.error(f"--scale: one of {', '.join(SCALES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    procs.install_cleanup()
    peers = ensure_peers([s for s in args.servers if s != "eusdp"])
    driver = Driver(args.loadgen, args.connections, args.threads, args.seconds)
    say(f"load generator: {driver.name}")
    result: dict[str, Any] = {
        "generator": driver.name, "connections": args.connections, "seconds": args.seconds,
        "repeat": args.repeat, "servers": args.servers, "peers": peer_versions(),
        "eusdp_settings": args.eusdp_env,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": [], "start": [], "start_times": [], "inference": [], "memory": [],
        "floor": [], "notes": [],
    }
    for name in set(args.servers) - {"eusdp"} - set(peers):
        result["notes"].append(f"{name} could not be installed and was left out")
    try:
        for scale in args.scales:
            bench_scale(scale, args, peers, driver, result)
    finally:
        procs.stop_all()
    finish(result)
    table = report.markdown(result)
    print()
    print(table)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(table, encoding="utf-8")
    say(f"table written to {args.markdown}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        say(f"JSON written to {args.json}")
    mismatched = [r for r in result["rows"] if r.get("rows_match") is False]
    if mismatched:
        say(f"*** {len(mismatched)} rows marked: answers differ between servers ***")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
