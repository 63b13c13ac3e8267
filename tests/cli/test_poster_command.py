"""`fieldkit provision poster`, as a volunteer types it."""

from __future__ import annotations

from pathlib import Path

from .conftest import Fieldkit


def test_the_poster_needs_the_emergency_line_or_says_it_is_left_out(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    assert fieldkit(tmp_path, "init", "--name", "Library").code == 0
    refused = fieldkit(tmp_path, "provision", "poster")
    assert refused.code == 2
    assert "no network" in refused.err
    assert "--no-emergency" in refused.err
    assert not (tmp_path / "data" / "poster.html").exists()
    done = fieldkit(tmp_path, "provision", "poster", "--no-emergency")
    assert done.code == 0, done.err
    page = (tmp_path / "data" / "poster.html").read_text()
    assert 'class="emergency"' not in page
    assert "<bdi>Library</bdi>" in page


def test_the_poster_shows_the_networks_emergency_line_in_the_hubs_languages(
    fieldkit: Fieldkit, tmp_path: Path
) -> None:
    assert fieldkit(tmp_path, "init", "--name", "Library").code == 0
    line = "Call 112 or go to the fire station"
    assert fieldkit(tmp_path, "network", "new", "--region", "EU_868", "--emergency", line).code == 0
    out = tmp_path / "print" / "wall.html"
    env = {"FIELDKIT_LANGUAGES": "ar,es"}
    done = fieldkit(tmp_path, "provision", "poster", "--out", str(out), env=env)
    assert done.code == 0, done.err
    assert "in ar, es" in done.out
    page = out.read_text()
    assert line in page
    assert '<html lang="ar" dir="rtl">' in page
    assert 'lang="es" dir="ltr"' in page
    assert 'lang="en"' not in page
    assert out.stat().st_mode & 0o777 == 0o644
