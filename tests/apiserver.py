"""A real Kubernetes control plane for tests: etcd and kube-apiserver on loopback.

The binaries come from ``make envtest`` (built from the Go module proxy into
``.tools/envtest``, see .ci/envtest) or from ``KUBEBUILDER_ASSETS``, the directory
controller-runtime's setup-envtest fills. The API server's serving certificate is made
with bindcheck's own certificate code; clients authenticate with a static token in
``system:masters``. Nothing listens beyond 127.0.0.1, and ``stop`` ends both processes.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from servers import free_port, stop, wait_for_port

from webhook.certs import write_certs

ROOT = Path(__file__).resolve().parents[1]
BINARIES = ("etcd", "kube-apiserver", "kubectl")
TOKEN = "bindcheck-tests-admin"  # a loopback test server's credential


def assets() -> Path:
    """The directory with etcd, kube-apiserver and kubectl: ``KUBEBUILDER_ASSETS`` when
    set, else what ``make envtest`` printed (building it when absent)."""
    given = os.environ.get("KUBEBUILDER_ASSETS")
    if given:
        path = Path(given)
    else:
        done = subprocess.run(
            ["bash", str(ROOT / ".ci" / "envtest")], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"make envtest failed:\n{done.stderr[-3000:]}")
        path = Path(done.stdout.strip().splitlines()[-1])
    missing = [b for b in BINARIES if not (path / b).is_file()]
    if missing:
        raise RuntimeError(f"{path} lacks {', '.join(missing)}")
    return path


class ControlPlane:
    """etcd and kube-apiserver, started in ``workdir``."""

    def __init__(self, bin_dir: Path, workdir: Path) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.kubeconfig = workdir / "kubeconfig"
        self.ca_file = workdir / "pki" / "ca.crt"

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> ControlPlane:
        try:
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfig()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc, timeout=20)
        self.procs.clear()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        proc = self._spawn(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--data-dir", str(self.workdir / "etcd"),
                "--listen-client-urls", self.etcd_url,
                "--advertise-client-urls", self.etcd_url,
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level", "warn",
            ],
        )  # fmt: skip
        wait_for_port(client, proc, timeout=30)

    def _start_apiserver(self) -> None:
        pki = self.workdir / "pki"
        write_certs(pki, ["localhost", "127.0.0.1"])
        sa_key = ec.generate_private_key(ec.SECP256R1())
        (pki / "sa.key").write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (pki / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        (pki / "tokens.csv").write_text(f'{TOKEN},admin,admin-uid,"system:masters"\n')
        self.port = free_port()
        proc = self._spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                "--etcd-servers", self.etcd_url,
                "--bind-address", "127.0.0.1",
                "--advertise-address", "127.0.0.1",
                "--secure-port", str(self.port),
                "--tls-cert-file", str(pki / "tls.crt"),
                "--tls-private-key-file", str(pki / "tls.key"),
                "--token-auth-file", str(pki / "tokens.csv"),
                "--authorization-mode", "RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc",
                "--service-account-key-file", str(pki / "sa.pub"),
                "--service-account-signing-key-file", str(pki / "sa.key"),
                "--service-cluster-ip-range", "10.0.0.0/24",
                "--disable-admission-plugins", "ServiceAccount",
                # the default reconciler refuses a loopback address (envtest sets none too)
                "--endpoint-reconciler-type", "none",
                "--cert-dir", str(pki),
                "--profiling=false",
                "-v=1",
            ],
        )  # fmt: skip
        wait_for_port(self.port, proc, timeout=60)

    def start_controller_manager(self, binary: Path) -> None:
        """kube-controller-manager with only the controller that writes a
        ValidatingAdmissionPolicy's status (its type checking); stopped with the rest."""
        self._spawn(
            "kube-controller-manager",
            [
                str(binary),
                "--kubeconfig", str(self.kubeconfig),
                "--controllers", "validatingadmissionpolicy-status-controller",
                "--leader-elect=false",
                "--bind-address", "127.0.0.1",
                "--secure-port", str(free_port()),
                "--use-service-account-credentials=false",
            ],
        )  # fmt: skip

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envtest",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority": str(self.ca_file),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "envtest", "context": {"cluster": "envtest", "user": "admin"}}],
            "current-context": "envtest",
        }
        self.kubeconfig.write_text(json.dumps(config))

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"control plane exited:\n{self.log('kube-apiserver')}")
            try:
                status, body = self.request("GET", "/readyz")
                if status == 200:
                    return
                last = str(body)
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"kube-apiserver not ready in {timeout}s: {last}")

    # --- clients ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: Any = None, token: str = TOKEN
    ) -> tuple[int, Any]:
        """One call to the API server: (status, decoded JSON body or text)."""
        status, answer, _ = self.call(method, path, body, token)
        return status, answer

    def call(
        self, method: str, path: str, body: Any = None, token: str = TOKEN
    ) -> tuple[int, Any, list[str]]:
        """(status, decoded JSON body or text, the texts of its Warning headers); as the
        admin unless ``token`` says who."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=context, timeout=30) as resp:
                status, raw, headers = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, raw, headers = err.code, err.read(), err.headers
        warnings = [_warning_text(h) for h in headers.get_all("Warning") or []]
        try:
            return status, json.loads(raw), warnings
        except ValueError:
            return status, raw.decode(errors="replace"), warnings

    def service_account_token(self, namespace: str, name: str) -> str:
        """A token for the service account ``namespace/name`` (created with its namespace
        when absent), from the TokenRequest API as kubelet gets a pod's."""
        for doc in ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                    {"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": name, "namespace": namespace}}):  # fmt: skip
            done = self.apply([doc])
            assert done.returncode == 0, done.stderr
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        status, body = self.request("POST", path, request)
        assert status == 201, body
        return str(body["status"]["token"])

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = False, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=cwd or ROOT,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done

    def apply(self, documents: list[dict[str, Any]] | str) -> subprocess.CompletedProcess[str]:
        text = (
            documents
            if isinstance(documents, str)
            else json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})
        )
        return self.kubectl("apply", "-f", "-", stdin=text)

    def wait_established(self, crd_names: list[str]) -> None:
        self.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s",
            *[f"crd/{n}" for n in crd_names], check=True,
        )  # fmt: skip


def _warning_text(header: str) -> str:
    """The text of ``299 - "text"`` (RFC 7234 warn-text, as the API server writes it)."""
    _code, _agent, quoted = header.split(" ", 2)
    return json.loads(quoted) if quoted.startswith('"') else quoted


def start(workdir: Path) -> ControlPlane:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return ControlPlane(assets(), workdir).start()
