"""The console's self-signed certificate: made once, its key private, its fingerprint stable."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from fieldkit.app.certificate import ensure_certificate, fingerprint, load_certificate
from fieldkit.app.config import Config


def test_a_certificate_is_made_once_with_a_private_key_and_the_hubs_addresses(
    tmp_path: Path,
) -> None:
    config = Config("St. Mary's hub", tmp_path, web_host="0.0.0.0")
    assert load_certificate(config) is None
    made, new = ensure_certificate(config)
    again, new_again = ensure_certificate(config)
    assert (new, new_again) == (True, False)
    assert again == made
    assert stat.S_IMODE(made.key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(made.cert_path.read_bytes())
    assert fingerprint(cert) == made.fingerprint
    assert len(made.fingerprint.split(":")) == 32
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    addresses = set(names.get_values_for_type(x509.IPAddress))
    assert addresses == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.42.0.1")}
    assert "localhost" in names.get_values_for_type(x509.DNSName)
