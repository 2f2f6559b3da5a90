"""Caches keep an answer only once it has been asked for ``min_uses`` times."""

from __future__ import annotations

import pytest

from eusdp.admission import Doorkeeper
from eusdp.config import load_settings


def test_a_key_is_admitted_when_asked_min_uses_times() -> None:
    door = Doorkeeper(3)
    assert [door.asked("q") for _ in range(4)] == [False, False, True, True]
    assert door.declined == 2


def test_min_uses_one_admits_every_key_and_counts_nothing() -> None:
    door = Doorkeeper(1)
    assert all(door.asked(f"q{i}") for i in range(100))
    assert door.declined == 0


def test_admit_counts_a_key_as_asked_enough() -> None:
    door = Doorkeeper(2)
    door.admit(("v1", "SELECT 1"))
    assert door.asked(("v1", "SELECT 1"))


def test_the_counts_are_cleared_after_a_sixteenth_of_the_slots_recordings() -> None:
    door = Doorkeeper(2, slots=128)  # cleared after 8 recordings
    # Small ints are their own hashes: their first counters are their own, their second
    # ones all the same (the bits above the seventh are zero), so each counts alone.
    assert not door.asked(0)
    assert [door.asked(i) for i in range(1, 8)] == [False] * 7  # the 8th recording clears
    assert not door.asked(0)  # counted afresh
    assert door.asked(0)


def test_a_key_is_counted_by_the_smaller_of_its_two_counters() -> None:
    door = Doorkeeper(2, slots=64)  # counters: the hash's low 6 bits, then the next 6
    assert not door.asked(3)  # counters 3 and 0
    assert not door.asked(64 + 3)  # counters 3 (raised by 3) and 1: the smaller is 0
    assert not door.asked(128)  # counters 0 (raised by 3) and 2
    assert door.asked(64)  # counters 0 and 1, both raised by others: counted too high


def test_one_off_keys_are_rarely_admitted_early() -> None:
    door = Doorkeeper(2, slots=1 << 16)  # cleared after 4,096 recordings
    early = sum(door.asked(("one-off", i)) for i in range(4_000))
    assert early < 4_000 // 50  # one counter each, as first written, kept about 1 in 30


@pytest.mark.parametrize(("min_uses", "slots"), [(0, 64), (256, 64), (2, 0), (2, 8), (2, 100)])
def test_bad_arguments_are_refused(min_uses: int, slots: int) -> None:
    with pytest.raises(ValueError):
        Doorkeeper(min_uses, slots)


@pytest.mark.parametrize("value", [0, 256])
def test_the_setting_is_checked(value: int) -> None:
    with pytest.raises(ValueError, match="cache_min_uses"):
        load_settings(cache_min_uses=value)
