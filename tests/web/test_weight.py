"""Weight and self-containment: every resident page ≤ 14 KB on the wire, nothing external."""

from __future__ import annotations

import re

import httpx
import pytest

from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Draft, Kind, Urgency

from .conftest import ClientFactory, code_of, intake

BUDGET = 14 * 1024
HEADERS_ALLOWANCE = 600  # status line and headers travel too


async def fill_every_list(hub: Hub) -> None:
    """The heaviest board: the longest notes in a three-byte script, everywhere."""
    note = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(280))
    for i in range(60):
        kind = (Kind.NOTICE, Kind.OFFER, Kind.NEED)[i % 3]
        category = list(Category)[i % len(Category)]
        area = ("riverside", "downtown", f"街道{i}")[i % 3]
        await hub.submit(Draft(kind, category, Urgency.TODAY, area, note=note, quantity=i + 1))


async def wire_size(client: httpx.AsyncClient, path: str) -> tuple[int, int, str]:
    async with client.stream("GET", path, headers={"accept-encoding": "gzip"}) as answer:
        size = sum([len(chunk) async for chunk in answer.aiter_raw()])
        return answer.status_code, size, answer.headers.get("content-encoding", "")


@pytest.mark.parametrize("lang", ["en", "zh", "ar"])
async def test_every_resident_page_fits_in_14_kb_compressed_with_full_lists(
    client_for: ClientFactory, hub: Hub, lang: str
) -> None:
    await fill_every_list(hub)
    async with client_for() as client:
        posted = await client.post("/intake", data=await intake(client, lang=lang))
        thanks = posted.headers["location"].split("&lang=")[0]
        code = code_of((await client.get(thanks)).text)
        paths = ["/", "/board", "/board?area=riverside", "/intake?kind=need",
                 "/intake?kind=offer", thanks, f"/status?ref={code}",
                 "/status"]  # fmt: skip
        for path in paths:
            sep = "&" if "?" in path else "?"
            status, size, encoding = await wire_size(client, f"{path}{sep}lang={lang}")
            assert status == 200, path
            assert encoding == "gzip", path
            assert size + HEADERS_ALLOWANCE <= BUDGET, (path, size)


async def test_pages_reference_nothing_outside_the_hub(client_for: ClientFactory) -> None:
    async with client_for() as client:
        for path in ("/", "/intake?kind=need", "/board", "/status"):
            html = (await client.get(path)).text
            assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), path
            assert "@import" not in html
            assert "url(" not in html
            assert "<script" not in html
            assert "<link" not in html  # the stylesheet is inline


async def test_the_favicon_is_a_short_no_not_the_home_page(client_for: ClientFactory) -> None:
    async with client_for() as client:
        icon = await client.get("/favicon.ico")
    assert icon.status_code == 404
    assert icon.content == b""
