"""A cloud's console in real headless Chromium, in each of its six languages on a 360 px phone:
a coordinator signs in with their own account (`fieldkit cloud user add`), reads the queues
of every enrolled hub, filters by one hub and opens a record; no page reaches past the
screen's edge, right to left in Arabic, and a wrong passphrase is told in the page's language.

The cloud is the real thing: `fieldkit cloud init` and `fieldkit run --role cloud` over HTTPS,
its records landed through the store's own ``ingest`` (what a hub's push lands)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fieldkit.app.config import DEFAULT_LANGUAGES, Area
from fieldkit.app.network import join_code, new_network
from fieldkit.core.ops import hub_name
from fieldkit.web.i18n import load_languages
from tests.test_readme_figures import bench
from tests.waiting import wait_until
from tests.web.console.test_console_browser import _answers
from tests.web.serve import free_port
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_small_screens import MEASURE

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
LANGUAGES = load_languages(DEFAULT_LANGUAGES)
WRONG = "Unknown name or wrong passphrase."
WAIT = "Too many wrong passphrases: wait %(n)s seconds, then try again."
ACCOUNT, PASSPHRASE = "أمينة Ruiz", "a coordinator's own passphrase"
console = bench("console.py")  # its records of 20 hubs, as the benchmark lands them


@contextmanager
def cloud_at(root: Path, records: int) -> Iterator[str]:
    root.mkdir()
    network = new_network("test", "US", areas=tuple(Area(a, a.title()) for a in console.AREAS))
    subprocess.run(
        [*console.FIELDKIT, "cloud", "init", "--dir", str(root), "--join-code",
         join_code(network), "--user", ACCOUNT],
        input=PASSPHRASE + "\n", check=True, capture_output=True, text=True,
    )  # fmt: skip
    asyncio.run(console.fill_cloud(root / "fieldkit.toml", records, 1))
    port = free_port()
    cloud = subprocess.Popen(
        [*console.FIELDKIT, "--config", str(root / "fieldkit.toml"), "run", "--role", "cloud",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"https://localhost:{port}"
        wait_until(lambda: _answers(f"{url}/signin"), timeout=30, what="the cloud's console")
        yield url
    finally:
        cloud.terminate()
        cloud.wait(timeout=30)


def overflow(page: Any, code: str, rtl: bool, name: str) -> dict[str, Any]:
    """The page is in ``code``, in its direction; what reaches past the screen's edge."""
    assert page.locator("html").get_attribute("lang") == code, name
    assert page.locator("html").get_attribute("dir") == ("rtl" if rtl else "ltr"), name
    found = page.evaluate(MEASURE)
    return {f"{code} {name}": found} if found["scroll"] > found["width"] or found["wide"] else {}


def test_a_clouds_console_fits_a_360_px_phone_in_every_language(tmp_path: Path) -> None:
    one_hub = hub_name(console.HUBS[3])
    pages = ["/queue?kind=need", "/queue?kind=offer", f"/queue?kind=need&origin={one_hub}",
             "/queue?kind=need&status=all&q=%2312", "/exports"]  # fmt: skip
    seen: dict[str, Any] = {}
    refusals: dict[str, str] = {}
    with cloud_at(tmp_path / "cloud", 400) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip

        def phone(code: str) -> Any:
            return browser.new_context(
                java_script_enabled=False, ignore_https_errors=True, locale=code,
                viewport={"width": 360, "height": 640}, device_scale_factor=1,
            ).new_page()  # fmt: skip

        for code, language in LANGUAGES.items():
            page = phone(code)
            page.goto(f"{url}/signin")
            seen.update(overflow(page, code, language.rtl, "/signin"))
            page.locator("#name").fill(ACCOUNT)
            page.locator("#passphrase").fill(PASSPHRASE)
            page.locator("button[type=submit]").click()
            for path in pages:
                page.goto(f"{url}{path}")
                assert page.locator("table.q tbody a").count() or path == "/exports", (code, path)
                seen.update(overflow(page, code, language.rtl, path))
            page.goto(f"{url}/queue?kind=need&origin={one_hub}")
            listed = page.locator("table.q tbody tr")
            assert listed.count() > 0
            assert all(one_hub in listed.nth(i).inner_text() for i in range(listed.count()))
            listed.locator("a").first.click()
            seen.update(overflow(page, code, language.rtl, "/record"))
        # Wrong passphrases last: each makes the next sign-in from this address wait longer.
        for code in LANGUAGES:
            page = phone(code)  # not signed in
            page.goto(f"{url}/signin")
            page.locator("#name").fill(ACCOUNT)
            page.locator("#passphrase").fill("not the passphrase")
            page.locator("button[type=submit]").click()
            refusals[code] = page.locator("main").inner_text()
            seen.update(overflow(page, code, LANGUAGES[code].rtl, "/signin refused"))
        browser.close()
    assert seen == {}, json.dumps(seen, ensure_ascii=False, indent=1)
    for code, language in LANGUAGES.items():  # told as wrong, or (soon after one) to wait
        wrong, wait = language.gettext(WRONG), language.gettext(WAIT)
        assert (wrong, wait) != (WRONG, WAIT) or code == "en"  # translated
        waiting = re.escape(wait).replace(re.escape("%(n)s"), r"\d+")
        assert wrong in refusals[code] or re.search(waiting, refusals[code]), refusals[code]
