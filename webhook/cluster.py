"""Reading a cluster's objects for ``bindcheck audit``: a kubeconfig, a TLS client, lists.

Only what kubectl's ``get`` needs of a kubeconfig is read: the context's cluster
(``server``, ``certificate-authority`` or ``-data``) and user (``token``,
``tokenFile``, ``client-certificate``/``client-key`` or their ``-data``). TLS is
verified always: ``insecure-skip-tls-verify`` and plain ``http://`` servers are
refused, and so are exec and auth-provider plugins (they run programs; use a token or
a client certificate). Lists are read in pages of :data:`PAGE`, each response at most
:data:`MAX_RESPONSE_BYTES`, the whole read within one deadline; no message ever holds a
credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webhook.errors import BindcheckError, InputError
from webhook.manifests import parse
from webhook.text import shown

PAGE = 500
"""Objects a list request asks for (``limit``); ``continue`` fetches the rest."""
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""One list page's body; 500 objects of the API server's 3 MiB limit would not fit, 500
real workloads do many times over."""
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where kubelet mounts a pod's service-account token and the cluster's CA."""
MAX_TOKEN_BYTES = 64 * 1024


class ClusterError(BindcheckError):
    """The cluster cannot be read: a kubeconfig that does not work, a refused request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The API server's HTTP status, when it answered (404: no such resource)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where to connect and as whom; ``token`` never reaches a message."""

    server: str
    context: ssl.SSLContext
    token: str | None

    def __repr__(self) -> str:  # a traceback or debugger shows no token
        return f"Credentials(server={self.server!r})"


def load_kubeconfig(path: str | None, context_name: str | None = None) -> Credentials:
    """The credentials of ``context_name`` (default: the current context) in ``path``
    (default: ``$KUBECONFIG``'s first file, else ``~/.kube/config``)."""
    source = path or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None)
    file = Path(source) if source else Path.home() / ".kube" / "config"
    try:
        if file.stat().st_size > MAX_KUBECONFIG_BYTES:
            raise ClusterError(f"{file}: over {MAX_KUBECONFIG_BYTES // 2**20} MiB")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClusterError(f"{file}: cannot read the kubeconfig: {exc}") from None
    try:
        docs = list(parse(text, str(file)))
    except InputError as exc:
        raise ClusterError(str(exc)) from None
    config = docs[0].obj if docs else None
    if not isinstance(config, dict):
        raise ClusterError(f"{file}: not a kubeconfig (no mapping)")
    return _credentials(config, file, context_name)


