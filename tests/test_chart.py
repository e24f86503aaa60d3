"""The Helm chart, rendered by helm and re-read by kubectl as a second parser."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from cryptography import x509

CHART = ROOT / "charts" / "bindcheck"
TOOLS = ROOT / ".tools" / "bin"
NS = "bindcheck-system"
# No image is published: the chart requires a repository (test below).
IMAGE = ["--set", "image.repository=registry.example.com/bindcheck"]


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `bash .ci/tools` (make test does)")
    return str(path)


def helm_template(*args: str, image: bool = True) -> str:
    """The chart rendered; ``image=False`` leaves out the image (policy enforcement)."""
    return subprocess.run(
        [tool("helm"), "template", "rel", str(CHART), "-n", NS, *(IMAGE if image else ()), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def helm_fails(*args: str) -> str:
    proc = subprocess.run(
        [tool("helm"), "template", "rel", str(CHART), *args], capture_output=True, text=True
    )
    assert proc.returncode != 0, proc.stdout[:500]
    return proc.stderr


def render(*args: str, image: bool = True) -> list[dict]:
    return [d for d in yaml.safe_load_all(helm_template(*args, image=image)) if d]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    [doc] = by_kind(docs, kind)
    return doc


@pytest.fixture(scope="module")
def default() -> list[dict]:
    return render()


def notes(tmp_path, *args: str) -> str:
    """NOTES.txt as Helm renders it after an install (``helm template`` leaves it out,
    and ``install --dry-run`` needs a cluster): a copy of the chart renders the same
    text through ``tpl`` into a ConfigMap."""
    copy = tmp_path / "chart"
    shutil.copytree(CHART, copy)
    (copy / "notes-src.txt").write_text((CHART / "templates" / "NOTES.txt").read_text())
    (copy / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data:\n  notes: {{ tpl (.Files.Get "notes-src.txt") . | quote }}\n'
    )
    proc = subprocess.run(
        [tool("helm"), "template", "rel", str(copy), "-n", NS, *args,
         "--show-only", "templates/zz-notes.yaml"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return yaml.safe_load(proc.stdout)["data"]["notes"]


def test_the_notes_name_the_emergency_lever_of_the_mode_installed(tmp_path):
    webhook = notes(tmp_path, *IMAGE)
    assert "kubectl patch validatingwebhookconfiguration rel-bindcheck" in webhook
    assert "validatingadmissionpolicybinding" not in webhook
    policy = notes(tmp_path / "p", "--set", "enforcement=policy")
    assert "deploy/" not in policy and "validatingwebhookconfiguration" not in policy
    selector = "app.kubernetes.io/instance=rel,app.kubernetes.io/name=bindcheck"
    assert f"kubectl delete validatingadmissionpolicybinding -l {selector}" in policy
    # the lever finds every binding the chart installs, and nothing else of the release
    docs = render("--set", "enforcement=policy", image=False)
    bindings = by_kind(docs, "ValidatingAdmissionPolicyBinding")
    assert bindings and all(
        b["metadata"]["labels"]["app.kubernetes.io/instance"] == "rel"
        and b["metadata"]["labels"]["app.kubernetes.io/name"] == "bindcheck"
        for b in bindings
    )
    both = notes(tmp_path / "b", *IMAGE, "--set", "enforcement=both")
    assert "validatingwebhookconfiguration" in both and "validatingadmissionpolicybinding" in both


def test_the_ci_values_files_lint_and_the_chart_can_be_a_dependency(tmp_path):
    for values in sorted((CHART / "ci").glob("*-values.yaml")):
        proc = subprocess.run(
            [tool("helm"), "lint", str(CHART), "-f", str(values)], capture_output=True, text=True
        )
        assert proc.returncode == 0, values.name + proc.stdout + proc.stderr
    # An umbrella chart: Helm hands every dependency the parent's `global` values.
    parent = tmp_path / "platform"
    (parent / "charts").mkdir(parents=True)
    shutil.copytree(CHART, parent / "charts" / "bindcheck")
    (parent / "Chart.yaml").write_text(
        "apiVersion: v2\nname: platform\nversion: 1.0.0\n"
        "dependencies: [{name: bindcheck, version: 0.1.0}]\n"
    )
    (parent / "values.yaml").write_text(
        "global: {imageRegistry: registry.example.com}\n"
        "bindcheck: {image: {repository: registry.example.com/bindcheck}}\n"
    )
    proc = subprocess.run(
        [tool("helm"), "template", "rel", str(parent), "-n", NS], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "kind: ValidatingWebhookConfiguration" in proc.stdout


def test_the_network_policy_leaves_the_helm_test_pod_alone(default):
    [policy] = by_kind(default, "NetworkPolicy")
    selector = policy["spec"]["podSelector"]
    [test_pod] = [d for d in default if d["kind"] == "Pod" and "test" in d["metadata"]["name"]]
    [server] = by_kind(default, "Deployment")

    def selects(labels: dict) -> bool:  # Kubernetes' label selector: every term holds
        ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for term in selector.get("matchExpressions", []):
            assert term["operator"] == "NotIn"
            ok = ok and labels.get(term["key"]) not in term["values"]
        return ok

    assert selects(server["spec"]["template"]["metadata"]["labels"])
    assert not selects(test_pod["metadata"]["labels"])


def test_helm_lint_passes_for_each_mode():
    for args in ([], ["--set", "certManager.enabled=true"], ["--set", "catalog=none"]):
        proc = subprocess.run(
            [tool("helm"), "lint", str(CHART), *IMAGE, *args], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_webhook_client_config_names_the_service_port_and_path_that_exist(default):
    [hook] = one(default, "ValidatingWebhookConfiguration")["webhooks"]
    service = one(default, "Service")
    ref = hook["clientConfig"]["service"]
    assert (ref["name"], ref["namespace"]) == (service["metadata"]["name"], NS)
    assert ref["path"] == "/validate"
    [port] = service["spec"]["ports"]
    assert ref["port"] == port["port"] == 443
    container = one(default, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert port["targetPort"] in [p["name"] for p in container["ports"]]
    assert service["spec"]["selector"].items() <= (
        one(default, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )


def test_webhook_matches_exactly_the_three_kinds_and_is_safe_by_default(default):
    [hook] = one(default, "ValidatingWebhookConfiguration")["webhooks"]
    [rule] = hook["rules"]
    assert rule["apiGroups"] == ["runtime.wasmcloud.dev"]
    assert sorted(rule["resources"]) == ["workloaddeployments", "workloadreplicasets", "workloads"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert hook["admissionReviewVersions"] == ["v1"]
    assert (hook["sideEffects"], hook["matchPolicy"]) == ("None", "Equivalent")
    assert (hook["timeoutSeconds"], hook["failurePolicy"]) == (5, "Fail")
    [expr] = hook["namespaceSelector"]["matchExpressions"]
    assert expr["operator"] == "NotIn" and set(expr["values"]) == {"kube-system", NS}
    meta = one(default, "ValidatingWebhookConfiguration")["metadata"]
    assert "helm.sh/hook" not in meta.get("annotations", {})


def test_self_signed_mode_puts_the_secrets_ca_in_the_ca_bundle(default):
    [hook] = one(default, "ValidatingWebhookConfiguration")["webhooks"]
    secret = one(default, "Secret")
    ca_pem = base64.b64decode(secret["data"]["ca.crt"])
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == ca_pem
    serving = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(ca_pem)
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"rel-bindcheck.{NS}.svc" in sans.get_values_for_type(x509.DNSName)
    volumes = one(default, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "certs", "secret": {"secretName": secret["metadata"]["name"]}} in volumes


def test_cert_manager_mode_injects_the_ca_and_creates_the_certificate():
    docs = render("--set", "certManager.enabled=true")
    vwc = one(docs, "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"{NS}/rel-bindcheck"
    assert "caBundle" not in vwc["webhooks"][0]["clientConfig"]
    assert by_kind(docs, "Secret") == []
    cert = next(c for c in by_kind(docs, "Certificate") if c["metadata"]["name"] == "rel-bindcheck")
    assert f"rel-bindcheck.{NS}.svc" in cert["spec"]["dnsNames"]
    assert cert["spec"]["secretName"] == "rel-bindcheck-tls"
    external = render(
        "--set",
        "certManager.enabled=true",
        "--set",
        "certManager.issuerRef.name=corp",
        "--set",
        "certManager.issuerRef.kind=ClusterIssuer",
    )
    assert by_kind(external, "Issuer") == []
    [cert] = by_kind(external, "Certificate")
    assert cert["spec"]["issuerRef"] == {"name": "corp", "kind": "ClusterIssuer"}


def test_pod_runs_locked_down(default):
    deploy = one(default, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert deploy["spec"]["replicas"] == 2
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    [c] = pod["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert one(default, "ServiceAccount")["automountServiceAccountToken"] is False
    assert one(default, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    policy = one(default, "NetworkPolicy")["spec"]
    assert policy["ingress"] == [{"ports": [{"port": 8443, "protocol": "TCP"}]}]


def test_a_custom_catalog_and_rules_reach_the_server_and_roll_the_pods(tmp_path):
    catalog = (ROOT / "examples" / "plain-keyvalue-host.yaml").read_text()
    values = {
        "catalog": yaml.safe_load(catalog),
        "rules": [
            {
                "id": "pin-versions",
                "reason": "FieldValueRequired",
                "scope": "entry",
                "expression": "self.map(x, has(x.version))",
                "message": "{entries} pin",
            }
        ],
        "ruleActions": {"single-unnamed": "warn"},
        "policy": "strict",
    }
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    docs = render("-f", str(path))
    config = one(docs, "ConfigMap")
    assert yaml.safe_load(config["data"]["catalog.yaml"]) == values["catalog"]
    assert yaml.safe_load(config["data"]["rule-00-pin-versions.yaml"]) == values["rules"][0]
    args = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {
        "--policy=strict",
        "--catalog=/etc/bindcheck/config/catalog.yaml",
        "--rules=/etc/bindcheck/rules",
        "--rule-action=single-unnamed=warn",
    } <= set(args)
    before = one(render(), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    after = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/config"] != after["checksum/config"]


def test_a_release_reaches_the_server_and_a_wrong_one_is_refused():
    args = one(render("--set", "catalog=wasmcloud@2.6"), "Deployment")["spec"]["template"]
    assert "--catalog=wasmcloud@2.6" in args["spec"]["containers"][0]["args"]
    assert "catalog" in helm_fails(*IMAGE, "--set", "catalog=wasmcloud@latest")
    # the bundled policy is the default release's: another release needs its own export
    err = helm_fails("--set", "enforcement=policy", "--set", "catalog=wasmcloud@2.6")
    assert "bindcheck export vap" in err


def test_the_rendered_catalog_and_rules_load_in_bindcheck(tmp_path):
    from webhook.cel.engines import make_engine
    from webhook.cel.rules import load_rule_text
    from webhook.runtime.catalog_files import parse_catalog

    rule = {
        "id": "pin-versions",
        "reason": "FieldValueRequired",
        "scope": "entry",
        "expression": "self.map(x, has(x.version))",
        "message": "{entries} pin",
    }
    catalog = yaml.safe_load((ROOT / "examples" / "plain-keyvalue-host.yaml").read_text())
    docs = render(
        "--set-json", f"rules=[{json.dumps(rule)}]", "--set-json", f"catalog={json.dumps(catalog)}"
    )
    data = one(docs, "ConfigMap")["data"]
    assert parse_catalog(data["catalog.yaml"], "cm").plugins[0].id == "wasi-keyvalue"
    [loaded] = load_rule_text(data["rule-00-pin-versions.yaml"], "cm", make_engine())
    assert loaded.id == "pin-versions"


@pytest.mark.parametrize(
    "args",
    [
        ["--set", "polcy=strict"],
        ["--set", "failurePolicy=Sometimes"],
        ["--set", "policy=lax"],
        ["--set", "ruleActions.single-unnamed=block"],
        ["--set", "ruleActions.single-unamed=warn"],
        ["--set", "image.digest=latest"],
        ["--set", "hostNetwork=yes"],
        ["--set", "enforcement=vap"],
        ["--set", "catalog=default"],
    ],
)
def test_a_typo_in_values_fails_at_render(args):
    assert "bindcheck" in helm_fails(*IMAGE, *args)


def test_optional_objects_render_only_when_enabled(default):
    assert by_kind(default, "ServiceMonitor") == []
    docs = render(
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=false",
        "--set",
        "podDisruptionBudget.enabled=false",
    )
    monitor = one(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["scheme"] == "https"
    assert by_kind(docs, "NetworkPolicy") == [] and by_kind(docs, "PodDisruptionBudget") == []


@pytest.mark.parametrize(
    "args",
    [[], ["--set", "certManager.enabled=true"], ["--set", "enforcement=both"],
     ["--set", "discoverHosts.enabled=true"]],
)  # fmt: skip
def test_kubectl_reads_every_rendered_object(args, tmp_path):
    # kubectl's own decoder as a second parser (--local: no API server here).
    rendered = helm_template(*args)
    path = Path(tmp_path / "rendered.yaml")
    path.write_text(rendered)
    proc = subprocess.run(
        [
            tool("kubectl"),
            "annotate",
            "--local",
            "-f",
            str(path),
            "-o",
            "yaml",
            "bindcheck.dev/parsed=true",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    items = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(items) == len([d for d in yaml.safe_load_all(rendered) if d])
    assert all(i["metadata"]["annotations"]["bindcheck.dev/parsed"] == "true" for i in items)


def test_without_an_image_repository_the_chart_refuses_to_render():
    # No bindcheck image is published; rendering a made-up default would crash-loop.
    assert "image.repository" in helm_fails()


def test_image_by_digest_or_by_the_version_bindcheck_reports():
    from webhook import __version__

    container = one(render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"registry.example.com/bindcheck:{__version__}"
    digest = "sha256:" + "ab" * 32
    deploy = one(render("--set", f"image.digest={digest}"), "Deployment")
    image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"registry.example.com/bindcheck@{digest}"


def test_rule_actions_accept_exactly_the_rule_ids_bindcheck_knows():
    from webhook.core import build_validator

    schema = json.loads((CHART / "values.schema.json").read_text())
    allowed = schema["properties"]["ruleActions"]["propertyNames"]["enum"]
    assert sorted(allowed) == sorted(build_validator().rule_descriptions)
    # what the chart checks a config's ruleActions against (.Files cannot read the schema)
    listed = (CHART / "files" / "rule-ids.txt").read_text().split()
    assert listed == sorted(build_validator().rule_descriptions)
    args = one(render("--set", "ruleActions.route-collision=off"), "Deployment")["spec"][
        "template"
    ]["spec"]["containers"][0]["args"]
    assert "--rule-action=route-collision=off" in args


def test_pod_values_users_expect_reach_the_pod_spec(tmp_path):
    values = {
        "imagePullSecrets": [{"name": "regcred"}],
        "priorityClassName": "system-cluster-critical",
        "podLabels": {"team": "platform"},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 20002},
        "extraArgs": ["--max-in-flight=128"],
        "env": [{"name": "TZ", "value": "UTC"}],
        "updateStrategy": {"type": "Recreate"},
    }
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    deploy = one(render("-f", str(path)), "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert deploy["spec"]["template"]["metadata"]["labels"]["team"] == "platform"
    # Helm merges maps: a user's key replaces ours, the rest of the hardening stays.
    assert pod["securityContext"]["runAsUser"] == 20002
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["args"][-1] == "--max-in-flight=128"
    assert container["env"] == [{"name": "TZ", "value": "UTC"}]
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    # The selector stays the chart's own: extra labels never orphan the pods.
    assert "team" not in deploy["spec"]["selector"]["matchLabels"]


def test_extra_args_reach_a_server_that_accepts_them():
    from webhook.cli import build_parser

    args = one(render("--set", "extraArgs={--max-in-flight=128}"), "Deployment")["spec"][
        "template"
    ]["spec"]["containers"][0]["args"]
    parsed = build_parser().parse_args(args)
    assert parsed.max_in_flight == 128 and parsed.port == 8443


def test_host_discovery_adds_list_rights_a_token_and_egress_to_the_api_server(default, tmp_path):
    from webhook.cli import build_parser

    assert by_kind(default, "ClusterRole") == [] and by_kind(default, "ClusterRoleBinding") == []
    assert one(default, "NetworkPolicy")["spec"]["egress"] == []
    docs = render("--set", "discoverHosts.enabled=true", "--set", "discoverHosts.interval=10")
    hosts_only = {"apiGroups": ["runtime.wasmcloud.dev"], "resources": ["hosts"],
                  "verbs": ["get", "list"]}  # fmt: skip
    assert one(docs, "ClusterRole")["rules"] == [hosts_only]
    binding = one(docs, "ClusterRoleBinding")
    account = one(docs, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": NS}
    ]
    assert binding["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    parsed = build_parser().parse_args(pod["containers"][0]["args"])
    assert parsed.discover_hosts and parsed.hosts_interval == 10 and parsed.catalog is None
    ports = one(docs, "NetworkPolicy")["spec"]["egress"][0]["ports"]
    assert [p["port"] for p in ports] == [443, 6443]
    refused = helm_fails(*IMAGE, "--set", "discoverHosts.enabled=true", "--set",
                         "catalog=wasmcloud@2.6")  # fmt: skip
    assert "leave catalog empty" in refused
    # a catalog of one's own that extends a release describes that release's hosts
    own = ["--set", "discoverHosts.enabled=true", "--set", "catalog.extends=wasmcloud@2.6",
           "--set", "catalog.withoutPlugins={wasi-blobstore}"]  # fmt: skip
    parsed = build_parser().parse_args(
        one(render(*own), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    assert parsed.discover_hosts and parsed.catalog == "/etc/bindcheck/config/catalog.yaml"
    full = tmp_path / "values.yaml"
    full.write_text(yaml.safe_dump({"catalog": {"hostGroups": [{"name": "g", "plugins": []}],
                                                "plugins": []}}))  # fmt: skip
    refused = helm_fails(*IMAGE, "--set", "discoverHosts.enabled=true", "-f", str(full))
    assert "the catalog must extend a release" in refused


def test_the_operator_children_exemption_takes_only_service_account_names(default):
    [hook] = one(default, "ValidatingWebhookConfiguration")["webhooks"]
    [condition] = hook["matchConditions"]
    assert (
        '["system:serviceaccount:wasmcloud:wasmcloud-runtime-operator"]' in condition["expression"]
    )
    two = render("--set", "operatorChildren.serviceAccounts={system:serviceaccount:a:b,"
                 "system:serviceaccount:c:d}")  # fmt: skip
    [hook] = one(two, "ValidatingWebhookConfiguration")["webhooks"]
    assert (
        '["system:serviceaccount:a:b", "system:serviceaccount:c:d"]'
        in (hook["matchConditions"][0]["expression"])
    )
    none = render("--set", "operatorChildren.serviceAccounts=null")
    assert "matchConditions" not in one(none, "ValidatingWebhookConfiguration")["webhooks"][0]
    # a value that would end the CEL string and add code of its own never renders
    spliced = 'system:serviceaccount:a:b"] || true || ["'
    err = helm_fails(
        *IMAGE, "--set-json", f"operatorChildren.serviceAccounts={json.dumps([spliced])}"
    )
    assert "operatorChildren" in err


def test_host_network_moves_every_port_together():
    docs = render("--set", "hostNetwork=true", "--set", "port=10250")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert container["ports"][0]["containerPort"] == 10250
    assert "--port=10250" in container["args"]
    assert one(docs, "NetworkPolicy")["spec"]["ingress"][0]["ports"][0]["port"] == 10250
    assert one(docs, "Service")["spec"]["ports"][0]["targetPort"] == "https"


def test_the_disruption_budget_never_blocks_a_drain():
    assert by_kind(render("--set", "replicaCount=1"), "PodDisruptionBudget") == []
    [pdb] = by_kind(render("--set", "replicaCount=3"), "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    [pdb] = by_kind(
        render("--set", "podDisruptionBudget.minAvailable=2", "--set", "replicaCount=3"),
        "PodDisruptionBudget",
    )
    assert pdb["spec"] == {"minAvailable": 2, "selector": pdb["spec"]["selector"]}
    error = helm_fails(*IMAGE, "--set", "podDisruptionBudget.minAvailable=2")
    assert "block every node drain" in error


def test_replicas_spread_over_nodes_as_a_preference(default):
    # values.yaml and the README promise a preference (ScheduleAnyway), not a guarantee.
    pod = one(default, "Deployment")["spec"]["template"]["spec"]
    [spread] = pod["topologySpreadConstraints"]
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert spread["labelSelector"]["matchLabels"] == one(default, "Service")["spec"]["selector"]
    zones = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone"}
    zones["whenUnsatisfiable"] = "DoNotSchedule"
    docs = render("--set-json", f"topologySpreadConstraints=[{json.dumps(zones)}]")
    [strict] = one(docs, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert strict["whenUnsatisfiable"] == "DoNotSchedule" and strict["labelSelector"]
    assert "ScheduleAnyway" in (CHART / "values.yaml").read_text()
    assert "preference" in (ROOT / "README.md").read_text()


def test_latency_buckets_reach_the_longest_webhook_timeout():
    from webhook.metrics import LATENCY_BUCKETS

    schema = json.loads((CHART / "values.schema.json").read_text())
    assert max(LATENCY_BUCKETS) >= schema["properties"]["timeoutSeconds"]["maximum"]


def _test_pod(docs: list[dict]) -> dict:
    [pod] = [
        d for d in by_kind(docs, "Pod") if d["metadata"]["annotations"]["helm.sh/hook"] == "test"
    ]
    return pod


def _run_test_pod(pod: dict, ca_file: Path, port: int) -> subprocess.CompletedProcess:
    import sys

    [container] = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    # The Service's DNS name stays the TLS server name; only the address is local.
    env |= {"CA_FILE": str(ca_file), "SERVICE_ADDRESS": "127.0.0.1", "SERVICE_PORT": str(port)}
    assert container["command"][0] == "python"
    return subprocess.run(
        [sys.executable, *container["command"][1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_helm_test_asks_readyz_through_the_service_name_with_the_releases_ca(default, tmp_path):
    from servers import free_port, running

    pod = _test_pod(default)
    volume = pod["spec"]["volumes"][0]["secret"]["secretName"]
    secret = one(default, "Secret")
    assert volume == secret["metadata"]["name"]
    certs = tmp_path / "certs"
    certs.mkdir()
    for key in ("ca.crt", "tls.crt", "tls.key"):
        (certs / key).write_bytes(base64.b64decode(secret["data"][key]))
    port = free_port()
    argv = [str(ROOT / ".venv" / "bin" / "bindcheck"), "serve", "--host", "127.0.0.1",
            "--port", str(port), "--cert-dir", str(certs)]  # fmt: skip
    with running(argv, port):
        passed = _run_test_pod(pod, certs / "ca.crt", port)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert passed.stdout.startswith("HTTP/1.1 200") and '"status":"ready"' in passed.stdout
        # Another release's CA (a stale caBundle) must fail the test.
        other = one(render(), "Secret")
        (tmp_path / "other-ca.crt").write_bytes(base64.b64decode(other["data"]["ca.crt"]))
        failed = _run_test_pod(pod, tmp_path / "other-ca.crt", port)
        assert failed.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in failed.stderr


def test_policy_enforcement_renders_only_the_admission_policies_and_needs_no_image():
    docs = render("--set", "enforcement=policy", "--set", "failurePolicy=Ignore", image=False)
    assert sorted(d["kind"] for d in docs) == [
        *["ValidatingAdmissionPolicy"] * 3,  # deny, warn, audit: every pair, always
        *["ValidatingAdmissionPolicyBinding"] * 3,
    ]
    policies = by_kind(docs, "ValidatingAdmissionPolicy")
    assert {p["spec"]["failurePolicy"] for p in policies} == {"Ignore"}
    assert policies[0]["metadata"]["labels"]["app.kubernetes.io/instance"] == "rel"
    both = render("--set", "enforcement=both")
    assert one(both, "Deployment") and by_kind(both, "ValidatingAdmissionPolicy")


@pytest.mark.parametrize("policy", ["upstream", "strict"])
def test_the_bundled_policies_are_what_bindcheck_export_vap_writes(policy, tmp_path):
    from webhook.cli import main

    out = tmp_path / "vap.yaml"
    assert main(["export", "vap", "--policy", policy, "-o", str(out)]) == 0
    bundled = (CHART / "files" / f"vap-{policy}.yaml").read_text()
    assert bundled == out.read_text(), "re-export: bindcheck export vap --policy ... -o charts/..."


def test_the_rendered_policy_denies_what_bindcheck_denies():
    from conftest import entry, workload
    from vap_env import CompiledPolicy, environment

    docs = render("--set", "enforcement=both")
    [deny] = [
        p for p in by_kind(docs, "ValidatingAdmissionPolicy")
        if p["metadata"]["name"] == "bindcheck-deny"
    ]  # fmt: skip
    policy = CompiledPolicy(environment(), deny)
    found, messages = policy.evaluate(workload([entry(), entry()]))
    assert {f.split("]")[0] for f in found} == {"[single-unnamed", "[unique-entry"}
    assert messages and messages[0].startswith('WorkloadDeployment "app" has 2 violations')


def test_custom_settings_need_their_own_export_and_take_it(tmp_path):
    error = helm_fails("--set", "enforcement=policy", "--set", "ruleActions.unique-entry=warn")
    assert "bindcheck export vap" in error
    from webhook.cli import main

    out = tmp_path / "vap.yaml"
    assert main(["export", "vap", "--rule-action", "unique-entry=warn", "-o", str(out)]) == 0
    docs = render(
        "--set", "enforcement=policy", "--set", "ruleActions.unique-entry=warn",
        "--set-file", f"admissionPolicy.exported={out}", image=False,
    )  # fmt: skip
    names = sorted(d["metadata"]["name"] for d in docs)
    assert names == sorted(f"bindcheck-{a}" for a in ("deny", "warn", "audit") for _ in range(2))
    stray = tmp_path / "stray.yaml"
    stray.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    error = helm_fails(
        "--set", "enforcement=policy", "--set-file", f"admissionPolicy.exported={stray}"
    )
    assert "only the output of `bindcheck export vap`" in error


def _settled(argv: list[str]):
    from webhook.cli import _settle, build_parser

    args = build_parser().parse_args(argv)
    _settle(args)
    return args


def test_the_chart_reads_the_projects_config_as_the_cli_does(tmp_path):
    config = tmp_path / ".bindcheck.yaml"
    config.write_text(
        "policy: strict\nhost: wasmcloud@2.6\nruleActions:\n  config-unread: off\n"
        "  single-unnamed: warn\nexclude: [vendor]\nfailOnSkipped: true\n"
    )
    docs = render("--set-file", f"config={config}")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    served = _settled(pod)
    checked = _settled(["check", ".", "--config", str(config)])
    assert (
        (served.policy, served.catalog)
        == (checked.policy, checked.catalog)
        == ("strict", "wasmcloud@2.6")
    )
    assert (
        dict(served.rule_action)
        == dict(checked.rule_action)
        == {"config-unread": "off", "single-unnamed": "warn"}
    )
    # values.yaml wins, rule by rule
    docs = render("--set-file", f"config={config}", "--set", "policy=upstream",
                  "--set", "ruleActions.single-unnamed=deny", "--set", "catalog=none")  # fmt: skip
    served = _settled(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"])
    assert (served.policy, served.catalog) == ("upstream", "none")
    assert dict(served.rule_action) == {"config-unread": "off", "single-unnamed": "deny"}
    # the cluster's hosts replace the config's host, as check --kubeconfig does
    docs = render("--set-file", f"config={config}", "--set", "discoverHosts.enabled=true")
    served = _settled(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"])
    assert served.discover_hosts and served.catalog is None


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ("polcy: strict", 'config: unknown key "polcy"'),
        ("policy: strct", 'config: policy "strct" is neither upstream nor strict'),
        ("rules: [policy/rules]", "put each rule in the rules value"),
        ("catalog: hosts.yaml", "put the catalog itself in the catalog value"),
        ("ruleActions: {single-unamed: warn}", 'no built-in rule "single-unamed"'),
        ("ruleActions: {single-unnamed: block}", '"block" is not deny, warn, audit or off'),
        ("host: wasmcloud@2.6\ncatalog: none", "set host or catalog, not both"),
        ("- policy", "config: not a YAML mapping"),
    ],
)
def test_the_chart_refuses_a_config_it_cannot_honour(tmp_path, config, said):
    path = tmp_path / ".bindcheck.yaml"
    path.write_text(config + "\n")
    assert said in helm_fails(*IMAGE, "--set-file", f"config={path}")


def test_policy_mode_with_a_configs_rule_actions_needs_the_matching_export(tmp_path):
    path = tmp_path / ".bindcheck.yaml"
    path.write_text("ruleActions: {single-unnamed: warn}\n")
    refused = helm_fails("--set", "enforcement=policy", "--set-file", f"config={path}")
    assert "the bundled policy would not match them" in refused
    path.write_text("policy: strict\n")
    docs = render("--set", "enforcement=policy", "--set-file", f"config={path}", image=False)
    bundled = (CHART / "files" / "vap-strict.yaml").read_text()
    names = {d["metadata"]["name"] for d in by_kind(docs, "ValidatingAdmissionPolicy")}
    assert names and all(f"name: {n}" in bundled for n in names)


def test_the_chart_refuses_kubernetes_versions_it_cannot_run_on():
    # matchConditions on the webhook: on by default from 1.28; the policies need 1.30
    assert "incompatible with Kubernetes" in helm_fails(*IMAGE, "--kube-version", "1.27.0")
    assert render("--kube-version", "1.28.0")
    refused = helm_fails("--set", "enforcement=policy", "--kube-version", "1.29.9")
    assert "enforcement policy needs Kubernetes 1.30 or later" in refused
    assert render("--set", "enforcement=policy", "--kube-version", "1.30.0", image=False)
