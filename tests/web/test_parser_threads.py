"""Regression: rdflib's pyparsing-based parser is not thread-safe; updates posted from many
threads at once must all get their 403 or 400, never a 500 (seen in the load smoke test)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

UPDATES = [
    "INSERT DATA { <http://a> <http://b> <http://c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/x>",
    "INSERT DATA { <http://a> <http://b> }",  # malformed
    "CLEAR ALL",
    "DROP GRAPH <http://g>",
]


def test_concurrent_updates_are_answered_403_or_400(app: Flask) -> None:
    client = app.test_client()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up

    def post(i: int) -> int:
        text = UPDATES[i % len(UPDATES)]
        response = client.post(
            "/sparql", data=text, headers={"Content-Type": "application/sparql-update"}
        )
        return response.status_code

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(post, range(400)))
    finally:
        sys.setswitchinterval(switch)
    assert set(statuses) <= {400, 403}
    assert statuses.count(403) > 0 and statuses.count(400) > 0