def in_cluster_credentials(
    root: Path = SERVICE_ACCOUNT, env: Mapping[str, str] = os.environ
) -> Credentials:
    """The pod's own service account, as client-go's ``rest.InClusterConfig`` reads it
    (staging/src/k8s.io/client-go/rest/config.go): ``KUBERNETES_SERVICE_HOST`` and
    ``_PORT``, the ``token`` and ``ca.crt`` under ``root``. Read anew for each use:
    kubelet renews the projected token well before it expires."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ClusterError(
            "not running in a pod (KUBERNETES_SERVICE_HOST and _PORT are unset): pass --kubeconfig"
        )
    try:
        with (root / "token").open("rb") as f:
            token = f.read(MAX_TOKEN_BYTES + 1).decode("ascii").strip()
        context = ssl.create_default_context(cafile=str(root / "ca.crt"))
    except (OSError, UnicodeDecodeError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ClusterError(
            f"cannot read the pod's service account in {root}: {why} (is "
            "automountServiceAccountToken off?)"
        ) from None
    if len(token) > MAX_TOKEN_BYTES or not token:
        raise ClusterError(f"{root}/token: empty or over {MAX_TOKEN_BYTES // 1024} KiB")
    address = f"[{host}]" if ":" in host else host  # an IPv6 service address
    return Credentials(f"https://{address}:{port}", context, token)


def _named(config: dict[str, Any], key: str, name: str, file: Path) -> dict[str, Any]:
    for item in config.get(key) or []:
        if isinstance(item, dict) and item.get("name") == name:
            inner = item.get(key[:-1])  # clusters -> cluster, users -> user, ...
            return inner if isinstance(inner, dict) else {}
    raise ClusterError(f"{file}: no {key[:-1]} named {shown(str(name), 80)!r}")


def _credentials(config: dict[str, Any], file: Path, context_name: str | None) -> Credentials:
    name = context_name or config.get("current-context")
    if not name:
        raise ClusterError(f"{file}: no current-context; pass --context")
    ctx = _named(config, "contexts", name, file)
    cluster = _named(config, "clusters", ctx.get("cluster", ""), file)
    user = _named(config, "users", ctx.get("user", ""), file) if ctx.get("user") else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise ClusterError(f"{file}: the cluster's server must be an https:// URL")
    if cluster.get("insecure-skip-tls-verify"):
        raise ClusterError(f"{file}: insecure-skip-tls-verify is refused: give the cluster's CA")
    if "exec" in user or "auth-provider" in user:
        raise ClusterError(
            f"{file}: the user authenticates with an exec or auth-provider plugin, which "
            "bindcheck does not run: use a token or a client certificate (a service account's)"
        )
    base = file.parent
    try:
        context = ssl.create_default_context(
            cafile=_path(cluster.get("certificate-authority"), base),
            cadata=_data(
                cluster.get("certificate-authority-data"), "certificate-authority-data", file
            ),
        )
    except (OSError, ssl.SSLError, ValueError):
        raise ClusterError(f"{file}: the cluster's certificate authority does not load") from None
    _client_certificate(context, user, base, file)
    token = user.get("token")
    token_file = _path(user.get("tokenFile"), base)
    if token is None and token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise ClusterError(f"{file}: cannot read the user's tokenFile: {why}") from None
    if token is not None and not isinstance(token, str):
        raise ClusterError(f"{file}: the user's token must be a string")
    return Credentials(server.rstrip("/"), context, token)


def _path(value: Any, base: Path) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return str(base / value)  # relative paths are relative to the kubeconfig, as kubectl reads


def _data(value: Any, key: str, file: Path) -> str | None:
    if value is None:
        return None
    try:
        return base64.b64decode(str(value), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise ClusterError(f"{file}: {key} is not base64 PEM") from None


def _client_certificate(
    context: ssl.SSLContext, user: dict[str, Any], base: Path, file: Path
) -> None:
    cert = _path(user.get("client-certificate"), base)
    key = _path(user.get("client-key"), base)
    cert_data = _data(user.get("client-certificate-data"), "client-certificate-data", file)
    key_data = _data(user.get("client-key-data"), "client-key-data", file)
    if not (cert or cert_data):
        return
    try:
        if cert_data is None:
            context.load_cert_chain(cert, key)  # type: ignore[arg-type]
            return
        # ssl loads a chain only from files: a private directory, gone once loaded
        with tempfile.TemporaryDirectory() as tmp:
            pair = Path(tmp) / "pair.pem"
            fd = os.open(pair, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(cert_data + "\n" + (key_data or Path(key or "").read_text()))
            context.load_cert_chain(pair)
    except (OSError, ssl.SSLError, ValueError):
        raise ClusterError(f"{file}: the user's client certificate and key do not load") from None


class Cluster:
    """List requests against one API server, within one deadline."""

    def __init__(self, credentials: Credentials, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout

    def list(
        self, group: str, version: str, plural: str, kind: str, namespace: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every object of a resource in ``namespace`` (default: every namespace), each with
        ``apiVersion`` and ``kind`` set (a list's items carry neither)."""
        api_version = f"{group}/{version}"
        scope = f"namespaces/{urllib.parse.quote(namespace, safe='')}/" if namespace else ""
        token: str | None = None
        while True:
            query = {"limit": str(PAGE)} | ({"continue": token} if token else {})
            path = f"/apis/{api_version}/{scope}{plural}?{urllib.parse.urlencode(query)}"
            page = self.get(path)
            items = page.get("items")
            if not isinstance(items, list):
                raise ClusterError(f"{plural}: the API server's list has no items")
            for item in items:
                if isinstance(item, dict):
                    yield {"apiVersion": api_version, "kind": kind, **item}
            meta = page.get("metadata")
            token = meta.get("continue") if isinstance(meta, dict) else None
            if not token:
                return

    def get(self, path: str) -> dict[str, Any]:
        """One object (or list page) at ``path``, as JSON."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ClusterError(f"reading the cluster took more than {self.timeout:g} s")
        # the server was checked to be https:// when the kubeconfig loaded
        request = urllib.request.Request(self.credentials.server + path)  # noqa: S310
        request.add_header("Accept", "application/json")
        if self.credentials.token:
            request.add_header("Authorization", f"Bearer {self.credentials.token}")
        where = shown(path.split("?")[0], 120)
        try:
            with urllib.request.urlopen(  # noqa: S310 (https only, as above)
                request, timeout=left, context=self.credentials.context
            ) as answer:
                body = answer.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status = _status_message(exc)
            raise ClusterError(f"GET {where}: {exc.code} {status}", exc.code) from None
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClusterError(f"GET {where}: {shown(str(reason), 200)}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise ClusterError(f"GET {where}: a page over {MAX_RESPONSE_BYTES // 2**20} MiB")
        try:
            data = json.loads(body)
        except ValueError:
            raise ClusterError(f"GET {where}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise ClusterError(f"GET {where}: the answer is not an object")
        return data


def _status_message(exc: urllib.error.HTTPError) -> str:
    """The API server's Status message (``forbidden: User ... cannot list ...``), clipped."""
    try:
        status = json.loads(exc.read(64 * 1024))
        return shown(str(status.get("message") or exc.reason), 300)
    except (ValueError, AttributeError, OSError):
        return shown(str(exc.reason), 100)
