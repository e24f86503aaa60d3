"""What the server reads of its TLS files, with the standard library alone.

Serving needs two facts of ``--cert-dir``: whether a pair is there, and when the
certificate expires (the ``bindcheck_certificate_expiry_seconds`` gauge). Reading them
with cryptography would load its Rust library and a second OpenSSL into every server,
about 8 MiB resident that nothing else on the serving path uses; cryptography is
loaded only to make certificates (webhook/certs.py) or check client CAs
(webhook/client_trust.py, with ``--client-ca``).
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from pathlib import Path

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.*?)-----END CERTIFICATE-----", re.S)
_SEQUENCE, _VERSION, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0xA0, 0x17, 0x18


def has_pair(cert_dir: Path) -> bool:
    """Whether ``cert_dir`` holds a serving pair (``tls.crt`` and ``tls.key``)."""
    return (cert_dir / "tls.crt").exists() and (cert_dir / "tls.key").exists()


def not_after(cert_path: Path) -> float:
    """Expiry of the first PEM certificate in the file, as a Unix timestamp.

    Read from its DER (RFC 5280 4.1: Certificate, tbsCertificate, validity, notAfter):
    ``ValueError`` for a file that holds no well-formed certificate there.
    """
    found = _PEM.search(cert_path.read_bytes())
    if found is None:
        raise ValueError(f"{cert_path} holds no PEM certificate")
    try:
        der = binascii.a2b_base64(found.group(1))
    except binascii.Error:
        raise ValueError(f"{cert_path}: the certificate is not valid base64") from None
    try:
        return _validity_end(der)
    except (IndexError, ValueError):
        raise ValueError(f"{cert_path}: not an X.509 certificate") from None


def _validity_end(der: bytes) -> float:
    inside, _ = _element(der, 0, _SEQUENCE)  # Certificate
    at, _ = _element(der, inside, _SEQUENCE)  # tbsCertificate
    if der[at] == _VERSION:  # [0] EXPLICIT version, absent in v1 certificates
        at = _element(der, at)[1]
    for _ in range(3):  # serialNumber, signature, issuer
        at = _element(der, at)[1]
    validity, _ = _element(der, at, _SEQUENCE)
    after = _element(der, validity)[1]  # past notBefore
    tag = der[after]
    value_start, value_end = _element(der, after)
    text = der[value_start:value_end].decode("ascii")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280 4.1.2.5.1: YY >= 50 is 19YY
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError("notAfter is not a time")
    when = dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
    return when.timestamp()


def _element(der: bytes, at: int, tag: int | None = None) -> tuple[int, int]:
    """(where the value of the DER element at ``at`` starts, where the element ends);
    ``ValueError`` when it is not ``tag`` or runs past the data."""
    if tag is not None and der[at] != tag:
        raise ValueError("unexpected DER tag")
    length, at = der[at + 1], at + 2
    if length & 0x80:  # long form: the next (length & 0x7F) bytes hold the length
        size = length & 0x7F
        if not 1 <= size <= 4 or at + size > len(der):
            raise ValueError("bad DER length")
        length, at = int.from_bytes(der[at : at + size], "big"), at + size
    if at + length > len(der):
        raise ValueError("DER element runs past the data")
    return at, at + length
