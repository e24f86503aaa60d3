"""What each enforcement mode adds to a create, as users see it: through a real
kube-apiserver (v1.37.2, `make envtest`), on loopback.

Each row creates objects one after another (server-side dry run, so etcd writes are
not measured and nothing piles up) over one keep-alive TLS connection, each with an
entry name never seen before, and prints p50/p99 of the whole API call next to the same
call with no admission of ours, in the same run. Modes: no admission, the webhook
(`bindcheck serve`, registered by URL as the chart registers it by Service), the
exported policies, both. CRDs are the pre-v2.7.0 shape, so the CRD's own rules cost
nothing and every object reaches bindcheck. Bounded: a fixed number of requests per row,
only 127.0.0.1 is contacted, and every process started here is stopped.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from apiserver import TOKEN, start  # noqa: E402
from crds import crds  # noqa: E402
from servers import free_port, wait_for_port  # noqa: E402

from webhook.core import build_validator  # noqa: E402
from webhook.export.vap import export_vap  # noqa: E402
from webhook.runtime.catalog_files import load_catalog  # noqa: E402
from webhook.violations import Policy  # noqa: E402

MODES = ("none", "webhook", "policy", "both")
WEBHOOK = "hostinterfaces.bindcheck.runtime.wasmcloud.dev"


def body(entries: int, n: int) -> dict[str, Any]:
    """An allowed WorkloadDeployment whose names are new on every call."""
    items: list[dict[str, Any]] = [
        {"namespace": "wasi", "package": "http", "interfaces": ["incoming-handler"],
         "config": {"host": "shop.example.com"}}
    ]  # fmt: skip
    for k in range(entries - 1):
        items.append(
            {"namespace": "wasi", "package": "keyvalue", "version": "0.2.0-draft",
             "interfaces": ["store"], "name": f"kv{k}-r{n}"}
        )  # fmt: skip
    return {
        "apiVersion": "runtime.wasmcloud.dev/v1alpha1",
        "kind": "WorkloadDeployment",
        "metadata": {"name": f"shop-{n}", "namespace": "bench"},
        "spec": {"template": {"spec": {"hostInterfaces": items}}},
    }


class Client:
    """One keep-alive TLS connection to the API server."""

    def __init__(self, port: int, ca: Path) -> None:
        ctx = ssl.create_default_context(cafile=str(ca))
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)

    def create(self, obj: dict[str, Any]) -> tuple[int, float]:
        data = json.dumps(obj).encode()
        started = time.perf_counter()
        self.conn.request(
            "POST",
            "/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/bench/workloaddeployments?dryRun=All",
            body=data,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        resp = self.conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - started


def measure(client: Client, entries: int, count: int, offset: int) -> list[float]:
    for n in range(20):  # warm-up
        client.create(body(entries, offset + n))
    times = []
    for n in range(count):
        status, took = client.create(body(entries, offset + 100 + n))
        if status != 201:
            raise SystemExit(f"expected 201, got {status}: the bench body must be allowed")
        times.append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per row (default 400)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bindcheck-apiserver-bench-"))
    plane = start(work / "plane")
    server = None
    try:
        plane.kubectl("create", "namespace", "bench", check=True)
        done = plane.apply(crds("chart-v2.6.1"))
        assert done.returncode == 0, done.stderr
        plane.wait_established([d["metadata"]["name"] for d in crds("chart-v2.6.1")])
        time.sleep(2)
        port = free_port()
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "bindcheck"), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--cert-dir", str(work / "certs")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(port, server)
        ca = base64.b64encode((work / "certs" / "ca.crt").read_bytes()).decode()
        webhook = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "bindcheck"},
            "webhooks": [{
                "name": WEBHOOK, "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 5,
                "clientConfig": {"url": f"https://127.0.0.1:{port}/validate", "caBundle": ca},
                "rules": [{"apiGroups": ["runtime.wasmcloud.dev"], "apiVersions": ["*"],
                           "operations": ["CREATE", "UPDATE"],
                           "resources": ["workloaddeployments", "workloadreplicasets",
                                         "workloads"]}],
            }],
        }  # fmt: skip
        policies = export_vap(
            build_validator(Policy.UPSTREAM, catalog=load_catalog(None))
        ).documents
        client = Client(plane.port, plane.ca_file)
        results: dict[tuple[str, int], list[float]] = {}
        for k, mode in enumerate(MODES):
            plane.kubectl("delete", "validatingwebhookconfiguration,validatingadmissionpolicy,"
                          "validatingadmissionpolicybinding", "--all")  # fmt: skip
            if mode in ("webhook", "both"):
                assert plane.apply([webhook]).returncode == 0
            if mode in ("policy", "both"):
                assert plane.apply(policies).returncode == 0
            time.sleep(3)  # admission configuration reaches the plugins through informers
            for entries in (3, 64):
                results[(mode, entries)] = measure(
                    client, entries, args.requests, offset=(k * 2 + (entries > 3)) * 100_000
                )
        print(f"Create through kube-apiserver v1.37.2 (dry run, sequential, {args.requests} "
              "requests a row, new entry names every call)")  # fmt: skip
        print(f"{'mode':8} {'entries':>7} {'p50 ms':>8} {'p99 ms':>8} {'+p50 vs none':>13}")
        for (mode, entries), times in results.items():
            times.sort()
            p50 = statistics.median(times) * 1000
            p99 = times[int(len(times) * 0.99) - 1] * 1000
            base = statistics.median(results[("none", entries)]) * 1000
            print(f"{mode:8} {entries:>7} {p50:8.2f} {p99:8.2f} {p50 - base:+12.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        plane.stop()


if __name__ == "__main__":
    main()
