"""Load generators: wrk when it can be had, else a built-in asyncio one.

Both drive keep-alive HTTP/1.1 connections to 127.0.0.1 for a bounded time and
report the same :class:`LoadResult`. A request's path may contain the marker
``__N__``, replaced by a number distinct for every request (the ad-hoc workloads:
a new query text each time, so no cache can answer).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MARK = "__N__"
WRK_SCRIPT = Path(__file__).resolve().parent.parent / "wrk" / "workload.lua"


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``path`` may contain :data:`MARK`."""

    path: str
    accept: str = "*/*"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def concrete(self, n: int) -> Request:
        if MARK not in self.path:
            return self
        return Request(self.path.replace(MARK, str(n)), self.accept, self.method,
                       self.headers, self.body)


@dataclass
class LoadResult:
    """What one timed run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: Counter[int] = field(default_factory=Counter)
    connect_errors: int = 0
    read_errors: int = 0
    timeouts: int = 0
    generator: str = "python"

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 400)

    @property
    def errors_5xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# --- the built-in generator ------------------------------------------------------------------


class _Closed(Exception):
    """The server closed the connection before a whole response."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; (status, whether the server keeps the connection open)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise _Closed() from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise _Closed()
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif status not in (204, 304) and not 100 <= status < 200:
            await reader.read()  # delimited by the end of the connection
            keep = False
    except (asyncio.IncompleteReadError, ValueError) as exc:
        raise _Closed() from exc
    return status, keep


def encode(request: Request, host: str) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}",
             f"Accept: {request.accept}"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    if request.body or request.method == "POST":
        lines.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


async def _connection(
    host: str, port: int, pick: Callable[[int], Request], deadline: float,
    counter: list[int], result: LoadResult, latencies: list[float], timeout: float,
) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.monotonic() < deadline:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, limit=1 << 20), timeout)
            except (TimeoutError, OSError):
                result.connect_errors += 1
                await asyncio.sleep(0.05)
                continue
        assert reader is not None
        counter[0] += 1
        request = pick(counter[0])
        began = time.monotonic()
        try:
            writer.write(encode(request, f"{host}:{port}"))
            await writer.drain()
            status, keep = await asyncio.wait_for(_read_response(reader), timeout)
        except TimeoutError:
            result.timeouts += 1
            keep, status = False, 0
        except (_Closed, OSError):
            result.read_errors += 1
            keep, status = False, 0
        if status:
            latencies.append((time.monotonic() - began) * 1000)
            result.statuses[status] += 1
        if not keep:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            writer = reader = None
    if writer is not None:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def _drive(host: str, port: int, pick: Callable[[int], Request], connections: int,
                 seconds: float, timeout: float) -> LoadResult:
    result = LoadResult(0, 0.0, 0.0, 0.0)
    latencies: list[float] = []
    counter = [0]
    began = time.monotonic()
    deadline = began + seconds
    await asyncio.gather(*(
        _connection(host, port, pick, deadline, counter, result, latencies, timeout)
        for _ in range(connections)
    ))
    result.seconds = time.monotonic() - began
    latencies.sort()
    result.requests = len(latencies)
    result.p50_ms = round(percentile(latencies, 50), 3)
    result.p99_ms = round(percentile(latencies, 99), 3)
    return result


def run_python(port: int, pick: Callable[[int], Request], *, connections: int, seconds: float,
               host: str = "127.0.0.1", timeout: float = 30.0) -> LoadResult:
    """Drive ``connections`` keep-alive connections for ``seconds``; ``pick(n)`` is the n-th
    request (so it can vary). Finishes the requests in flight, so it may run slightly over."""
    return asyncio.run(_drive(host, port, pick, connections, seconds, timeout))


# --- wrk --------------------------------------------------------------------------------------


def find_wrk(install: bool) -> str | None:
    """wrk's path; with ``install``, try Debian's package when it is missing (we may be root)."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("bench: wrk is not on PATH, installing Debian's package", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return shutil.which("wrk")


def run_wrk(wrk: str, port: int, request: Request, *, connections: int, seconds: float,
            threads: int = 2, base: int = 0) -> LoadResult:
    """One wrk run of ``request`` (varied per request by ``workload.lua`` when it has MARK)."""
    if request.method != "GET" or request.body or request.headers:
        raise ValueError("the wrk driver sends plain GETs only")
    with tempfile.NamedTemporaryFile("w", suffix=".spec", delete=False) as spec:
        spec.write(f"{request.method}\n{request.accept}\n{base}\n{request.path}\n")
    try:
        argv = [wrk, f"-t{threads}", f"-c{max(connections, threads)}",
                f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "30s",
                "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", spec.name]
        out = subprocess.run(argv, capture_output=True, text=True, check=False,
                             timeout=seconds + 60)
    finally:
        os.unlink(spec.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-500:]}{out.stderr[-500:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = data["duration_us"] / 1e6
    bad = data["status"]  # wrk counts non-2xx/3xx responses, without their codes
    statuses: Counter[int] = Counter({200: data["requests"] - bad})
    if bad:
        statuses[599] = bad  # unknown error status: counted as a failure
    return LoadResult(
        requests=data["requests"], seconds=seconds_run,
        p50_ms=round(data["p50_us"] / 1000, 3), p99_ms=round(data["p99_us"] / 1000, 3),
        statuses=statuses, connect_errors=data["connect"], read_errors=data["read"] + data["write"],
        timeouts=data["timeout"], generator="wrk",
    )
