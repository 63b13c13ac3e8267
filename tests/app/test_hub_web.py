"""The hub's board page: public information only."""

from __future__ import annotations

from pathlib import Path

import httpx

from fieldkit.app.config import Area, Config
from fieldkit.app.hub import Hub
from fieldkit.app.import_export import import_file
from fieldkit.web.app import create_app

SAMPLE = Path(__file__).parents[2] / "fieldkit" / "data" / "sample.jsonl"


async def get(hub: Hub, path: str) -> httpx.Response:
    config = Config("St. Mary's <hub>", Path("."), areas=(Area("riverside", "Riverside"),))
    transport = httpx.ASGITransport(app=create_app(hub, config))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.local") as client:
        return await client.get(path)


async def test_the_board_shows_offers_notices_and_need_counts_but_no_personal_data(
    hub: Hub,
) -> None:
    await import_file(hub, SAMPLE)
    page = await get(hub, "/")
    assert page.status_code == 200
    assert "St. Mary&#39;s &lt;hub&gt;" in page.text
    assert "Boil water order for Riverside" in page.text
    assert 'water · Riverside: <span class="n">1–4</span>' in page.text  # a range, never "1"
    for private in ("555 01", "Ana", "blue house", "Insulin needs to stay cold"):
        assert private not in page.text


async def test_health_reports_the_hub_and_its_record_count(hub: Hub) -> None:
    await import_file(hub, SAMPLE)
    body = (await get(hub, "/healthz")).json()
    assert body == {"hub": f"{hub.id:08x}", "name": "St. Mary's <hub>", "records": 28}
