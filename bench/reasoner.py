"""Time eusdp's reasoner (and owlrl, where it finishes) on generated graphs of growing size.

    .venv/bin/python bench/reasoner.py                       # 10k, 100k, 1M; owlrl up to 10k
    .venv/bin/python bench/reasoner.py --triples 100000 --owlrl-max 0

Each size runs in a fresh process, so the peak resident memory reported is that size's
own (it includes the rdflib Graph of the asserted triples). Reported, never asserted:
the targets (issue 6) are <= 10 s at 100k and <= 120 s at 1M asserted triples, <= 8 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(triples: int, engine: str, seed: int) -> dict[str, object]:
    """One run in this process: generate, reason, filter; seconds and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from bench.generate import generate_graph
    from eusdp.inference import filter_derived, run_owlrl
    from eusdp.reasoner import closure

    start = time.perf_counter()
    graph = generate_graph(triples, seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    if engine == "owlrl":
        derived, errors = run_owlrl(graph)
        n_derived = len(derived)
    else:
        result = closure(graph)
        n_derived, errors = len(result.derived), result.inconsistencies
        derived = result.derived  # type: ignore[assignment]
    reasoned = time.perf_counter() - start
    start = time.perf_counter()
    kept, _ = filter_derived(derived, graph)
    filtered = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "engine": engine,
        "asserted": len(graph),
        "derived": n_derived,
        "kept": len(kept),
        "inconsistencies": len(errors),
        "generate_s": round(generated, 2),
        "reason_s": round(reasoned, 2),
        "filter_s": round(filtered, 2),
        "peak_rss_mib": round(peak / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--owlrl-max", type=int, default=10_000, help="run owlrl up to this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("TRIPLES", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(int(args.child[0]), args.child[1], args.seed)))
        return 0
    for n in args.triples:
        for engine in ("eusdp", "owlrl"):
            if engine == "owlrl" and n > args.owlrl_max:
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--seed", str(args.seed), "--child", str(n), engine],
                check=True,
                capture_output=True,
                text=True,
            )
            print(out.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
