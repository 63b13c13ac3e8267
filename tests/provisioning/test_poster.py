"""The wall poster: every language in its own direction, a Wi-Fi QR code that scans back, and
one A4 page out of real Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fieldkit.app.config import DEFAULT_LANGUAGES
from fieldkit.provisioning.poster import EMERGENCY, HEADING, JOIN, PURPOSE, SCAN, render_poster
from fieldkit.provisioning.qr import wifi_text
from fieldkit.web.i18n import load_languages

LANGUAGES = load_languages(DEFAULT_LANGUAGES)
SSID = 'St. Mary\'s; "Aid" <b>&</b> 互助'
EMERGENCY_LINE = "Call 911 or go to the fire station on Main St — اتصل بالرقم 911"
CHROMIUM = Path("/usr/bin/chromium")
ARABIC = re.compile("[\u0600-\u06ff]")


class _Sections(HTMLParser):
    """Each <section>'s lang, dir and text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, str, list[str]]] = []
        self._open = False
        self.bdi: list[str] = []
        self._in_bdi = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "section":
            self.sections.append((named.get("lang") or "", named.get("dir") or "", []))
            self._open = True
        self._in_bdi = tag == "bdi"

    def handle_endtag(self, tag: str) -> None:
        self._open = self._open and tag != "section"
        self._in_bdi = False

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.sections[-1][2].append(data.strip())
        if self._in_bdi:
            self.bdi.append(data)


def test_every_language_has_its_block_in_its_own_direction() -> None:
    html = render_poster("St. Mary's", SSID, EMERGENCY_LINE, LANGUAGES)
    parser = _Sections()
    parser.feed(html)
    assert [(lang, d) for lang, d, _ in parser.sections] == [
        (code, "rtl" if code == "ar" else "ltr") for code in DEFAULT_LANGUAGES
    ]
    texts = {lang: " ".join(chunks) for lang, _, chunks in parser.sections}
    assert "Ask for help, or offer it" in texts["en"]
    assert "Pida ayuda" in texts["es"]
    assert "求助" in texts["zh"]
    assert ARABIC.search(texts["ar"])
    assert not re.search("[A-Za-z]{3,}", texts["ar"].replace("Wi-Fi", ""))  # no English left
    # The Wi-Fi name is isolated (a Latin name inside Arabic stays whole), and escaped.
    assert parser.bdi == [SSID]
    assert "<b>&</b>" not in html
    assert html.startswith('<!doctype html>\n<html lang="en" dir="ltr">')


def test_the_emergency_line_is_shown_once_with_its_label_in_every_language() -> None:
    html = render_poster("Hub", "Aid", EMERGENCY_LINE, LANGUAGES)
    assert html.count(EMERGENCY_LINE) == 1
    for language in LANGUAGES.values():
        assert language.gettext(EMERGENCY) in html
    assert 'class="emergency"' not in render_poster("Hub", "Aid", "", LANGUAGES)


def test_an_arabic_first_hub_gets_a_right_to_left_page() -> None:
    html = render_poster("Hub", "Aid", "", load_languages(["ar", "en"]))
    assert '<html lang="ar" dir="rtl">' in html
    assert "امسح الرمز" in html  # the QR code's title, in the page's language


@pytest.mark.parametrize("code", [c for c in DEFAULT_LANGUAGES if c != "en"])
def test_every_poster_text_is_translated(code: str) -> None:
    language = LANGUAGES[code]
    for message in (HEADING, JOIN, PURPOSE, EMERGENCY, SCAN):
        translated = language.gettext(message)
        assert translated != message, (code, message)
        assert "%" not in translated


def _scan(png: Path) -> str:
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sbinary", str(png)],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.decode("utf-8").removesuffix("\n")


LONGEST = (  # the widest 32-byte Wi-Fi name, a long hub name, a long emergency line
    "Centro comunitario — Iglesia de Santa María de los Ángeles",
    "W" * 32,
    "Call 911, or go to the fire station on Main Street next to the school — اتصل بالرقم 911",
)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium")
@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="apt-get install zbar-tools")
@pytest.mark.parametrize(
    ("hub", "ssid", "line"),
    [("St. Mary's", SSID, EMERGENCY_LINE), LONGEST],
    ids=["hostile", "long"],
)
def test_chromium_prints_it_on_one_a4_page_and_its_qr_code_joins_the_wifi(
    tmp_path: Path, hub: str, ssid: str, line: str
) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    poster = tmp_path / "poster.html"
    poster.write_text(render_poster(hub, ssid, line, LANGUAGES), "utf-8")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
            page.goto(poster.as_uri())
            page.locator(".qr svg").screenshot(path=str(tmp_path / "qr.png"))
            pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    assert _scan(tmp_path / "qr.png") == wifi_text(ssid)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1  # one page, to tape up
