"""Languages: catalogs complete, chosen by Accept-Language or the switcher, nothing hard-coded."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources

import pytest
from babel.messages.pofile import read_po

from fieldkit.app.config import DEFAULT_LANGUAGES
from fieldkit.core.records import parse_draft
from fieldkit.errors import ValidationError
from fieldkit.web.i18n import choose_language, load_languages, parse_accept_language

from .conftest import ClientFactory, check, intake

LANGUAGES = load_languages(DEFAULT_LANGUAGES)
TRANSLATED = [code for code in DEFAULT_LANGUAGES if code != "en"]


def template_ids() -> set[str]:
    pot = resources.files("fieldkit.web") / "locale" / "messages.pot"
    return {m.id for m in read_po(pot.open("rb")) if m.id and isinstance(m.id, str)}


def test_the_six_languages_load_and_arabic_is_right_to_left() -> None:
    assert list(LANGUAGES) == ["en", "es", "ht", "vi", "zh", "ar"]
    assert [code for code, lang in LANGUAGES.items() if lang.rtl] == ["ar"]
    assert LANGUAGES["es"].name == "Español"
    assert LANGUAGES["zh"].name == "中文"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_of_the_template_is_translated(code: str) -> None:
    path = resources.files("fieldkit.web") / "locale" / code / "LC_MESSAGES" / "messages.po"
    catalog = read_po(path.open("rb"))
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert template_ids() - translated == set()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_validation_message_of_the_core_is_translated(code: str) -> None:
    bad = {
        "kind": "x", "category": "", "area": "a" * 61, "note": "n" * 281, "quantity": "q",
        "contact_phone": "call me", "share_contact": "maybe", "language": "!!",
    }  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        parse_draft(bad)
    messages = {e.message for e in caught.value.errors}
    messages |= {"Please enter a number from %(min)d to %(max)d."}
    assert messages <= template_ids()
    for message in messages:
        assert LANGUAGES[code].gettext(message) != message


@pytest.mark.parametrize(
    ("header", "expected"),
    [("es-MX,es;q=0.9,en;q=0.8", "es"), ("zh-Hans-CN,zh;q=0.9", "zh"), ("fr,ar;q=0.5", "ar"),
     ("de", "en"), ("", "en"), ("en;q=0, vi", "vi"), ("ht;q=0.2,vi;q=0.8", "vi")],
)  # fmt: skip
def test_accept_language_picks_the_best_offered_language(header: str, expected: str) -> None:
    assert choose_language(None, header, LANGUAGES).code == expected


def test_an_explicit_choice_beats_accept_language() -> None:
    assert choose_language("ht", "es", LANGUAGES).code == "ht"
    assert choose_language("xx", "es", LANGUAGES).code == "es"
    assert parse_accept_language("a;q=x, b") == ["b"]


async def test_the_page_follows_accept_language_and_offers_a_visible_switcher(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        page = await client.get("/", headers={"accept-language": "vi-VN,vi;q=0.9"})
    assert '<html lang="vi" dir="ltr">' in page.text
    assert "Tôi cần giúp đỡ" in page.text
    for code, lang in LANGUAGES.items():
        assert f'href="/?lang={code}"' in page.text
        assert f">{lang.name}</a>" in page.text


WORD = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script")
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


@pytest.mark.parametrize(
    "path", ["/", "/intake?kind=need", "/intake?kind=offer", "/board", "/status",
             "/status?ref=1", "/thanks", "/privacy"],
)  # fmt: skip
async def test_no_english_is_left_on_a_chinese_page(client_for: ClientFactory, path: str) -> None:
    async with client_for() as client:
        sep = "&" if "?" in path else "?"
        page = await client.get(f"{path}{sep}lang=zh", follow_redirects=True)
        form = await intake(client, lang="zh")
        posted = await client.post("/intake?lang=zh", data={**form, "category": ""})
        looked = await check(client, "1", "zh")
    allowed = {"St", "Mary's", "hub", "Riverside", "Downtown", "English", "Español", "Kreyòl",
               "Ayisyen", "Tiếng", "Việt", "Wi-Fi", "KQ", "XD", "XDP"}  # fmt: skip
    for html in (page.text, posted.text, looked.text):
        parser = _Text()
        parser.feed(html)
        text = " ".join(parser.chunks)
        words = {w for w in re.findall(WORD, text) if re.search("[A-Za-z]", w)}
        assert words - allowed == set(), path


async def test_form_errors_after_a_post_stay_in_the_chosen_language(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        form = await intake(client, lang="ht")
        form["area"] = ""
        page = await client.post("/intake?lang=ht", data=form)
    assert "Tanpri di ki zòn." in page.text
