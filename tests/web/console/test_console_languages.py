"""The console speaks the residents' six languages: every string of its templates and code is
translated in every catalog (read from the sources, so a string added without a new
extraction fails here too), and a Chinese coordinator's pages hold no English."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_python
from babel.messages.pofile import read_po

from fieldkit.app.hub import Hub
from fieldkit.app.netkey import ensure_network_key
from fieldkit.core.records import Category, Contact, Draft, Kind, QuantityUnit, Urgency
from tests.web.console.conftest import Console, sign_in
from tests.web.test_languages import TRANSLATED, WORD, _Text

WEB = Path(__file__).parents[3] / "web"
#: The hub's own modules whose errors the console shows translated (FieldkitError.said).
HUB_SOURCES = [WEB.parent / "fieldkit" / "app" / name for name in ("hub.py", "coordinator.py")]
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def console_ids() -> set[str]:
    found: set[str] = set()
    for folder, method in ((WEB / "templates" / "console", "jinja2"), (WEB / "console", "python")):
        pattern = "**.html" if method == "jinja2" else "**.py"
        for _file, _line, message, _comments, _context in extract_from_dir(
            folder, method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
    for source in HUB_SOURCES:
        with source.open("rb") as file:
            found |= {m for _, _, m, _ in extract_python(file, list(KEYWORDS), [], {}) if m}
    return found


def test_the_console_sources_hold_strings_to_translate() -> None:
    ids = console_ids()
    assert len(ids) > 100
    assert {"Sign in to the coordinator console", "same area", "Upload the bundle"} <= ids
    assert "no record %(record)s on this hub" in ids  # the hub's own errors, as the console shows


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_console_string_is_translated_in_every_language(code: str) -> None:
    path = resources.files("fieldkit.web") / "locale" / code / "LC_MESSAGES" / "messages.po"
    catalog = read_po(path.open("rb"))
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    ids = console_ids()
    assert ids - translated == set()
    placeholder = re.compile(r"%\(\w+\)s")
    for message in catalog:
        if isinstance(message.id, str) and message.id in ids:
            assert sorted(placeholder.findall(message.id)) == sorted(
                placeholder.findall(str(message.string))
            ), message.id


NEED = Draft(Kind.NEED, Category.WATER, Urgency.TODAY, "riverside", note="family",
             quantity=4, quantity_unit=QuantityUnit.PEOPLE,
             contact=Contact("Ana", "555 0100", ""))  # fmt: skip
OFFER = Draft(Kind.OFFER, Category.WATER, Urgency.TODAY, "riverside", note="bottles",
              quantity=6, quantity_unit=QuantityUnit.PEOPLE)  # fmt: skip
#: Words that are names, formats or commands, the same in every language.
ALLOWED = {"St", "Mary's", "Mary’s", "hub", "Riverside", "Downtown", "Ana", "CSV", "HXL", "GeoJSON",
           "MB", "fieldkit", "passphrase", "status", "UTC", "fkb", "family", "bottles", "radio",
           "url", "cloud", "join", "URL", "CODE"}  # fmt: skip


async def test_no_english_is_left_on_a_chinese_coordinators_pages(
    console: Console, hub: Hub
) -> None:
    await ensure_network_key(hub.store)
    need = await hub.submit(NEED)
    offer = await hub.submit(OFFER)
    codes = [str(r.record.id) for r in (need, offer)] + [r.record.ref for r in (need, offer)]
    missing = f"{hub.id:08x}-999"  # no such record here: the hub's error, translated
    codes += [missing, f"{hub.id:08x}"]
    client = console.client
    client.headers["accept-language"] = "zh-CN,zh;q=0.9"
    signin = await client.get("/signin")
    await sign_in(client)
    pages = [signin.text]
    for path in ("/queue?kind=need", "/queue?kind=offer&category=food", f"/record/{need.record.id}",
                 "/exports", "/print?area=riverside", "/print?area=riverside&contacts=1",
                 "/exports?taken=1&seen=2", "/nowhere", "/hub/status", f"/record/{missing}",
                 "/record/nonsense"):  # fmt: skip
        pages.append((await client.get(path)).text)
    bundle = {"bundle": ("x.fkb", b"FK", "text/plain")}
    pages.append((await client.post("/bundle", data={}, files=bundle)).text)
    pages.append((await client.post(f"/record/{need.record.id}/status", data={"status": "x"})).text)
    for html in pages:
        parser = _Text()
        parser.feed(html)
        text = " ".join(parser.chunks)
        for code in codes:  # reference codes and record ids are no English
            text = text.replace(code, " ")
        words = {w for w in re.findall(WORD, text) if re.search("[A-Za-z]", w)}
        assert words - ALLOWED == set(), text[:300]
