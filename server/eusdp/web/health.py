"""``/health``: is the server up, and what is it serving?

For load balancers and for people: 200 with the triple counts and versions,
computed from the store already in memory (no query runs), so it stays cheap.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import __version__
from . import current_store

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    store = current_store()
    return jsonify(
        status="ok",
        version=__version__,
        store_version=store.version,
        triples=store.counts(),
        graphs=len(store.graphs()),
        load_seconds=round(store.load_seconds, 3),
    )
