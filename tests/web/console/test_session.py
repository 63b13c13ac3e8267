"""Console sessions (pure): a cookie opens only the session it was sealed for, until it
expires; a CSRF token belongs to one session; wrong passphrases wait longer each time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldkit.web.console.session import (
    MAX_DELAY_S,
    Session,
    SignInThrottle,
    clean_name,
    csrf_ok,
    csrf_token,
    new_session,
    seal,
    unseal,
)

KEY = b"k" * 32
NOW = 1_790_000_000.0
names = st.text(min_size=1, max_size=40).filter(lambda n: clean_name(n) == n)


@given(name=names, lifetime=st.integers(1, 10**6))
def test_a_sealed_session_opens_until_it_expires_and_not_after(name: str, lifetime: int) -> None:
    session = new_session(name, NOW, lifetime)
    cookie = seal(KEY, session)
    assert unseal(KEY, cookie, NOW) == session
    assert unseal(KEY, cookie, session.expires - 0.5) == session
    assert unseal(KEY, cookie, session.expires) is None
    assert unseal(b"x" * 32, cookie, NOW) is None  # a new passphrase made a new key


@given(name=names, position=st.integers(0, 10_000), byte=st.characters(codec="ascii"))
def test_any_change_to_a_cookie_opens_nothing(name: str, position: int, byte: str) -> None:
    cookie = seal(KEY, new_session(name, NOW))
    i = position % len(cookie)
    changed = cookie[:i] + byte + cookie[i + 1 :]
    if changed != cookie:
        assert unseal(KEY, changed, NOW) is None


def test_a_forged_payload_with_a_longer_expiry_is_refused() -> None:
    mine = seal(KEY, Session("Ana", int(NOW) + 60, "sid"))
    theirs = seal(b"guess" * 7, Session("Ana", int(NOW) + 10**9, "sid"))
    forged = theirs.partition(".")[0] + "." + mine.partition(".")[2]
    assert unseal(KEY, forged, NOW + 120) is None


def test_a_csrf_token_belongs_to_its_session_only() -> None:
    token = csrf_token(KEY, "sid-1")
    assert csrf_ok(KEY, "sid-1", token)
    assert not csrf_ok(KEY, "sid-2", token)
    assert not csrf_ok(KEY, "", csrf_token(KEY, ""))  # no session, no token
    assert not csrf_ok(KEY, "sid-1", "")


@given(failures=st.integers(1, 40))
def test_each_wrong_passphrase_waits_longer_up_to_the_limit(failures: int) -> None:
    now = [NOW]
    throttle = SignInThrottle(lambda: now[0])
    waits = []
    for _ in range(failures):
        throttle.failed("10.42.0.9")
        waits.append(throttle.wait("10.42.0.9"))
    assert waits == sorted(waits)
    assert waits[-1] == min(2.0 ** (failures - 1), MAX_DELAY_S)
    assert throttle.wait("10.42.0.10") == 0  # another address is not slowed
    now[0] += waits[-1]
    assert throttle.wait("10.42.0.9") == 0
    throttle.succeeded("10.42.0.9")
    throttle.failed("10.42.0.9")
    assert throttle.wait("10.42.0.9") == 1.0  # a success starts the count again


def test_a_name_is_plain_text_of_at_most_40_characters() -> None:
    assert clean_name("  Ana   María ") == "Ana María"
    assert clean_name("") is None
    assert clean_name("x" * 41) is None
    assert clean_name("Ana\x1b[31m") is None
