"""The serving path's reading of its TLS files, held to cryptography's reading of them."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from servers import heavy_libraries_serving_loads

from webhook.certs import make_ca, make_leaf, pem, write_local_certs
from webhook.tls_files import has_pair, not_after


def _self_signed(key, until: dt.datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "t")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(until)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "until",
    [
        dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # UTCTime, 20YY
        dt.datetime(2050, 1, 1, tzinfo=dt.UTC),  # GeneralizedTime from 2050 on
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # RFC 5280's "no expiry"
    ],
)
@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_not_after_reads_what_cryptography_reads(tmp_path, until, key):
    private = ec.generate_private_key(ec.SECP256R1()) if key == "ec" else (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )  # fmt: skip
    path = tmp_path / "tls.crt"
    path.write_bytes(_self_signed(private, until))
    expected = x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
    assert not_after(path) == expected.timestamp() == until.timestamp()


def test_not_after_of_a_chain_is_the_first_certificates(tmp_path):
    ca_key, ca = make_ca()
    _, leaf = make_leaf(ca_key, ca, ["localhost"])
    path = tmp_path / "tls.crt"
    path.write_bytes(b"a comment line\n" + pem(leaf) + pem(ca))
    assert not_after(path) == leaf.not_valid_after_utc.timestamp()
    assert leaf.not_valid_after_utc != ca.not_valid_after_utc


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",  # empty SEQUENCE
        b"-----BEGIN CERTIFICATE-----\nMIQ=\n-----END CERTIFICATE-----\n",  # length past data
        b"-----BEGIN CERTIFICATE-----\nAgEB\n-----END CERTIFICATE-----\n",  # an INTEGER
    ],
)
def test_not_after_refuses_what_is_not_a_certificate(tmp_path, text):
    path = tmp_path / "tls.crt"
    path.write_bytes(text)
    with pytest.raises(ValueError, match=r"tls\.crt"):
        not_after(path)


def test_every_truncation_of_a_certificate_is_refused_not_misread(tmp_path):
    _, ca = make_ca()
    der = ca.public_bytes(serialization.Encoding.DER)
    path = tmp_path / "tls.crt"
    for cut in range(0, len(der), 7):
        body = base64.encodebytes(der[:cut]).decode()
        path.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
        with pytest.raises(ValueError):
            not_after(path)


def test_has_pair_needs_both_files(tmp_path):
    assert not has_pair(tmp_path)
    write_local_certs(tmp_path)
    assert has_pair(tmp_path)
    (tmp_path / "tls.key").unlink()
    assert not has_pair(tmp_path)


def test_serving_with_a_pair_and_no_client_ca_never_loads_cryptography(tmp_path):
    # Its Rust library and second OpenSSL are about 8 MiB resident; the serving path
    # reads its pair with the standard library (webhook/tls_files.py).
    write_local_certs(tmp_path)
    assert heavy_libraries_serving_loads(tmp_path) == set()
