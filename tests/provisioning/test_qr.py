"""QR codes decode, with a real reader (zbarimg), to exactly what they were made from."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fieldkit.app.network import join_code, new_network
from fieldkit.provisioning.qr import png, svg, wifi_text

pytestmark = pytest.mark.skipif(
    shutil.which("zbarimg") is None, reason="apt-get install zbar-tools"
)


def scan(image: bytes, tmp_path: Path) -> str:
    path = tmp_path / "code.png"
    path.write_bytes(image)
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sbinary", str(path)],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.decode("utf-8").removesuffix("\n")


def test_a_join_codes_qr_scans_back_to_the_join_code(tmp_path: Path) -> None:
    code = join_code(new_network("fieldkit", "EU_868", emergency="Llame al 112 — أو اتصل"))
    assert scan(png(code), tmp_path) == code


def test_the_wifi_qr_names_the_open_network_with_its_special_characters_escaped(
    tmp_path: Path,
) -> None:
    text = wifi_text('St. Mary\'s; "Aid": 1,2 \\ 互助')
    assert text == 'WIFI:S:St. Mary\'s\\; \\"Aid\\"\\: 1\\,2 \\\\ 互助;T:nopass;;'
    assert scan(png(text), tmp_path) == text


def test_the_svg_is_inline_markup_with_a_title_for_screen_readers() -> None:
    markup = svg("fkjoin1.abc", title="Join code")
    assert markup.startswith("<svg")
    assert markup.rstrip().endswith("</svg>")
    assert "<title>Join code</title>" in markup
