"""The real pages in real headless Chromium with JavaScript off, as a captive mini-browser.

Debian's chromium (/usr/bin/chromium) through Playwright; no browser is downloaded. Set
FIELDKIT_SCREENSHOT_DIR=docs/screenshots to refresh the README's screenshots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .serve import free_port, running_hub

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with running_hub(tmp_path / "hub", "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FIELDKIT_SCREENSHOT_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_spanish_resident_submits_a_need_reads_the_code_and_checks_its_status(
    base_url: str, shots: Path, tmp_path: Path
) -> None:
    requested: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        context = browser.new_context(
            java_script_enabled=False, locale="es-ES",
            viewport={"width": 390, "height": 844}, device_scale_factor=1,
        )  # fmt: skip
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))

        page.goto(f"{base_url}/")
        assert page.locator("html").get_attribute("lang") == "es"
        page.get_by_role("link", name="Necesito ayuda").click()

        assert page.get_by_role("heading", level=1).inner_text() == "¿Qué necesita?"
        page.get_by_label("Agua").check()  # the label holds the radio: a large touch target
        page.get_by_label("Hoy").check()
        page.get_by_label("¿Cuántas personas?").fill("4")
        page.get_by_label("Zona", exact=True).select_option("riverside")
        page.get_by_label("¿Algo más que deban saber").fill("Dos niños <b>pequeños</b>")
        page.screenshot(path=str(shots / "intake.png"), full_page=True)
        page.get_by_role("button", name="Enviar").click()

        assert page.get_by_role("heading", level=1).inner_text() == "Gracias, está guardado."
        code = page.locator(".code").inner_text()
        assert re.fullmatch(r"[0-9A-Z]{3}-[0-9A-Z]{4}", code)
        page.screenshot(path=str(shots / "thanks.png"), full_page=True)

        page.go_back()  # the back button and a second tap on "Enviar" …
        page.get_by_role("button", name="Enviar").click()
        assert page.locator(".code").inner_text() == code  # … change nothing

        page.get_by_role("button", name="Consultar el estado").click()
        assert "Recibida" in page.locator(".status").inner_text()
        page.screenshot(path=str(shots / "status.png"), full_page=True)

        page.get_by_label("Su código de referencia").fill(code.lower().replace("-", ""))
        page.get_by_role("button", name="Consultar", exact=True).click()
        assert code in page.locator(".card h2").inner_text()
        browser.close()
    assert requested
    assert all(url.startswith(base_url) for url in requested), requested
    for url in requested:  # the code never sits in an address, nor in the browser's history
        assert code not in url, url
        assert code.replace("-", "").lower() not in url.lower(), url
    health = httpx.get(f"{base_url}/healthz").json()
    assert health["records"] == 1
