"""Reference codes as a key: a check symbol that catches typos, lookups by POST (codes stay out
of addresses and history), a growing limit on failed lookups, and forms that only this hub's
own pages can send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldkit.app.hub import Hub
from fieldkit.core.records import Status
from fieldkit.core.refcode import ALPHABET, Reading, display_code, format_code, read_code
from fieldkit.web.forms import FormTokens, same_origin
from fieldkit.web.lookups import FailedLookups

from .conftest import ClientFactory, check, code_of, fresh_token, intake

values = st.integers(0, (1 << 30) - 1)


@given(values)
def test_a_shown_code_reads_back_as_its_record_and_old_six_symbol_codes_still_do(v: int) -> None:
    ref = format_code(v)
    shown = display_code(ref)
    assert len(shown) == 8
    assert shown[-1] in ALPHABET  # the check symbol comes from the same 32 symbols
    assert read_code(shown).ref == ref
    assert read_code(shown.lower().replace("-", " ")).ref == ref
    assert read_code(ref) == read_code(ref.replace("-", ""))  # issued before: still valid
    assert read_code(ref).reading is Reading.OK


@given(values, st.integers(0, 6), st.integers(1, 31))
def test_every_single_wrong_symbol_is_a_typo(v: int, at: int, shift: int) -> None:
    symbols = display_code(format_code(v)).replace("-", "")
    wrong = ALPHABET[(ALPHABET.index(symbols[at]) + shift) % 32]
    typo = symbols[:at] + wrong + symbols[at + 1 :]
    assert read_code(typo).reading is Reading.TYPO


@given(values, st.integers(0, 6), st.integers(0, 6))
def test_every_swap_of_two_different_symbols_is_a_typo(v: int, i: int, j: int) -> None:
    symbols = list(display_code(format_code(v)).replace("-", ""))
    if symbols[i] == symbols[j]:
        return
    symbols[i], symbols[j] = symbols[j], symbols[i]
    assert read_code("".join(symbols)).reading is Reading.TYPO


def test_a_u_or_a_wrong_length_is_not_read_as_another_code() -> None:
    assert read_code("7KQ-4XUP").reading is Reading.TYPO  # U is in no code
    assert read_code("7KQ").reading is Reading.MALFORMED
    assert read_code("7KQ-4XDPQZ").reading is Reading.MALFORMED


async def test_a_typo_is_answered_as_a_typo_not_as_a_code_still_on_its_way(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        posted = await client.post("/intake", data=await intake(client))
        code = code_of((await client.get(posted.headers["location"])).text)
        typo = code[:-1] + ("0" if code[-1] != "0" else "1")
        answer = await check(client, typo, "es")
    assert answer.status_code == 400
    assert "Este código tiene un error de escritura" in answer.text
    assert "todavía" not in answer.text


async def test_no_page_puts_a_code_in_an_address(client_for: ClientFactory) -> None:
    async with client_for() as client:
        posted = await client.post("/intake", data=await intake(client))
        location = posted.headers["location"]
        thanks = await client.get(location)
        code = code_of(thanks.text)
        found = await check(client, code)
    for page, address in ((thanks, location), (found, str(found.url))):
        assert code not in address
        assert code.replace("-", "") not in address
        assert f"ref={code}" not in page.text  # no link carries it
        assert 'method="get" action="/status"' not in page.text
    assert found.status_code == 200
    assert "Received" in found.text


async def test_cancelling_needs_a_token_and_refuses_another_site(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        posted = await client.post("/intake", data=await intake(client))
        code = code_of((await client.get(posted.headers["location"])).text)
        (record,) = await hub.store.find_by_ref(code[:7])
        form = {"ref": code, "record": str(record.id), "confirm": "yes", "lang": "en"}
        without = await client.post("/cancel", data=form)
        forged = await client.post("/cancel", data={**form, "token": "A" * 34})
        form["token"] = await fresh_token(client)
        foreign = await client.post("/cancel", data=form, headers={"origin": "http://evil.example"})
        assert (without.status_code, forged.status_code, foreign.status_code) == (400, 400, 403)
        assert (await hub.store.get(record.id)).status is Status.OPEN  # type: ignore[union-attr]
        from_hub = await client.post("/cancel", data=form, headers={"origin": "null"})
    assert from_hub.status_code == 200
    assert (await hub.store.get(record.id)).status is Status.CANCELLED  # type: ignore[union-attr]


async def test_an_intake_without_its_token_is_not_saved_and_nothing_typed_is_lost(
    client_for: ClientFactory, hub: Hub
) -> None:
    async with client_for() as client:
        form = {**await intake(client), "note": "two small children"}
        del form["token"]
        page = await client.post("/intake", data=form)
        foreign = await client.post(
            "/intake", data=await intake(client), headers={"origin": "https://evil.example"}
        )
    assert page.status_code == 400
    assert "two small children" in page.text
    assert 'name="token" value="' in page.text
    assert foreign.status_code == 403
    assert sum((await hub.store.counts()).values()) == 0


async def test_failed_lookups_soon_have_to_wait_while_other_residents_do_not(
    client_for: ClientFactory,
) -> None:
    async with client_for(ip="10.42.0.66") as guesser:
        answers = [await check(guesser, display_code(format_code(v))) for v in range(1, 9)]
    assert [a.status_code for a in answers[:5]] == [404] * 5
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 2
    async with client_for(ip="10.42.0.67") as resident:
        assert (await check(resident, "ZZZ-ZZZ")).status_code == 404


def test_the_failed_lookup_wait_grows_and_is_forgiven_in_time() -> None:
    now = [0.0]
    guard = FailedLookups(
        free=2, first_wait=2, max_wait=60, forgive_after=100, clock=lambda: now[0]
    )
    waits = []
    for _ in range(8):
        guard.failed("a")
        waits.append(guard.wait("a"))
    assert waits == [0, 0, 2, 4, 8, 16, 32, 60]
    assert guard.wait("b") == 0
    now[0] = 10_000.0
    assert guard.wait("a") == 0


def test_the_hub_wide_limit_stops_guessers_from_many_addresses_but_not_a_clean_resident() -> None:
    now = [0.0]
    guard = FailedLookups(free=5, hub_burst=10, hub_per_second=0.1, clock=lambda: now[0])
    for i in range(10):
        guard.failed(f"guesser{i}")
    assert guard.wait("guesser0") > 0  # one failure each, but the hub's budget is spent
    assert guard.wait("resident") == 0
    now[0] = 100.0
    assert guard.wait("guesser0") == 0


def test_form_tokens_are_signed_and_expire_and_origins_are_checked() -> None:
    now = [1_000_000.0]
    tokens = FormTokens(b"k" * 32, clock=lambda: now[0], lifetime=3600)
    token = tokens.new()
    assert tokens.valid(token)
    assert not FormTokens(b"j" * 32).valid(token)
    assert not tokens.valid("x" * 34)
    now[0] += 3601
    assert not tokens.valid(token)
    assert same_origin(None, "10.42.0.1")
    assert same_origin("null", "10.42.0.1")
    assert same_origin("http://10.42.0.1:8080", "10.42.0.1:8080")
    assert not same_origin("http://evil.example", "10.42.0.1")
    assert not same_origin("http://10.42.0.1.evil.example", "10.42.0.1")
