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


class UpdateSyntax(Exception):
    """A text that is no SPARQL Update, with where rdflib's parser stopped (1-based).

    pyparsing's own exception is not what callers catch: importing pyparsing (and
    rdflib's SPARQL grammar) costs a start 20-40 ms, so it waits for the first update.
    """

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{message} (line {line}, column {column})")


def parse_update(text: str) -> Any:
    """rdflib's parse of a SPARQL Update; :class:`UpdateSyntax` if it is none."""
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import parseUpdate

    with _LOCK:
        try:
            return parseUpdate(text)
        except ParseBaseException as exc:
            raise UpdateSyntax(exc.msg, exc.lineno, exc.col) from None


def parse_query(text: str) -> Any:
    """rdflib's parse of a SPARQL query (raises pyparsing's ParseException)."""
    from rdflib.plugins.sparql.parser import parseQuery

    with _LOCK:
        return parseQuery(text)
