"""The printable page for a join code: its QR code, the code as text, and the warning (pure)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from fieldkit.app.network import SECRET_WARNING, Network, join_code
from fieldkit.provisioning import qr


def render_join_sheet(network: Network, hub_name: str) -> str:
    env = Environment(
        loader=PackageLoader("fieldkit.provisioning", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"]),
    )
    code = join_code(network)
    return env.get_template("join-sheet.html.j2").render(
        network=network, hub_name=hub_name, code=code, warning=SECRET_WARNING,
        qr_svg=qr.svg(code, title=f"Join code for the {network.channel} network"),
    )  # fmt: skip
