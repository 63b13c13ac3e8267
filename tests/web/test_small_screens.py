"""Every resident page, in every language, on the smallest phones, in light and dark mode.

Real Debian Chromium (JavaScript off, as a captive mini-browser) against the real app under
real uvicorn: one browser, one context per (language, width, colour scheme), a few at a time.
A page fails when anything on it reaches past the screen's edge (the page scrolls sideways).
Set FIELDKIT_SCREENSHOT_DIR=docs/screenshots to refresh the README's screenshots.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from fieldkit.app.hub import Hub
from fieldkit.core.records import Category, Contact, Draft, Kind, Status, Urgency
from fieldkit.core.refcode import display_code
from fieldkit.web.app import create_app
from fieldkit.web.i18n import load_languages
from fieldkit.web.ratelimit import RateLimiter

from .conftest import intake, make_config
from .serve import serving

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LANGUAGES = tuple(load_languages(make_config().languages))
#: (width, height) of the smallest phones still in use: 320×568 (iPhone SE 1), 360×640.
SCREENS = ((320, 568), (360, 640))
SCHEMES = ("light", "dark")
AT_ONCE = 4  # contexts in parallel: the machine has two cores, shared
#: The need form on the smallest phone: the urgency question on the first screen, Send within
#: about three screens.
FORM_SCREENS = 3.3
FORM_TYPE = "application/x-www-form-urlencoded"
#: The README's screenshots (with FIELDKIT_SCREENSHOT_DIR set): Arabic, right to left.
SHOTS = {("ar", "home"), ("ar", "intake-need"), ("ar", "thanks-urgent"), ("ar", "status-found")}

#: What the browser measures: the page's scroll width, and whatever sticks out of the screen.
MEASURE = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.left < -0.5 || box.right > width + 0.5)) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className} [${Math.round(box.left)}, ` +
                `${Math.round(box.right)}]`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""
FORM_LAYOUT = """() => ({
  urgency: document.querySelector('#urgency').getBoundingClientRect().top + window.scrollY,
  send: document.querySelector('button.send').getBoundingClientRect().bottom + window.scrollY,
})"""
CODE_FONT = "getComputedStyle(document.querySelector('#ref')).fontFamily"
#: 200 % text size, as a resident who set large text on their phone (WCAG 1.4.4).
LARGE_TEXT = "document.documentElement.style.fontSize = '200%'"
#: axe-core, vendored from npm (tests/web/vendor/axe-core): every WCAG 2.1 A and AA rule.
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
AXE_RUN = """
;return axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  resultTypes: ['violations'],
}).then(r => r.violations.map(v => `${v.id}: ` + v.nodes.slice(0, 3).map(
  n => `${n.target.join(' ')} (${(n.any[0] || n.all[0] || {}).message || v.help})`).join('; ')));
