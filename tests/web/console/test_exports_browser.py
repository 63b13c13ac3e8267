"""The console's exports in real headless Chromium (JavaScript off) against real hubs (`fieldkit
run`, HTTPS console): the printed list per area comes out as one page holding its records,
and a runner bundle downloaded at one hub's console is uploaded at another's, whose queue
then shows the records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fieldkit.web.console.exports import PRINT_ROWS, PRINT_ROWS_CONTACTS
from tests.waiting import wait_until
from tests.web.console.test_console_browser import PASSPHRASE, _answers, fieldkit
from tests.web.serve import free_port, init_hub, running_hub
from tests.web.test_browser import ARGS, CHROMIUM

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
LONG_NOTE = "Second floor, ring twice; two children and a grandmother who needs help " * 3


def records(n: int, area: str = "riverside", kind: str = "need") -> list[dict[str, Any]]:
    return [
        {"kind": kind, "category": "water", "urgency": ["critical", "today"][i % 2],
         "area": area, "quantity": i + 1, "quantity_unit": "people",
         "note": f"{LONG_NOTE} ({i})"[:280], "share_contact": True,
         "contact": {"name": f"Resident {i}", "phone": f"555 01{i:02d}",
                     "location": "the blue house behind the school on Elm Street"}}
        for i in range(n)
    ]  # fmt: skip


def pages_in(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@contextmanager
def console_at(root: Path, rows: list[dict[str, Any]]) -> Iterator[tuple[Path, str]]:
    config = init_hub(root)
    source = root / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fieldkit(config, "import", str(source))
    fieldkit(config, "passphrase", stdin=PASSPHRASE + "\n")
    port = free_port()
    with running_hub(root, "127.0.0.1", free_port(), console_port=port):
        url = f"https://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{url}/signin"), timeout=30, what="the hub's console")
        yield config, url


def sign_in(page: Any, url: str, name: str = "Ana") -> None:
    page.goto(f"{url}/exports")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("The hub's passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Exports and bundles"


@contextmanager
def browser(tmp_path: Path) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        try:
            yield chromium.new_context(java_script_enabled=False, ignore_https_errors=True)
        finally:
            chromium.close()


def test_the_printed_list_of_an_area_is_one_page_holding_its_open_records(
    tmp_path: Path,
) -> None:
    many = records(PRINT_ROWS + 6) + records(3, kind="offer") + records(2, area="downtown")
    with console_at(tmp_path / "hub", many) as (config, url), browser(tmp_path) as context:
        listed = json.loads("[" + ",".join(fieldkit(
            config, "records", "--area", "riverside", "--limit", "100", "--json"
        ).splitlines()) + "]")  # fmt: skip
        page = context.new_page()
        sign_in(page, url)
        page.get_by_label("Area").select_option("riverside")
        with context.expect_page() as opened:  # the form opens the list in a new tab
            page.get_by_role("button", name="Open the printable list").click()
        printed = opened.value
        printed.wait_for_load_state()
        printed.emulate_media(media="print")
        text = printed.locator("body").inner_text()
        assert "Riverside — open needs and offers" in text
        assert "More open records than fit on one page" in text
        shown = [r for r in listed if (r["ref"] or r["id"]) in text]
        assert len(shown) == PRINT_ROWS  # a full page, needs and offers alike
        assert {r["kind"] for r in shown} == {"need", "offer"}
        assert "555 01" not in text
        assert "Resident" not in text  # no contact details unless asked for
        assert not printed.get_by_role("link", name="Back to the console").is_visible()
        assert pages_in(printed.pdf(format="A4")) == 1

        printed.goto(f"{url}/print?area=riverside&contacts=1")
        printed.emulate_media(media="print")
        text = printed.locator("body").inner_text()
        assert "555 0100" in text
        assert len([r for r in listed if (r["ref"] or r["id"]) in text]) == PRINT_ROWS_CONTACTS
        assert pages_in(printed.pdf(format="A4")) == 1  # long notes and contacts still fit


def test_a_runner_bundle_downloaded_at_one_hub_is_uploaded_at_another(tmp_path: Path) -> None:
    hub1, hub2 = tmp_path / "hub1", tmp_path / "hub2"
    from_hub1 = records(2, area="hillside")
    with console_at(hub1, from_hub1) as (config1, url1):
        key = fieldkit(config1, "key").strip()
        made_at_hub1 = [
            json.loads(line) for line in fieldkit(config1, "records", "--json").splitlines()
        ]
        assert len(made_at_hub1) == 2
        init_hub(hub2)
        subprocess.run(
            [sys.executable, "-m", "fieldkit", "init", "--dir", str(hub2), "--force",
             "--network-key", key], check=True, capture_output=True,
        )  # fmt: skip
        with console_at(hub2, []) as (_, url2), browser(tmp_path) as context:
            page = context.new_page()
            sign_in(page, url1, "Ana")
            with page.expect_download() as downloading:
                page.get_by_role("link", name="Download a bundle of this hub").click()
            download = downloading.value
            assert download.suggested_filename.endswith(".fkb")
            carried = tmp_path / download.suggested_filename
            download.save_as(carried)

            sign_in(page, url2, "Ben")  # the runner's phone, at the other hub
            page.goto(f"{url2}/queue?kind=need&area=hillside")
            assert "Nothing here with these filters." in page.locator("table.q").inner_text()
            page.goto(f"{url2}/exports")
            page.get_by_label("Bundle from another hub").set_input_files(carried)
            page.get_by_role("button", name="Upload the bundle").click()
            assert "Bundle taken:" in page.get_by_role("status").inner_text()
            page.goto(f"{url2}/queue?kind=need&area=hillside")
            queue = page.locator("table.q tbody").inner_text()
            assert page.locator("table.q tbody tr").count() == 2
            for record in made_at_hub1:
                assert record["ref"] in queue

            damaged = tmp_path / "damaged.fkb"
            damaged.write_bytes(carried.read_bytes()[:-7])
            page.goto(f"{url2}/exports")
            page.get_by_label("Bundle from another hub").set_input_files(damaged)
            page.get_by_role("button", name="Upload the bundle").click()
            assert "damaged or cut short" in page.get_by_role("alert").inner_text()
