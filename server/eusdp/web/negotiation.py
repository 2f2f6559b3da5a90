"""Choosing a response format: the ``format=`` parameter first, else ``Accept``.

One rule for every route that answers in several formats, so that ``format=ttl``
and ``Accept: text/turtle`` mean the same thing everywhere and a failure reads
the same: an unknown name is a 400, a known one this answer cannot take a 406.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import BadParameter, NotAcceptable
from ..formats import ALL_FORMATS, HTML, Format, find_format, negotiate

KNOWN_FORMATS: tuple[Format, ...] = (*ALL_FORMATS, HTML)


def choose(offered: Sequence[Format], *, requested: str | None, accept: str | None) -> Format:
    """The format to answer in, from ``offered`` (the first is the default for ``*/*``)."""
    if requested:
        chosen = find_format(requested, offered)
        if chosen is None:
            if find_format(requested, KNOWN_FORMATS) is None:
                names = ", ".join(f.name for f in offered)
                raise BadParameter(f"unknown format {requested!r}; this answer offers: {names}")
            raise not_acceptable(offered, f"format={requested}")
        return chosen
    chosen = negotiate(accept, offered)
    if chosen is None:
        raise not_acceptable(offered, f"Accept: {accept or ''}")
    return chosen


def not_acceptable(offered: Sequence[Format], asked: str) -> NotAcceptable:
    types = [f.media_type for f in offered]
    return NotAcceptable(
        f"{asked} matches none of the formats this answer can take: {', '.join(types)}",
        offered=types,
    )
