"""A workload checked against the hosts the cluster really runs (issue 22): the Host
objects the runtime-operator publishes, on the real API server (tests/apiserver.py).

The Host CRD here is the v2.7.0 chart's in what matters (charts/runtime-operator/crds/
runtime.wasmcloud.dev_hosts.yaml: namespaced, hostId required, a status subresource),
so ``status.version`` is written through ``/status`` as the operator's host controller
writes it (internal/controller/runtime/host_controller.go: Status.Version =
heartbeat.GetVersion()).
"""

from __future__ import annotations

import pytest
from conftest import entry, workload

from webhook.cli import main
from webhook.fleet import releases_for

NS = "wasmcloud-system"
HOSTS = "/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/" + NS + "/hosts"
HOST_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "hosts.runtime.wasmcloud.dev"},
    "spec": {
        "group": "runtime.wasmcloud.dev",
        "names": {"kind": "Host", "listKind": "HostList", "plural": "hosts", "singular": "host"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {
                "type": "object", "required": ["hostId"],
                "properties": {
                    "hostId": {"type": "string"}, "hostname": {"type": "string"},
                    "httpPort": {"type": "integer", "format": "int32"},
                    "environment": {"type": "string"},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                               "properties": {"version": {"type": "string"}}},
                },
            }},
        }],
    },
}  # fmt: skip
PLANTED = {"edge-1": ("edge", "2.6.1"), "core-1": ("core", "2.7.0"),
           "legacy-1": ("legacy", "0.2.0"), "next-1": ("next", "2.9.0")}  # fmt: skip
KV = {"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}
TWO_NAMED = [
    entry(name="cache", config={"backend": "nats", "url": "nats://n:4222"}, **KV),
    entry(name="sessions", config={"backend": "redis", "url": "redis://r:6379"}, **KV),
]


@pytest.fixture(scope="module")
def hosts(control_plane):
    plane = control_plane
    assert plane.apply([HOST_CRD]).returncode == 0
    plane.wait_established([HOST_CRD["metadata"]["name"]])
    assert plane.apply([{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": NS}}]).returncode == 0  # fmt: skip
    for name, (group, version) in PLANTED.items():
        host = {"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "Host",
                "metadata": {"name": name, "labels": {"hostgroup": group}},
                "hostId": f"N{name}", "hostname": name, "httpPort": 8080}  # fmt: skip
        status, created = plane.request("POST", HOSTS, host)
        assert status == 201, created
        created["status"] = {"version": version}
        status, body = plane.request("PUT", f"{HOSTS}/{name}/status", created)
        assert status == 200, body
    yield plane
    for name in PLANTED:
        plane.request("DELETE", f"{HOSTS}/{name}")


def _check(capsys, plane, tmp_path, obj) -> tuple[int, str, str]:
    import json

    path = tmp_path / "w.json"
    path.write_text(json.dumps(obj))
    code = main(["check", "--kubeconfig", str(plane.kubeconfig), str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def _on(group: str | None) -> dict:
    obj = workload(TWO_NAMED, name=f"on-{group}")
    if group:
        obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": group}
    return obj


def test_hosts_on_a_release_without_multiplexers_refuse_two_named_entries(capsys, hosts, tmp_path):
    code, out, err = _check(capsys, hosts, tmp_path, _on("edge"))
    assert code == 1 and "[plugin-named-instances]" in out, out
    assert "4 Host object(s): checking against the cluster's wasmcloud@2.0.0 hosts" in err


def test_the_same_workload_on_the_v2_7_group_is_allowed(capsys, hosts, tmp_path):
    code, out, _ = _check(capsys, hosts, tmp_path, _on("core"))
    assert code == 0 and "allowed" in out, out


def test_a_selector_no_host_matches_names_the_clusters_groups(capsys, hosts, tmp_path):
    code, out, _ = _check(capsys, hosts, tmp_path, _on("gpu"))
    assert "[hostgroup-unmatched]" in out and "the cluster's Host objects" in out
    assert "edge (hostgroup=edge)" in out and "core (hostgroup=core)" in out and code == 0


def test_a_workload_any_host_may_run_is_checked_against_every_release(capsys, hosts, tmp_path):
    code, out, _ = _check(capsys, hosts, tmp_path, _on(None))
    assert code == 1
    # raised once, by the releases without a key-value multiplexer (v2.7.0 has one)
    assert out.count("[plugin-named-instances]") == 1
    assert "(on the cluster's wasmcloud@2.0.0, wasmcloud@2.0.3, wasmcloud@2.6.1 hosts)" in out
    assert "wasmcloud@2.7.0 hosts)" not in out


def test_versions_that_name_no_release_exactly_are_reported(capsys, hosts, tmp_path):
    _, _, err = _check(capsys, hosts, tmp_path, _on("core"))
    assert (
        "Host wasmcloud-system/next-1: version 2.9.0 is no release bindcheck knows: "
        "checked as wasmcloud@2.7.0, the nearest older one" in err
    )
    assert "Host wasmcloud-system/legacy-1: 0.2.0 is any of v2.0.0 to v2.0.5" in err


def test_kubeconfig_and_an_explicit_host_release_do_not_mix(capsys, hosts, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("{}")
    argv = ["check", "--kubeconfig", str(hosts.kubeconfig), "--host", "wasmcloud@2.6", str(path)]
    assert main(argv) == 2 and "drop --host/--catalog" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("version", "models", "noted"),
    [("2.6.1", ("wasmcloud@2.6.1",), False), ("v2.5.2", ("wasmcloud@2.5.2",), False),
     ("0.2.0", ("wasmcloud@2.0.0", "wasmcloud@2.0.3"), True),
     ("2.6.5", ("wasmcloud@2.6.1",), True), ("1.9.0", ("wasmcloud@2.0.0",), True),
     ("", ("wasmcloud@2.7",), True), ("banana\x1b[31m", ("wasmcloud@2.7",), True)],
)  # fmt: skip
def test_a_host_version_maps_to_the_release_it_runs(version, models, noted):
    got, note = releases_for(version)
    assert got == models and (note is not None) == noted
    assert note is None or "\x1b" not in note


def test_audit_judges_the_clusters_objects_against_the_clusters_hosts(capsys, hosts):
    from crds import crds

    docs = crds("chart-v2.7.0")
    assert hosts.apply(docs).returncode == 0
    hosts.wait_established([d["metadata"]["name"] for d in docs])
    obj = _on("edge")
    obj["metadata"]["namespace"] = NS
    path = f"/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/{NS}/workloaddeployments"
    status, body = hosts.request("POST", path, obj)
    assert status == 201, body  # the v2.7.0 CRDs admit it; the v2.6.1 hosts cannot run it
    try:
        code = main(["audit", "--kubeconfig", str(hosts.kubeconfig), "-n", NS])
        out, err = capsys.readouterr()
    finally:
        hosts.request("DELETE", f"{path}/on-edge")
    assert code == 1 and "[plugin-named-instances]" in out
    assert f"workloaddeployments/{NS}/on-edge: WorkloadDeployment/on-edge" in out
    assert "4 Host object(s): checking against" in err
