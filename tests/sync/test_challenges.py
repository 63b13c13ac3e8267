"""Challenges: each taken once, only if issued here, and only while fresh."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldkit.sync.challenges import BYTES, Challenges


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_challenge_is_taken_once() -> None:
    challenges = Challenges()
    one, two = challenges.issue(), challenges.issue()
    assert len(one) == BYTES
    assert one != two
    assert challenges.take(two)
    assert challenges.take(one)
    assert not challenges.take(one)
    assert not challenges.take(bytes(BYTES))  # never issued


def test_a_challenge_expires_by_the_monotonic_clock() -> None:
    clock = Clock()
    challenges = Challenges(clock=clock, ttl=120)
    late = challenges.issue()
    clock.now += 100
    fresh = challenges.issue()
    clock.now += 21
    assert not challenges.take(late)  # 121 s old
    assert challenges.take(fresh)  # 21 s old


@given(st.integers(1, 50), st.integers(1, 200))
def test_at_most_cap_are_outstanding_and_the_newest_stay(cap: int, asked: int) -> None:
    challenges = Challenges(cap=cap)
    issued = [challenges.issue() for _ in range(asked)]
    kept = min(cap, asked)
    assert len(challenges) == kept
    assert not any(challenges.take(c) for c in issued[: asked - kept])  # the oldest gave way
    assert all(challenges.take(c) for c in issued[asked - kept :])
    assert len(challenges) == 0
