"""The Helm chart, rendered by helm and re-read by kubectl as a second parser."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from cryptography import x509

CHART = ROOT / "charts" / "bindcheck"
TOOLS = ROOT / ".tools" / "bin"
NS = "bindcheck-system"


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `bash .ci/tools` (make test does)")
    return str(path)


def helm_template(*args: str) -> str:
    return subprocess.run(
        [tool("helm"), "template", "rel", str(CHART), "-n", NS, *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def render(*args: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(helm_template(*args)) if d]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    [doc] = by_kind(docs, kind)
    return doc


@pytest.fixture(scope="module")
def default() -> list[dict]:
    return render()


def test_helm_lint_passes_for_each_mode():
    for args in ([], ["--set", "certManager.enabled=true"], ["--set", "catalog=none"]):
        proc = subprocess.run(
            [tool("helm"), "lint", str(CHART), *args], capture_output=True, text=True
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
    assert one(default, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
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


def test_the_rendered_catalog_and_rules_load_in_bindcheck(tmp_path):
    from webhook.cel.engines import make_engine
    from webhook.cel.rules import load_rule_text
    from webhook.runtime.catalog import parse_catalog

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
        ["--set", "ruleActions.x=block"],
        ["--set", "catalog=default"],
    ],
)
def test_a_typo_in_values_fails_at_render(args):
    proc = subprocess.run(
        [tool("helm"), "template", "rel", str(CHART), *args], capture_output=True, text=True
    )
    assert proc.returncode != 0


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


@pytest.mark.parametrize("args", [[], ["--set", "certManager.enabled=true"]])
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
