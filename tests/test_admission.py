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


def test_the_counts_are_cleared_after_an_eighth_of_the_slots_recordings() -> None:
    door = Doorkeeper(2, slots=64)  # cleared after 8 recordings
    # Small ints are their own hashes: each of these keys has a counter of its own.
    assert not door.asked(0)
    assert [door.asked(i) for i in range(1, 8)] == [False] * 7  # the 8th recording clears
    assert not door.asked(0)  # counted afresh
    assert door.asked(0)


@pytest.mark.parametrize(("min_uses", "slots"), [(0, 64), (256, 64), (2, 0), (2, 100)])
def test_bad_arguments_are_refused(min_uses: int, slots: int) -> None:
    with pytest.raises(ValueError):
        Doorkeeper(min_uses, slots)


@pytest.mark.parametrize("value", [0, 256])
def test_the_setting_is_checked(value: int) -> None:
    with pytest.raises(ValueError, match="cache_min_uses"):
        load_settings(cache_min_uses=value)
