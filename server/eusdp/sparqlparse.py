"""rdflib's SPARQL parser behind one lock.

The parser is built on pyparsing, whose packrat cache and parse actions are not
thread-safe (RDFLib/rdflib#1282, pyparsing/pyparsing#89): two threads parsing at
once can fail with errors that have nothing to do with the text. The web server
answers with threads, so every use of the parser goes through these functions.
It is only used to read texts the query engine rejects (updates, error
positions), so the lock is never on the path of a good query.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()


def parse_update(text: str) -> Any:
    """rdflib's parse of a SPARQL Update (raises pyparsing's ParseException)."""
    from rdflib.plugins.sparql.parser import parseUpdate

    with _LOCK:
        return parseUpdate(text)


def parse_query(text: str) -> Any:
    """rdflib's parse of a SPARQL query (raises pyparsing's ParseException)."""
    from rdflib.plugins.sparql.parser import parseQuery

    with _LOCK:
        return parseQuery(text)
