from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from webhook.cli import main


def test_certs_writes_a_ca_and_a_serving_cert_for_the_service(capsys, tmp_path):
    assert (
        main(["certs", "--service", "bindcheck", "--namespace", "wasm", "--out", str(tmp_path)])
        == 0
    )
    bundle = capsys.readouterr().out.strip()
    ca_pem = (tmp_path / "ca.crt").read_bytes()
    assert base64.b64decode(bundle) == ca_pem
    ca = x509.load_pem_x509_certificate(ca_pem)
    leaf = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "bindcheck", "bindcheck.wasm", "bindcheck.wasm.svc", "bindcheck.wasm.svc.cluster.local",
    ]  # fmt: skip
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    assert 300 <= days <= 400
    for key in ("tls.key", "ca.key"):
        assert (tmp_path / key).stat().st_mode & 0o777 == 0o600


def test_renewing_keeps_the_ca_so_the_ca_bundle_stays_valid(capsys, tmp_path):
    args = ["certs", "--service", "s", "--namespace", "n", "--out", str(tmp_path)]
    main(args)
    first_bundle = capsys.readouterr().out
    first_leaf = (tmp_path / "tls.crt").read_bytes()
    main(args)
    assert capsys.readouterr().out == first_bundle
    assert (tmp_path / "tls.crt").read_bytes() != first_leaf
