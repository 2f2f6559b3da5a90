"""Which answers a cache keeps: those asked for more than once.

Most ad-hoc queries are asked once: a new text each time, an answer nobody asks for
again. Looking each one up, coalescing it and keeping it in both caches (the
answers', then the responses') cost the server nearly as much as evaluating it.
Measured in process on ``adhoc:1`` (the ``/sparql`` lane called in a loop, 20,000
new texts, ``isolate_queries=false``): 97-101 µs a query with the caches keeping
everything, 66-72 µs with the caches off, of which the engine's share is 40 µs. And a
stream of one-off queries pushed the answers people do ask for again, the canned
queries', out of the cache.

So a cache keeps an answer only once its key has been asked for ``min_uses`` times
(nginx's ``proxy_cache_min_uses``; CDNs' "cache on second hit"), and until then does
not look it up either: it cannot be there. With two, the same loop took 72.7 µs a
query against 66.1 with the caches off. A
:class:`Doorkeeper` counts the requests per key in a fixed table of small
counters: no allocation per key, a bounded memory, and no lock. What it can get
wrong only changes *when* an answer is kept, never which answer is served:
- two keys sharing a counter add up, so an answer can be kept early;
- the table is cleared after an eighth as many recordings as it has counters, so a
  key whose requests are further apart than that starts again from zero (and a kept
  answer is evaluated again, not looked up, until its key is counted back up);
- two threads counting at once can lose one count, so an answer can be kept late.
"""

from __future__ import annotations

from collections.abc import Hashable


class Doorkeeper:
    """Counts requests per key; says when a key has been asked ``min_uses`` times.

    ``slots`` counters of one byte each (1 MiB by default), addressed by the key's hash,
    and cleared after ``slots // 8`` recordings: at most an eighth of them are in use, so
    at most one key in eight asked once is kept early; a key is kept if asked again
    within the next 131,072 requests that were not answered from the cache.
    With ``min_uses`` 1 every key is admitted at once and nothing is counted.
    """

    def __init__(self, min_uses: int, slots: int = 1 << 20) -> None:
        if not 1 <= min_uses <= 255:
            raise ValueError(f"min_uses must be between 1 and 255, not {min_uses}")
        if slots <= 0 or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two, not {slots}")
        self.min_uses = min_uses
        self._mask = slots - 1
        self._counts = bytearray(slots)
        self._left = self._period = slots // 8  # recordings until the table is cleared
        self.declined = 0

    def asked(self, key: Hashable) -> bool:
        """Record one request for ``key``; whether it has now been asked ``min_uses`` times.

        Until then the key's answer cannot be in the cache (it was never kept), so the
        caller need not look it up, coalesce it or keep it: it is only evaluated."""
        if self.min_uses == 1:
            return True
        slot = hash(key) & self._mask
        count = self._counts[slot]
        if count + 1 >= self.min_uses:
            return True
        self._counts[slot] = count + 1
        self.declined += 1
        self._left -= 1
        if self._left <= 0:
            self._counts = bytearray(len(self._counts))
            self._left = self._period
        return False

    def admit(self, key: Hashable) -> None:
        """Count ``key`` as asked ``min_uses`` times already (a primed answer)."""
        if self.min_uses > 1:
            self._counts[hash(key) & self._mask] = self.min_uses - 1
