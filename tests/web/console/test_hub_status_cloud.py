"""The console's hub status says whether the hub joined a cloud, its last sync, and a sync
under way with its progress (what `fieldkit status` prints)."""

from __future__ import annotations

import time

from fieldkit.app.cloud import CloudLink, save_link, save_sync_status
from tests.web.console.conftest import Console, sign_in


async def test_a_hub_that_joined_no_cloud_says_how_to(console: Console) -> None:
    await sign_in(console.client)
    page = await console.client.get("/hub/status")
    assert "Not joined to a cloud" in page.text


async def test_the_last_sync_and_one_under_way_show_their_progress(console: Console) -> None:
    store = console.hub.store
    await save_link(store, CloudLink("https://cloud.example.org:8443", "St. Mary's", "secret"))
    await sign_in(console.client)
    assert "Never synced yet." in (await console.client.get("/hub/status")).text
    progress = {"sent": 5000, "received_new": 12, "left_to_send": 1200}
    await save_sync_status(store, {"state": "syncing", "progress": progress,
                                   "last_sync_at": time.time() - 600})  # fmt: skip
    page = (await console.client.get("/hub/status")).text
    assert "https://cloud.example.org:8443" in page
    assert "Syncing now: 5000 ops sent, 1200 to go." in page
    assert "Last sync 10 min ago: 5000 ops sent, 12 new received." in page
    assert "secret" not in page  # the credential is the hub's alone
    await save_sync_status(store, {"state": "failed", "error": "cannot reach the cloud"})
    page = (await console.client.get("/hub/status")).text
    assert "The last attempt failed: cannot reach the cloud" in page
