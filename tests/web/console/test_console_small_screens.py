"""The console in Arabic (right to left) on a 360 px phone in real headless Chromium: no page
reaches past the screen's edge (nothing scrolls sideways), from sign-in to the printed list."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.web.console.test_console_browser import RECORDS
from tests.web.console.test_exports_browser import console_at
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_small_screens import MEASURE

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
PAGES = ("/queue?kind=need", "/queue?kind=offer", "/exports", "/print?area=riverside",
         "/print?area=riverside&contacts=1", "/exports?taken=3&seen=40", "/hub/status")  # fmt: skip


def test_every_console_page_fits_a_360_px_phone_in_arabic(tmp_path: Path) -> None:
    long_note = {**RECORDS[0], "ref": "", "note": "مياه للشرب لعائلة من أربعة أفراد " * 8,
                 "contact": {"name": "أحمد", "phone": "555 0100",
                             "location": "البيت الأزرق خلف المدرسة"}}  # fmt: skip
    with (
        console_at(tmp_path / "hub", [*RECORDS, long_note]) as (_, url),
        playwright_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        context = browser.new_context(
            java_script_enabled=False, ignore_https_errors=True, locale="ar",
            viewport={"width": 360, "height": 640}, device_scale_factor=1,
        )  # fmt: skip
        page = context.new_page()
        seen: dict[str, object] = {}

        def measure(name: str) -> None:
            assert page.locator("html").get_attribute("dir") == "rtl"
            found = page.evaluate(MEASURE)
            if found["scroll"] > found["width"] or found["wide"]:
                seen[name] = found

        page.goto(f"{url}/signin")
        assert page.get_by_role("heading", level=1).inner_text() == "سجّل الدخول إلى لوحة المنسقين"
        measure("/signin")
        page.locator("#name").fill("أمينة")
        page.locator("#passphrase").fill("correct horse battery")
        page.locator("button[type=submit]").click()
        for path in PAGES:
            page.goto(f"{url}{path}")
            measure(path)
        page.goto(f"{url}/queue?kind=need")
        page.locator("table.q tbody a").first.click()
        measure("/record")
        browser.close()
    assert seen == {}, json.dumps(seen, ensure_ascii=False, indent=1)
