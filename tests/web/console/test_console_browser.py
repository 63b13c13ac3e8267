"""The console in real headless Chromium (JavaScript off) against two real hubs (`fieldkit
run`: uvicorn, HTTPS for the console): a coordinator signs in at hub 2, matches a resident's
need with an offer and a message, and the resident reads that message at hub 1 after the two
hubs sync (`fieldkit sync`, HTTP).

Set FIELDKIT_SCREENSHOT_DIR=docs/screenshots to refresh the README's console screenshots."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until
from tests.web.conftest import token_of
from tests.web.serve import free_port, init_hub, running_hub
from tests.web.test_browser import ARGS, CHROMIUM

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
PASSPHRASE = "correct horse battery"
RECORDS = [
    {"kind": "need", "category": "water", "urgency": "today", "area": "riverside",
     "quantity": 4, "quantity_unit": "people", "note": "family of four", "ref": "W4T-R00"},
    {"kind": "offer", "category": "water", "urgency": "today", "area": "riverside",
     "quantity": 40, "quantity_unit": "people", "note": "40 bottles at St. Mary's"},
]  # fmt: skip


def fieldkit(config: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fieldkit", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_coordinator_matches_a_need_and_the_resident_reads_the_message_at_another_hub(
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("FIELDKIT_SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    hub1, hub2 = tmp_path / "hub1", tmp_path / "hub2"
    config1 = init_hub(hub1)
    key = fieldkit(config1, "key").strip()
    config2 = init_hub(hub2)
    subprocess.run(
        [sys.executable, "-m", "fieldkit", "init", "--dir", str(hub2), "--force",
         "--network-key", key], check=True, capture_output=True,
    )  # fmt: skip
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    fieldkit(config1, "import", str(source))  # the resident's need reached hub 1
    port1, port2, console2 = free_port(), free_port(), free_port()
    with (
        running_hub(hub1, "127.0.0.1", port1),
        running_hub(hub2, "127.0.0.1", port2, console_port=console2),
    ):
        fieldkit(config2, "passphrase", stdin=PASSPHRASE + "\n")
        fieldkit(config2, "sync", f"http://127.0.0.1:{port1}")
        console = f"https://127.0.0.1:{console2}"
        wait_until(
            lambda: _answers(f"{console}/signin"), timeout=30, what="hub 2's console"
        )  # fmt: skip
        # the certificate served is the one whose fingerprint `fieldkit status` prints
        pem = ssl.get_server_certificate(("127.0.0.1", console2))
        der = ssl.PEM_cert_to_DER_cert(pem)
        served = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        assert json.loads(fieldkit(config2, "status", "--json"))["console"]["fingerprint"] == served

        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, headless=True,
                env={**os.environ, "HOME": str(tmp_path)},
            )  # fmt: skip
            # the certificate is self-signed: a coordinator compares its fingerprint (above)
            context = browser.new_context(java_script_enabled=False, ignore_https_errors=True)
            page = context.new_page()
            page.goto(f"{console}/")
            assert page.get_by_role("heading", level=1).inner_text().startswith("Sign in")
            page.get_by_label("Your name").fill("Ana")
            page.get_by_label("The hub's passphrase").fill(PASSPHRASE)
            page.get_by_role("button", name="Sign in").click()
            assert page.get_by_role("heading", level=1).inner_text() == "Needs"
            page.screenshot(path=str(shots / "console-queue.png"), full_page=True)
            page.get_by_role("link", name="W4T-R00").click()
            assert "same area · covers 4 of 4 people" in page.locator(".reason").first.inner_text()
            page.screenshot(path=str(shots / "console-record.png"), full_page=True)
            page.get_by_label("Message for the resident").first.fill(
                "Pick up water at St. Mary's, 2–6 pm"
            )
            page.get_by_role("button", name="Match").first.click()
            assert "Matched" in page.locator(".status").inner_text()
            assert "Ana" in page.locator("table.history").inner_text()
            page.screenshot(path=str(shots / "console-matched.png"), full_page=True)
            browser.close()

        fieldkit(config2, "sync", f"http://127.0.0.1:{port1}")  # the match travels to hub 1
        with httpx.Client(base_url=f"http://127.0.0.1:{port1}", timeout=10) as resident:
            form = {"ref": "W4T-R00", "token": token_of(resident.get("/status").text)}
            status = resident.post("/status", data=form).text  # looked up by POST
        assert "Pick up water at St. Mary&#39;s, 2–6 pm" in status


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, verify=False, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
