"""A workload checked against the hosts the cluster really runs (issue 22): the Host
objects the runtime-operator publishes, on the real API server (tests/apiserver.py).

The Host CRD here is the v2.7.0 chart's in what matters (charts/runtime-operator/crds/
runtime.wasmcloud.dev_hosts.yaml: namespaced, hostId required, a status subresource),
so ``status.version`` is written through ``/status`` as the operator's host controller
writes it (internal/controller/runtime/host_controller.go: Status.Version =
heartbeat.GetVersion()).
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import entry, workload
from test_server import Server, post, review

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


def _plant(plane, name: str, group: str, version: str) -> None:
    host = {"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "Host",
            "metadata": {"name": name, "labels": {"hostgroup": group}},
            "hostId": f"N{name}", "hostname": name, "httpPort": 8080}  # fmt: skip
    status, created = plane.request("POST", HOSTS, host)
    assert status == 201, created
    created["status"] = {"version": version}
    status, body = plane.request("PUT", f"{HOSTS}/{name}/status", created)
    assert status == 200, body


@pytest.fixture(scope="module")
def hosts(control_plane):
    plane = control_plane
    assert plane.apply([HOST_CRD]).returncode == 0
    plane.wait_established([HOST_CRD["metadata"]["name"]])
    assert plane.apply([{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": NS}}]).returncode == 0  # fmt: skip
    for name, (group, version) in PLANTED.items():
        _plant(plane, name, group, version)
    yield plane
    for name in PLANTED:
        plane.request("DELETE", f"{HOSTS}/{name}")


def _kubeconfig(plane, tmp_path, token: str):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": plane.url,
                                               "certificate-authority": str(plane.ca_file)}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))  # fmt: skip
    return path


def _check(capsys, plane, tmp_path, obj) -> tuple[int, str, str]:
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


# --- serve --discover-hosts -----------------------------------------------------------


def _answer(client, obj) -> dict:
    return post(client, review(obj))["response"]


def _eventually(probe, seconds: float = 15.0):
    import time

    deadline = time.monotonic() + seconds
    while True:
        got = probe()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_serve_judges_reviews_against_the_hosts_it_discovers_and_follows_them(hosts, tmp_path):

    argv = ("--discover-hosts", "--kubeconfig", str(hosts.kubeconfig), "--hosts-interval", "0.3")
    with Server(tmp_path / "certs", *argv) as server, server.client() as client:
        edge = _answer(client, _on("edge"))
        assert not edge["allowed"] and "plugin-named-instances" in edge["status"]["message"]
        assert _answer(client, _on("core"))["allowed"]
        ready = client.get("/readyz").json()
        assert ready["catalog"] == "the cluster's Host objects" and ready["hosts"]["objects"] == 4
        groups = {g["labels"]["hostgroup"]: g["releases"] for g in ready["hosts"]["groups"]}
        assert groups["edge"] == ["wasmcloud@2.6.1"] and groups["core"] == ["wasmcloud@2.7.0"]

        # a new group appears: its v2.5.2 hosts cannot run two named key-value entries
        gpu = _answer(client, _on("gpu"))
        assert gpu["allowed"] and "hostgroup-unmatched" in " ".join(gpu.get("warnings", []))
        _plant(hosts, "gpu-1", "gpu", "2.5.2")
        try:
            denied = _eventually(lambda: not _answer(client, _on("gpu"))["allowed"])
            assert denied, server.log_text()[-2000:]
        finally:
            hosts.request("DELETE", f"{HOSTS}/gpu-1")
        # gone again: the selector matches no host
        assert _eventually(lambda: _answer(client, _on("gpu"))["allowed"])
    log = server.log_text()
    assert log.count("the cluster's hosts changed") >= 3, log[-3000:]
    assert "Host wasmcloud-system/next-1: version 2.9.0 is no release" in log


def test_a_failed_pass_keeps_the_last_hosts_serving_and_says_so(hosts, tmp_path):

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(hosts.kubeconfig.read_bytes())
    argv = ("--discover-hosts", "--kubeconfig", str(kubeconfig), "--hosts-interval", "0.3")
    with Server(tmp_path / "certs", *argv) as server, server.client() as client:
        kubeconfig.write_text("clusters: [")  # a half-written file, or a bad edit
        problem = _eventually(lambda: client.get("/readyz").json().get("problems", {}).get("hosts"))
        assert problem and str(kubeconfig) in problem
        assert not _answer(client, _on("edge"))["allowed"]  # the last good hosts still judge
        kubeconfig.write_bytes(hosts.kubeconfig.read_bytes())
        assert _eventually(lambda: "problems" not in client.get("/readyz").json())
        metrics = client.get("/metrics").text
    assert 'bindcheck_config_reloads_total{result="error",what="hosts"}' in metrics
    assert 'bindcheck_last_reload_success_timestamp_seconds{what="hosts"}' in metrics


def test_the_pods_own_service_account_with_the_charts_rbac_lists_the_hosts(
    hosts, tmp_path, monkeypatch
):
    """What the pod does in a cluster: the projected token and CA, KUBERNETES_SERVICE_*,
    and exactly the RBAC the chart renders; without that RBAC the list is forbidden."""
    from test_chart import NS as CHART_NS
    from test_chart import by_kind, render

    from webhook.cluster import ClusterError
    from webhook.discovery import connector, current_hosts

    docs = render("--set", "discoverHosts.enabled=true")
    [deployment] = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    account = pod["serviceAccountName"]
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "token").write_text(hosts.service_account_token(CHART_NS, account))
    (mounted / "ca.crt").write_bytes(hosts.ca_file.read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(hosts.port))
    connect = connector(None, None, service_account=mounted)

    with pytest.raises(ClusterError) as refused:
        current_hosts(connect)
    assert refused.value.status == 403 and "cannot list resource" in str(refused.value)

    rbac = by_kind(docs, "ClusterRole") + by_kind(docs, "ClusterRoleBinding")
    assert len(rbac) == 2 and hosts.apply(rbac).returncode == 0
    try:
        listed = _eventually(lambda: _listed(connect), 10)  # RBAC caches refresh quickly
        assert sorted(h.name for h in listed) == sorted(PLANTED)
    finally:
        for doc in rbac:
            plural = doc["kind"].lower() + "s"
            hosts.request(
                "DELETE", f"/apis/rbac.authorization.k8s.io/v1/{plural}/{doc['metadata']['name']}"
            )


def _listed(connect):
    from webhook.cluster import ClusterError
    from webhook.discovery import current_hosts

    try:
        return current_hosts(connect)
    except ClusterError:
        return None


def test_without_a_pod_or_a_kubeconfig_discovery_says_what_is_missing(tmp_path, monkeypatch):
    from webhook.cluster import ClusterError, in_cluster_credentials

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterError, match="not running in a pod"):
        in_cluster_credentials(tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(ClusterError, match="automountServiceAccountToken"):
        in_cluster_credentials(tmp_path)


@pytest.mark.parametrize(
    ("argv", "says"),
    [(["--discover-hosts", "--catalog", "wasmcloud@2.6"], "drop --host/--catalog"),
     (["--kubeconfig", "k"], "are for --discover-hosts")],
)  # fmt: skip
def test_serve_refuses_discovery_flags_that_do_not_go_together(capsys, argv, says):
    assert main(["serve", *argv]) == 2 and says in capsys.readouterr().err


def test_a_forbidden_first_pass_serves_the_configured_catalog_and_says_why(hosts, tmp_path):

    token = hosts.service_account_token("no-rbac", "bindcheck")
    kubeconfig = _kubeconfig(hosts, tmp_path, token)
    argv = ("--discover-hosts", "--kubeconfig", str(kubeconfig))
    with Server(tmp_path / "certs", *argv) as server, server.client() as client:
        ready = client.get("/readyz").json()
        assert "forbidden" in ready["problems"]["hosts"] and ready["hosts"]["objects"] == 0
        assert ready["catalog"].endswith("(the cluster has no Host objects yet)")
        assert "response" in post(client, review(_on("edge")))
    assert token not in server.log_text()


def test_a_config_reload_keeps_judging_against_the_discovered_hosts(hosts, tmp_path):
    from conftest import PIN_RULE

    rules = tmp_path / "rules"
    rules.mkdir()
    argv = ("--discover-hosts", "--kubeconfig", str(hosts.kubeconfig), "--rules", str(rules),
            "--reload-interval", "0.2")  # fmt: skip
    core = _on("core")  # two named entries, no version: v2.7.0 hosts run it
    with Server(tmp_path / "certs", *argv) as server, server.client() as client:
        assert _answer(client, core)["allowed"]
        (rules / "pin.yaml").write_text(PIN_RULE)
        assert _eventually(lambda: not _answer(client, core)["allowed"])  # the new rule
        message = _answer(client, core)["status"]["message"]
        assert "must pin a version" in message and "plugin-named-instances" not in message
        edge = _answer(client, _on("edge"))["status"]["message"]
        assert "plugin-named-instances" in edge and "must pin a version" in edge


TWO_UNNAMED = workload([entry(**KV), entry(**KV)], name="twice")


@pytest.mark.parametrize("release", ["chart-v2.6.1", "chart-v2.7.0"])
def test_check_reads_the_clusters_own_crds_to_say_what_its_api_server_admits(
    capsys, hosts, tmp_path, release
):
    from crds import crds

    path = tmp_path / "w.json"
    path.write_text(json.dumps(TWO_UNNAMED))
    try:
        assert hosts.apply(crds(release)).returncode == 0
        argv = ["check", "--kubeconfig", str(hosts.kubeconfig), str(path), "--format", "json"]
        main(argv)
        [result] = json.loads(capsys.readouterr().out)["results"]
        said = result["apiServer"]
        assert said["crds"] == "cluster"
        assert said["admitted"] is (release == "chart-v2.6.1"), said
        # the kind's own verdict from the real API server agrees
        # the real API server agrees, once it serves the schema just stored
        created = {**TWO_UNNAMED, "metadata": {"name": "twice", "namespace": NS}}
        deadline = time.monotonic() + 30
        while True:
            status, body = hosts.request(
                "POST", "/apis/runtime.wasmcloud.dev/v1alpha1/namespaces/" + NS
                + "/workloaddeployments?dryRun=All", created,
            )  # fmt: skip
            if (status == 201) is said["admitted"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status in (201, 422) and (status == 201) is said["admitted"], body
        # --crds still wins when given
        main([*argv, "--crds", "chart@2.7"])
        [result] = json.loads(capsys.readouterr().out)["results"]
        assert result["apiServer"]["crds"] == "chart@2.7.0"
    finally:
        assert hosts.apply(crds("chart-v2.7.0")).returncode == 0


def test_without_the_right_to_read_crds_check_says_so_and_falls_back(capsys, hosts, tmp_path):
    hosts_only = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "hosts-only"},
         "rules": [{"apiGroups": ["runtime.wasmcloud.dev"], "resources": ["hosts"],
                    "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "hosts-only"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "hosts-only"},
         "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "hosts-only"}]},
    ]  # fmt: skip
    token = hosts.service_account_token("hosts-only", "reader")
    assert hosts.apply(hosts_only).returncode == 0
    path = tmp_path / "w.json"
    path.write_text(json.dumps(TWO_UNNAMED))
    kubeconfig = _kubeconfig(hosts, tmp_path, token)
    for _ in range(50):  # RBAC takes effect a moment after it is stored
        main(["check", "--kubeconfig", str(kubeconfig), str(path), "--format", "json"])
        out, err = capsys.readouterr()
        if "cannot read the cluster's Host objects" not in err:
            break
    assert "bindcheck: note: cannot read the cluster's CRDs (GET /apis/apiextensions.k8s.io" in err
    assert "403" in err and token not in err
    [result] = json.loads(out)["results"]
    assert result["apiServer"]["crds"] == "chart@2.7.0"


def test_a_catalog_that_extends_a_release_describes_the_clusters_hosts_of_it(
    capsys, hosts, tmp_path
):
    catalog = tmp_path / "edge-hosts.yaml"
    catalog.write_text("extends: wasmcloud@2.6\nwithoutPlugins: [wasi-keyvalue]\n")
    one_kv = [entry(name="cache", **KV)]
    for group, denied in (("edge", True), ("core", False)):
        obj = workload(one_kv, name=f"kv-on-{group}")
        obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": group}
        path = tmp_path / f"{group}.json"
        path.write_text(json.dumps(obj))
        argv = ["check", "--kubeconfig", str(hosts.kubeconfig), "--catalog", str(catalog)]
        code = main([*argv, str(path)])
        out, err = capsys.readouterr()
        # edge hosts run v2.6.1, which the catalog describes; core hosts run v2.7.0's model
        assert ("[interface-unavailable]" in out) is denied and code == int(denied), out
        assert f"wasmcloud@2.6.1 hosts, as {catalog} describes them" in err
    plain = tmp_path / "plain.yaml"
    plain.write_text(json.dumps({"hostGroups": [{"name": "g", "plugins": []}], "plugins": []}))
    argv = ["check", "--kubeconfig", str(hosts.kubeconfig), "--catalog", str(plain), str(path)]
    assert main(argv) == 2
    assert "takes a catalog that extends a release" in capsys.readouterr().err
