"""Safety first: the hub's emergency line on the home page, and what to do right now after an
urgent request, in every language."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from fieldkit.app.config import Config, parse_config, render_config
from fieldkit.app.hub import Hub
from fieldkit.errors import ConfigError

from .conftest import AREAS, ClientFactory, code_of, intake, make_config

LINE = "Call 911 or go to the fire station on Main St"
LINE_ES = "Llame al 911 o vaya a la estación de bomberos de Main St"
TOML = f"""
[hub]
name = "Hub"
[hub.emergency]
text = "{LINE}"
es = "{LINE_ES}"
"""


def test_the_emergency_line_is_given_per_language_and_as_written_elsewhere() -> None:
    config = parse_config(tomllib.loads(TOML), {}, Path("."))
    assert config.emergency_line("es") == LINE_ES
    assert config.emergency_line("zh") == LINE
    plain = parse_config({"hub": {"name": "Hub", "emergency": LINE}}, {}, Path("."))
    assert plain.emergency_line("ar") == LINE
    written = parse_config(tomllib.loads(render_config("Hub")), {}, Path("."))
    assert written.emergency_line("en") == ""  # `fieldkit init` writes the key, empty


@pytest.mark.parametrize(
    ("hub", "key"),
    [({"emergency": {"es": "x"}}, "hub.emergency.text"),
     ({"emergency": {"text": "x", "Spanish!": "y"}}, "hub.emergency.Spanish!"),
     ({"emergency": {"text": "x", "es": 3}}, "hub.emergency.es"),
     ({"emergency": "x" * 301}, "hub.emergency")],
)  # fmt: skip
def test_a_bad_emergency_line_names_its_key(hub: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"hub": {"name": "Hub", **hub}}, {}, Path("."))
    assert caught.value.key == key


def with_emergency(tmp: Path) -> Config:
    return replace(
        make_config(tmp), emergency=LINE, emergency_translations=(("es", LINE_ES),), areas=AREAS
    )


@pytest.mark.parametrize("lang", ["en", "es", "ht", "vi", "zh", "ar"])
async def test_the_home_page_shows_the_emergency_line_in_every_language(
    client_for: ClientFactory, tmp_path: Path, lang: str
) -> None:
    async with client_for(config=with_emergency(tmp_path)) as client:
        page = (await client.get(f"/?lang={lang}")).text
    assert (LINE_ES if lang == "es" else LINE) in page
    assert page.index('class="sos"') < page.index('href="/intake?kind=need')  # before the buttons


async def test_without_an_emergency_line_the_home_page_still_says_what_to_do(
    client_for: ClientFactory,
) -> None:
    async with client_for() as client:
        page = (await client.get("/?lang=es")).text
    assert "¿Está en peligro ahora mismo?" in page
    assert "llame al número de emergencias local" in page


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_after_an_urgent_need_the_page_says_what_to_do_right_now(
    client_for: ClientFactory, hub: Hub, tmp_path: Path, lang: str
) -> None:
    async with client_for(config=with_emergency(tmp_path)) as client:
        form = {**await intake(client, lang=lang), "urgency": "critical"}
        urgent = await client.get((await client.post("/intake", data=form)).headers["location"])
        form = await intake(client, lang=lang)
        ordinary = await client.get((await client.post("/intake", data=form)).headers["location"])
    words = {"en": "What to do right now", "ar": "ما يجب فعله الآن"}[lang]
    assert words in urgent.text
    assert LINE in urgent.text
    assert urgent.text.index(LINE) < urgent.text.index('class="code"')  # first, then the code
    assert code_of(urgent.text)
    assert words not in ordinary.text
