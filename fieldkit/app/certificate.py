"""The console's TLS certificate: self-signed, made once per hub, its fingerprint shown.

The residents' Wi-Fi is open, so the console is served over HTTPS only. No authority can vouch
for a hub offline: coordinators check the certificate's SHA-256 fingerprint, which
``fieldkit status`` prints (and ``fieldkit init`` when it makes it), against what the browser
shows before typing the passphrase.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fieldkit.app.config import Config

CERT_FILE = "console-cert.pem"
KEY_FILE = "console-key.pem"
#: Pis without a real-time clock boot in the past: a certificate valid since 2000 still works.
NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
VALID_YEARS = 20


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint: str  # SHA-256 of the DER certificate, as browsers show it: "AB:CD:…"


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _names(config: Config) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {"127.0.0.1", str(config.hotspot.network.ip)}
    try:
        addresses.add(str(ipaddress.ip_address(config.web_host)))
    except ValueError:
        names.append(x509.DNSName(config.web_host))
    addresses -= {"0.0.0.0", "::"}
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)]
    return names


def make_certificate(config: Config) -> Certificate:
    """Write a new key and self-signed certificate into the hub's data folder."""
    key = ec.generate_private_key(ec.SECP256R1())
    until = NOT_BEFORE.replace(year=datetime.datetime.now(datetime.UTC).year + VALID_YEARS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, config.hub_name[:64])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(_names(config)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    config.data_dir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = config.data_dir / KEY_FILE, config.data_dir / CERT_FILE
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Certificate(cert_path, key_path, fingerprint(cert))


def load_certificate(config: Config) -> Certificate | None:
    """The hub's certificate, or None if it has none yet."""
    key_path, cert_path = config.data_dir / KEY_FILE, config.data_dir / CERT_FILE
    if not (cert_path.is_file() and key_path.is_file()):
        return None
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return Certificate(cert_path, key_path, fingerprint(cert))


def ensure_certificate(config: Config) -> tuple[Certificate, bool]:
    """The hub's certificate, made if missing; True if it was just made."""
    found = load_certificate(config)
    return (found, False) if found is not None else (make_certificate(config), True)
