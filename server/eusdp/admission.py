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
(nginx's ``proxy_cache_min_uses``; CDNs' "cache on second hit"). Until then the answer
cache does not look it up either, since it cannot be there (the response cache looks
first, so that its hits, the canned answers, cost no counting). With two, the same
loop took 72.7 µs a query against 66.1 with the caches off. A :class:`Doorkeeper`
counts the requests per key in a fixed table of small counters, two per key taken
from different bits of its hash, the smaller one being the count (a count-min sketch
of depth two): no allocation per key, a bounded memory, and no lock. What it can get
wrong only changes *when* an answer is kept, never which answer is served:
- a key whose two counters were both raised by other keys is counted too high, and
  its answer can be kept early (at most about one key asked once in sixty, just
  before the table is cleared; none just after);
- the table is cleared after a sixteenth as many recordings as it has counters, so a
  key whose requests are further apart than that starts again from zero (and the
  answer cache evaluates a kept answer again, without looking it up, until its key is
  counted back up);
- two threads counting at once can lose one count, so an answer can be kept late.

With one counter per key cleared after an eighth as many recordings (the first
version), up to one key asked once in eight was kept, more the fuller the table: under
``bench/load.py --soak 300`` the server's memory grew faster and faster through the
run (303.8 to 365.9 MiB, 44.7 MiB in its second half) as the caches filled with them.
"""

from __future__ import annotations

from collections.abc import Hashable


class Doorkeeper:
    """Counts requests per key; says when a key has been asked ``min_uses`` times.

    ``slots`` counters of one byte each (1 MiB by default), two per key, cleared after
    ``slots // 16`` recordings (requests for keys not yet admitted): by default a key is
    kept if asked again before 65,536 such requests have been counted after its first.
    With ``min_uses`` 1 every key is admitted at once and nothing is counted.
    """

    def __init__(self, min_uses: int, slots: int = 1 << 20) -> None:
        if not 1 <= min_uses <= 255:
            raise ValueError(f"min_uses must be between 1 and 255, not {min_uses}")
        if slots < 16 or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two, at least 16, not {slots}")
        self.min_uses = min_uses
        self._mask = slots - 1
        self._shift = slots.bit_length() - 1  # the second counter from the next bits
        self._counts = bytearray(slots)
        self._left = self._period = slots // 16  # recordings until the table is cleared
        self.declined = 0

    def _slots(self, key: Hashable) -> tuple[int, int]:
        digest = hash(key)
        return digest & self._mask, (digest >> self._shift) & self._mask

    def asked(self, key: Hashable) -> bool:
        """Record one request for ``key``; whether it has now been asked ``min_uses`` times.

        Until then the key's answer cannot be in the cache (it was never kept), so the
        caller need not look it up, coalesce it or keep it: it is only evaluated."""
        if self.min_uses == 1:
            return True
        first, second = self._slots(key)
        counts = self._counts
        count = min(counts[first], counts[second]) + 1
        if count >= self.min_uses:
            return True
        # Only counters below the new count are raised (conservative update): a counter
        # another key has raised further stays, so shared counters overcount less.
        if counts[first] < count:
            counts[first] = count
        if counts[second] < count:
            counts[second] = count
        self.declined += 1
        self._left -= 1
        if self._left <= 0:
            self._counts = bytearray(len(counts))
            self._left = self._period
        return False

    def admit(self, key: Hashable) -> None:
        """Count ``key`` as asked ``min_uses`` times already (a primed answer)."""
        if self.min_uses > 1:
            for slot in self._slots(key):
                self._counts[slot] = max(self._counts[slot], self.min_uses - 1)
