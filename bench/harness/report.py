"""The benchmark's figures as a Markdown table (for the README) and as JSON."""

from __future__ import annotations

from typing import Any


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratios(rows: list[dict[str, Any]]) -> None:
    """Add ``x_oxigraph_rps`` and ``x_oxigraph_p99`` to each row, where Oxigraph ran it."""
    ref = {(r["scale"], r["workload"]): r for r in rows if r["server"] == "oxigraph"}
    for row in rows:
        base = ref.get((row["scale"], row["workload"]))
        ok = base is not None and base["rps"] and base["p99_ms"]
        row["x_oxigraph_rps"] = round(row["rps"] / base["rps"], 3) if ok else None  # type: ignore[index]
        row["x_oxigraph_p99"] = round(row["p99_ms"] / base["p99_ms"], 3) if ok else None  # type: ignore[index]


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Load generator: {result['generator']}, {result['connections']} connections, "
        f"{result['seconds']:g} s per run, median of {result['repeat']} interleaved runs; "
        f"{result['machine']}.",
        *(["eusdp ran with these settings instead of its defaults: "
           + ", ".join(f"{k}={v}" for k, v in result["eusdp_settings"].items()) + "."]
          if result.get("eusdp_settings") else []),
        "",
        "| scale | workload | server | req/s | p50 ms | p99 ms | × Oxigraph req/s "
        "| p99 ÷ Oxigraph's | same rows | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in result["rows"]:
        match = {True: "yes", False: "**NO**", None: "—"}[r.get("rows_match")]
        lines.append(
            f"| {r['scale']} | {r['workload']} | {r['server']} | {_num(r['rps'], 0)} "
            f"| {_num(r['p50_ms'], 2)} | {_num(r['p99_ms'], 2)} | {_num(r['x_oxigraph_rps'], 2)} "
            f"| {_num(r['x_oxigraph_p99'], 2)} | {match} | {r['errors']} |"
        )
    lines += ["", "| scale | server | triples | start s | load s | inference s | peak RSS MiB "
              "| RSS after start MiB | PSS at end MiB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in result["start"]:
        mem = next((m for m in result["memory"]
                    if m["server"] == s["server"] and m["scale"] == s["scale"]), {})
        inf = next((i for i in result["inference"] if i["scale"] == s["scale"]), {})
        lines.append(
            f"| {s['scale']} | {s['server']} | {_num(s.get('triples'), 0)} "
            f"| {_num(s['start_s'], 2)} "
            f"| {_num(s.get('load_s'), 2)} "
            f"| {_num(inf.get('seconds') if s['server'] == 'eusdp' else None, 2)} "
            f"| {_num(mem.get('peak_rss_mb'))} | {_num(mem.get('rss_start_mb'))} "
            f"| {_num(mem.get('pss_end_mb'))} |"
        )
    for t in result.get("start_times", []):
        lines += ["", f"eusdp's start at {t['scale']}× to its first answer (median of {t['runs']}, "
                  f"asked every 5 ms): cold {_num(t['cold_s'], 3)} s (empty cache folder: parse, "
                  f"reason, validate, load, prime), with the cache {_num(t['cached_s'], 3)} s."]
    if result["floor"]:
        lines += ["", "The floors under eusdp's Granian settings, and how close eusdp comes to "
                  "them: a bare hello (WSGI, Flask) against eusdp's best canned query, and the "
                  "bare engine (pyoxigraph in process: no deadline, isolation, checks or caches) "
                  "against eusdp on the same ad-hoc query:", "",
                  "| scale | server | workload | req/s | p50 ms | p99 ms | eusdp ÷ this |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for f in result["floor"]:
            share = f.get("eusdp_share", f.get("eusdp_best_canned_share"))
            lines.append(f"| {f['scale']} | {f['server']} | {f['workload']} | {_num(f['rps'], 0)} "
                         f"| {_num(f['p50_ms'], 2)} | {_num(f['p99_ms'], 2)} "
                         f"| {_num(share, 2)} |")
    if result["notes"]:
        lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines) + "\n"
