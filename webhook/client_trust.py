"""Which client certificates are trusted now: the CAs of ``--client-ca`` as last read.

An ``ssl.SSLContext`` can learn a CA (``load_verify_locations``) but never forget one,
so after a rotation its handshake still accepts the retired CA's clients. The context
is therefore taught every CA the file has held, and each connection's certificate is
checked once more, after the handshake, against the CAs the file holds now: the new
CA's clients are accepted at once, the retired CA's are refused, without a restart (as
kube-apiserver reloads its client CA while serving). Client certificates must be issued
directly by one of those CAs, as the API server's client certificate from a cluster CA
is.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from webhook.errors import ConfigError


class ClientTrust:
    """The current client CAs; :meth:`accepts` is called once per connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cas: tuple[x509.Certificate, ...] = read_cas(path)

    def reload(self) -> None:
        """Read the file again; a file that does not parse leaves the last good CAs."""
        self.cas = read_cas(self.path)

    def accepts(self, der: bytes | None) -> bool:
        if not der:
            return False
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return False
        for ca in self.cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
        return False


def read_cas(path: Path) -> tuple[x509.Certificate, ...]:
    try:
        cas = tuple(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load --client-ca {path}: {type(exc).__name__}") from None
    if not cas:
        raise ConfigError(f"--client-ca {path} holds no certificate")
    return cas
