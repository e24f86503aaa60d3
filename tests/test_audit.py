"""``bindcheck audit`` against the real API server (tests/apiserver.py): the objects a
cluster already holds, judged as the webhook would judge their creation.

The CRDs are the v2.7.0 chart's; the objects planted are ones those CRDs admit and
the host then fails (a backend no plugin serves, an interface no plugin has), the
case an audit exists for.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import entry, workload
from crds import crds

import webhook.cluster
from webhook.cli import main

NS = "audit-objects"
PATHS = {"Workload": "workloads", "WorkloadDeployment": "workloaddeployments"}
KV = {"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}


def _create(plane, obj: dict[str, Any]) -> None:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = NS
    path = f"/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/{NS}/{PATHS[obj['kind']]}"
    status, body = plane.request("POST", path, obj)
    assert status == 201, body


@pytest.fixture(scope="module")
def planted(control_plane):
    plane = control_plane
    docs = crds("chart-v2.7.0")
    assert plane.apply(docs).returncode == 0
    plane.wait_established([d["metadata"]["name"] for d in docs])
    assert plane.apply([{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": NS}}]).returncode == 0  # fmt: skip
    objects = [
        workload([entry(**KV)], name="fine", kind="Workload"),
        workload(
            [entry(name="cache", config={"backend": "etcd"}, **KV)], name="etcd", kind="Workload"
        ),
        workload([entry("wasi", "nosuch", version="0.1.0")], name="nosuch"),
    ]
    for obj in objects:
        _create(plane, obj)
    yield plane
    for obj in objects:
        path = f"/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/{NS}/{PATHS[obj['kind']]}"
        plane.request("DELETE", f"{path}/{obj['metadata']['name']}")


def _audit(capsys, plane, *argv: str) -> tuple[int, str, str]:
    # the v2.7.0 model, whatever Host objects other tests left in the cluster
    code = main(["audit", "--kubeconfig", str(plane.kubeconfig), "-n", NS, "--host",
                 "wasmcloud@2.7", *argv])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_reports_what_enforcement_would_block(capsys, planted):
    code, out, err = _audit(capsys, planted)
    assert code == 1, out + err
    assert (
        f"workloaddeployments/{NS}/nosuch: WorkloadDeployment/nosuch (namespace {NS}): DENIED"
        in out
    )
    assert "[interface-unavailable]" in out
    assert f"workloads/{NS}/etcd: Workload/etcd (namespace {NS}): DENIED" in out
    assert "[backend-unknown]" in out
    assert f"workloads/{NS}/fine: Workload/fine (namespace {NS}): allowed" in out
    assert out.rstrip().endswith("3 objects checked, 2 denied, 0 skipped")
    assert "ratcheting lets them stand" in err


def test_audit_reads_every_page_of_a_list(capsys, planted, monkeypatch):
    monkeypatch.setattr(webhook.cluster, "PAGE", 1)  # one object per request: continue tokens
    code, out, _ = _audit(capsys, planted, "--format", "json")
    names = sorted(r["name"] for r in json.loads(out)["results"])
    assert code == 1 and names == ["etcd", "fine", "nosuch"]


def test_a_refused_token_exits_2_without_showing_it(capsys, planted, tmp_path):
    config = json.loads(planted.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-the-token-s3cr3t"
    bad = tmp_path / "kubeconfig"
    bad.write_text(json.dumps(config))
    code = main(["audit", "--kubeconfig", str(bad), "-n", NS, "--host", "wasmcloud@2.7"])
    out, err = capsys.readouterr()
    assert code == 2 and "401" in out and "s3cr3t" not in out + err


def test_an_unknown_context_and_an_absent_file_are_clear_errors(capsys, planted, tmp_path):
    assert _audit(capsys, planted, "--context", "nope")[0] == 2
    code = main(["audit", "--kubeconfig", str(tmp_path / "absent")])
    assert code == 2 and "cannot read the kubeconfig" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("cluster", "user", "says"),
    [
        ({"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}, {},
         "insecure-skip-tls-verify is refused"),
        ({"server": "http://127.0.0.1:1"}, {}, "must be an https:// URL"),
        ({"server": "https://127.0.0.1:1"}, {"exec": {"command": "aws"}},
         "exec or auth-provider plugin, which bindcheck does not run"),
        ({"server": "https://127.0.0.1:1", "certificate-authority-data": "!!"}, {},
         "certificate-authority-data is not base64 PEM"),
    ],
)  # fmt: skip
def test_kubeconfigs_bindcheck_will_not_use_are_refused_with_the_reason(
    capsys, tmp_path, cluster, user, says
):
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "k", "cluster": cluster}],
              "users": [{"name": "u", "user": user}],
              "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}  # fmt: skip
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    assert main(["audit", "--kubeconfig", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_a_cluster_that_does_not_answer_ends_the_audit_with_exit_2(capsys, planted, tmp_path):
    from servers import free_port

    config = json.loads(planted.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    code = main(["audit", "--kubeconfig", str(path), "--timeout", "5", "--host", "wasmcloud@2.7"])
    out, _ = capsys.readouterr()
    assert code == 2 and "Connection refused" in out and "1 unreadable input" in out
