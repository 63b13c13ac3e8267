"""`fieldkit run` serves the JSON API on the console's HTTPS port (its own certificate checks
out), never on the residents' plain-HTTP port; tokens made and revoked by `fieldkit token`
beside the running hub count from the next request."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import httpx

from tests.web.serve import free_port, running_hub


def _token(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fieldkit", "--config", str(config), "token", *args],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.splitlines()[0]


def test_the_api_is_served_over_https_on_the_console_port_only(tmp_path: Path) -> None:
    port, console = free_port(), free_port()
    with running_hub(tmp_path, "127.0.0.1", port, console_port=console):
        config = tmp_path / "fieldkit.toml"
        token = _token(config, "create", "desk")
        trusted = ssl.create_default_context(cafile=str(tmp_path / "data" / "console-cert.pem"))
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(verify=trusted, timeout=10) as client:
            listed = client.get(f"https://127.0.0.1:{console}/api/v1/records", headers=auth)
            assert listed.status_code == 200
            assert listed.json() == {"records": [], "next_offset": None}
            plain = client.get(f"http://127.0.0.1:{port}/api/v1/records", headers=auth)
            assert plain.status_code == 403
            assert plain.json()["error"] == "https_only"
            _token(config, "revoke", "desk")
            revoked = client.get(f"https://127.0.0.1:{console}/api/v1/records", headers=auth)
            assert revoked.status_code == 401
