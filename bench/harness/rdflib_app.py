"""rdflib-endpoint as the benchmark runs it: ``uvicorn --factory --workers 2 rdflib_app:make_app``.

Runs in the peers' virtual environment (bench/.venv), not the project's. Each uvicorn worker
builds its own graph from ``BENCH_RDF_FILE`` (as ``rdflib-endpoint serve FILE`` does, into a
union-default Dataset) and then drops a file named by its pid into ``BENCH_READY_DIR``, so the
harness knows when every worker, not just the first, can answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_app() -> Any:
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    graph = Dataset(default_union=True)
    graph.parse(os.environ["BENCH_RDF_FILE"], format="nt")
    app = SparqlEndpoint(path="/sparql", graph=graph, title="rdflib-endpoint (eusdp bench)")
    ready = os.environ.get("BENCH_READY_DIR")
    if ready:
        Path(ready, str(os.getpid())).write_text(str(len(graph)))
    return app