"""


@dataclass(frozen=True)
class Visit:
    """One resident page: a GET of ``path``, or a POST of ``form`` to it."""

    name: str
    path: str
    form: dict[str, str] | None = None
    status: int = 200


@dataclass
class Seeded:
    code: str
    record: str
    token: str = ""
    thanks: dict[str, str] = field(default_factory=dict)  # urgency → its thank-you page
    matched: str = ""  # the code of a matched need
    erasable: tuple[str, str] = ("", "")  # the code and id of a need whose details get erased


async def seed(hub: Hub) -> Seeded:
    """A board with something in every list, and one need to look up."""
    long_note = "Distribution at the school gym from 9 to 5, bring containers " * 2
    for kind, category, area in [
        (Kind.NOTICE, Category.WATER, "riverside"),
        (Kind.OFFER, Category.FOOD, "downtown"),
        (Kind.OFFER, Category.ELDER_DISABILITY_CARE, "riverside"),
        (Kind.NEED, Category.MEDICAL_SUPPLIES, "downtown"),
    ]:
        await hub.submit(Draft(kind, category, Urgency.TODAY, area, note=long_note, quantity=40))
    done = await hub.submit(
        Draft(Kind.NEED, Category.ELDER_DISABILITY_CARE, Urgency.CRITICAL, "riverside")
    )
    matched = await hub.submit(Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "downtown"))
    await hub.set_status(matched.record.id, Status.MATCHED, "Pick up water at the school, 2–6 pm")
    seeded = Seeded(display_code(done.record.ref), str(done.record.id))
    seeded.matched = display_code(matched.record.ref)
    contact = Contact("Rosa Diaz", "+1 555 0100", "12 Elm St")
    erasable = await hub.submit(
        Draft(Kind.NEED, Category.FOOD, Urgency.TODAY, "riverside", note=long_note, contact=contact)
    )
    seeded.erasable = (display_code(erasable.record.ref), str(erasable.record.id))
    return seeded


async def submitted(base: str, seeded: Seeded) -> None:
    """A form token, and thank-you pages of an urgent and an ordinary need, as a phone gets
    them."""
    async with httpx.AsyncClient(base_url=base) as client:
        form = await intake(client)
        seeded.token = form["token"]
        for urgency in ("critical", "today"):
            posted = await client.post("/intake", data={**form, "urgency": urgency})
            seeded.thanks[urgency] = posted.headers["location"].split("&")[0]
            form["token"] = (await intake(client))["token"]


def visits(seeded: Seeded, lang: str) -> list[Visit]:
    code, record, token = seeded.code, seeded.record, seeded.token
    return [
        Visit("home", "/"),
        Visit("intake-need", "/intake?kind=need"),
        Visit("intake-offer", "/intake?kind=offer"),
        Visit("intake-errors", "/intake", {"kind": "need", "lang": lang}, 400),
        Visit("thanks", seeded.thanks["today"]),
        Visit("thanks-urgent", seeded.thanks["critical"]),
        Visit("board", "/board"),
        Visit("board-area", "/board?area=riverside"),
        Visit("privacy", "/privacy"),
        Visit("status", "/status"),
        Visit("status-found", "/status", {"ref": code, "lang": lang, "token": token}),
        Visit("status-matched", "/status", {"ref": seeded.matched, "lang": lang, "token": token}),
        Visit("status-typo", "/status", {"ref": "7KQ", "lang": lang, "token": token}, 400),
        Visit("cancel", "/cancel", {"ref": code, "record": record, "lang": lang, "token": token}),
        Visit("stale-form", "/cancel", {"ref": code, "record": record, "lang": lang}, 400),
        Visit(
            "erased",
            "/erase",
            {"ref": seeded.erasable[0], "record": seeded.erasable[1], "lang": lang, "token": token},
        ),
    ]


@pytest.fixture
async def base_url(hub: Hub) -> AsyncIterator[tuple[str, Seeded]]:
    seeded = await seed(hub)
    unlimited = RateLimiter(burst=100_000, per_second=100_000)
    app = create_app(hub, make_config(), write_limit=unlimited, flood_limit=unlimited)
    async with serving(app) as url:
        await submitted(url, seeded)
        yield url, seeded


async def open_page(page: Any, base: str, visit: Visit, lang: str) -> int:
    sep = "&" if "?" in visit.path else "?"
    url = f"{base}{visit.path}{sep}lang={lang}"
    if visit.form is None:
        response = await page.goto(url)
    else:  # a navigation that posts the form, as a tap on its button would

        async def post(route: Any) -> None:
            headers = {**route.request.headers, "content-type": FORM_TYPE}
            await route.continue_(method="POST", post_data=urlencode(visit.form), headers=headers)

        await page.route(url, post)
        response = await page.goto(url)
        await page.unroute(url, post)
    assert response is not None
    return int(response.status)


@pytest.mark.timeout(300)  # the whole matrix: about two minutes on two shared cores
async def test_every_page_fits_a_small_phone_in_every_language_light_dark_and_large_text(
    base_url: tuple[str, Seeded], tmp_path: Path
) -> None:
    base, seeded = base_url
    shots = os.environ.get("FIELDKIT_SCREENSHOT_DIR")
    problems: list[str] = []
    limit = asyncio.Semaphore(AT_ONCE)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip

        async def run(lang: str, screen: tuple[int, int], scheme: str, large: bool) -> None:
            async with limit:
                context = await browser.new_context(
                    java_script_enabled=False, color_scheme=scheme, device_scale_factor=1,
                    viewport={"width": screen[0], "height": screen[1]},
                )  # fmt: skip
                page = await context.new_page()
                for visit in visits(seeded, lang):
                    where = f"{lang} {screen[0]}px {scheme}{' 200%' if large else ''} {visit.name}"
                    status = await open_page(page, base, visit, lang)
                    if status != visit.status:
                        problems.append(f"{where}: HTTP {status}, expected {visit.status}")
                    if large:
                        await page.evaluate(LARGE_TEXT)
                    elif visit.name == "intake-need" and screen[0] == 320:
                        form = await page.evaluate(FORM_LAYOUT)
                        if form["urgency"] > screen[1] / 2:
                            problems.append(f"{where}: the urgency question is {form} px down")
                        if form["send"] > FORM_SCREENS * screen[1]:
                            problems.append(
                                f"{where}: Send is {form['send'] / screen[1]:.1f} screens down"
                            )
                    if visit.name == "status-found" and not await page.query_selector(
                        'form[action^="/erase"] button'
                    ):
                        problems.append(f"{where}: no form to delete the contact details")
                    if visit.name == "status":  # the code box keeps its large monospace font
                        font = await page.evaluate(CODE_FONT)
                        if "monospace" not in font:
                            problems.append(f"{where}: the code box's font is {font}")
                    seen = await page.evaluate(MEASURE)
                    if seen["scroll"] > seen["width"] or seen["wide"]:
                        problems.append(f"{where}: {seen['scroll']} px wide: {seen['wide']}")
                    shot = (lang, visit.name) in SHOTS and screen[0] == 360 and scheme == "light"
                    if shots and shot and not large:
                        path = Path(shots) / f"{visit.name}-{lang}.png"
                        await page.screenshot(path=str(path), full_page=True)
                await context.close()

        await asyncio.gather(
            *(run(lang, screen, scheme, False) for lang in LANGUAGES for screen in SCREENS
              for scheme in SCHEMES),
            *(run(lang, SCREENS[0], "light", True) for lang in LANGUAGES),
        )  # fmt: skip
        await browser.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.timeout(300)
async def test_every_page_passes_axe_wcag_2_1_aa_in_every_language_light_and_dark(
    base_url: tuple[str, Seeded], tmp_path: Path
) -> None:
    """axe-core needs scripts of its own: the pages have none (the CSP allows none), so turning
    them on for the check changes nothing on the page."""
    base, seeded = base_url
    run_axe = "async () => {" + AXE.read_text("utf-8") + AXE_RUN + "}"
    problems: list[str] = []
    limit = asyncio.Semaphore(AT_ONCE)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip

        async def run(lang: str, scheme: str) -> None:
            async with limit:
                context = await browser.new_context(
                    color_scheme=scheme, viewport={"width": 360, "height": 640}
                )
                page = await context.new_page()
                for visit in visits(seeded, lang):
                    await open_page(page, base, visit, lang)
                    for violation in await page.evaluate(run_axe):
                        problems.append(f"{lang} {scheme} {visit.name}: {violation}")
                await context.close()

        await asyncio.gather(*(run(lang, scheme) for lang in LANGUAGES for scheme in SCHEMES))
        await browser.close()
    assert problems == [], "\n".join(problems)
