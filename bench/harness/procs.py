"""Server processes: started in their own session, watched through /proc, always stopped.

Every process the benchmark starts is registered here; :func:`stop_all` (run by
``atexit`` and by the SIGTERM/SIGINT handlers) kills each one's whole process tree,
so no server, worker or port outlives the run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

_STARTED: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(
    argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), output to ``log``."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True,
        )
    _STARTED.append(proc)
    return proc


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    timeout: float,
    ok: Callable[[int], bool] | None = None,
    poll: float = 0.05,
) -> float:
    """Seconds until ``url`` answers 200 (or ``ok(status)``), asked every ``poll`` s; raises
    if the process dies first."""
    began = time.monotonic()
    accept = ok or (lambda status: status == 200)
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, proc.args))} exited with {proc.returncode}")  # type: ignore[arg-type]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if accept(response.status):
                    return time.monotonic() - began
        except urllib.error.HTTPError as exc:
            if accept(exc.code):
                return time.monotonic() - began
        except (OSError, ValueError):
            pass
        time.sleep(poll)
    raise TimeoutError(f"{url} not ready after {timeout:g} s")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Granian's main process, workers and query workers)."""
    kids = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(kids.get(current, []))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes' trees, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in pids:
        for member in tree(root):
            try:
                fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def wait_idle(pids: Sequence[int], *, window: float = 0.5, share: float = 0.05,
              timeout: float = 120.0) -> float:
    """Wait until these processes' trees use less than ``share`` of a core over ``window``
    seconds (or ``timeout`` passes); the seconds waited.

    A load generator that stops leaves the requests it had sent running in the server: at
    scale, seconds of work that the next timed run would otherwise pay for.
    """
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = cpu_seconds(pids)
        time.sleep(window)
        if cpu_seconds(pids) - before < share * window:
            break
    return round(time.monotonic() - began, 2)


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """``field`` (VmRSS now, VmHWM peak) summed over the process tree, in MiB.

    A sum over processes counts copy-on-write pages shared by a master and its forked
    workers once per process, so for forking servers it is an upper bound."""
    return round(sum(_status_kb(p, field) for p in tree(pid)) / 1024, 1)


def pss_mb(pid: int) -> float | None:
    """Proportional set size summed over the process tree, in MiB: each page shared by
    forked processes counted once in all, so the honest total for a forking server.
    ``None`` where the kernel gives no smaps_rollup."""
    total = 0
    for member in tree(pid):
        try:
            text = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            return None
        total += next(
            (int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0
        )
    return round(total / 1024, 1)


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever of the tree is left."""
    if proc.poll() is None:
        members = tree(proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in members:  # any that left the group (setsid) but not the tree
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    if proc in _STARTED:
        _STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(_STARTED):
        stop(proc, grace=5.0)


def _on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally, then atexit runs


def install_cleanup() -> None:
    """Stop everything at exit and on SIGTERM/SIGINT/SIGHUP."""
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
