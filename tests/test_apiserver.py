"""bindcheck against a real Kubernetes API server (v1.37.2, tests/apiserver.py).

What the API server decides, it decides here: whether it accepts the exported
policies, what those policies deny and say, what reaches the webhook before and after
the CRD's own schema and rules, and what kubectl prints. CRDs are ours, in the shape of
upstream's chart at v2.7.0 (limits and CEL rules) and v2.6.1 (neither), see
tests/crds.py.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from apiserver import ControlPlane
from celref import controller_manager, evaluate, policies_of
from conftest import ROOT, entry, workload
from crds import crds
from exports import EXPORTS, PLURAL, VALIDATORS, corpus, expressed_rules, samples
from test_server import Server

from webhook.violations import Action

GROUP_PATH = "/apis/runtime.wasmcloud.dev/v1alpha1"
PROBE_NS = "crd-probe"  # neither policies nor the webhook judge it
WEBHOOK_NAME = "hostinterfaces.bindcheck.runtime.wasmcloud.dev"


# --- the cluster ------------------------------------------------------------------


def _install_crds(plane: ControlPlane, release: str) -> None:
    docs = crds(release)
    done = plane.apply(docs)
    assert done.returncode == 0, done.stderr
    plane.wait_established([d["metadata"]["name"] for d in docs])
    # The API server serves an updated schema a moment after the update is stored:
    # wait until a list the v2.7.0 rules refuse is refused (or, before, is not).
    refuse = release == "chart-v2.7.0"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _ = create(plane, workload([entry(), entry()], kind="Workload"), PROBE_NS)
        if (status == 422) == refuse:
            return
        time.sleep(0.2)
    raise AssertionError(f"CRDs of {release} not in effect after 30 s")


def create(
    plane: ControlPlane, obj: dict[str, Any], namespace: str, dry_run: bool = True
) -> tuple[int, Any]:
    status, body, _ = create_with_warnings(plane, obj, namespace, dry_run)
    return status, body


def create_with_warnings(
    plane: ControlPlane, obj: dict[str, Any], namespace: str, dry_run: bool = True
) -> tuple[int, Any, list[str]]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    path = f"{GROUP_PATH}/namespaces/{namespace}/{PLURAL[obj['kind']]}"
    return plane.call("POST", path + ("?dryRun=All" if dry_run else ""), obj)


def _namespace(plane: ControlPlane, name: str, labels: dict[str, str] | None = None) -> None:
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        doc["metadata"]["labels"] = labels
    done = plane.apply([doc])
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane) -> ControlPlane:
    _namespace(control_plane, PROBE_NS)
    _install_crds(control_plane, "chart-v2.7.0")
    return control_plane


@contextmanager
def crds_of(plane: ControlPlane, release: str) -> Iterator[None]:
    _install_crds(plane, release)
    try:
        yield
    finally:
        _install_crds(plane, "chart-v2.7.0")


# --- the policies -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPORTS))
def test_the_api_server_accepts_every_export(cluster, name):
    """Creation compiles every expression (a compile error is a 422)."""
    done = cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=_dry(EXPORTS[name]))
    assert done.returncode == 0, done.stderr
    kinds = sorted(d["kind"] for d in EXPORTS[name])
    assert kinds.count("ValidatingAdmissionPolicy") == 3  # deny, warn and audit, always
    assert done.stdout.count("(server dry run)") == len(kinds)


def _dry(documents: list[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})


@pytest.fixture(scope="module")
def bound(cluster: ControlPlane) -> dict[str, str]:
    """The default-catalog exports of both policies, each bound to a namespace of its
    own; returns export name -> namespace."""
    out = {}
    for name in ("default-upstream", "default-strict", "two-groups-strict", "none-upstream"):
        namespace = f"vap-{name}"
        _namespace(cluster, namespace, {"bindcheck-test": name})
        documents = []
        for doc in copy.deepcopy(EXPORTS[name]):
            old = doc["metadata"]["name"]
            doc["metadata"]["name"] = f"{name}.{old}"
            if doc["kind"] == "ValidatingAdmissionPolicyBinding":
                doc["spec"]["policyName"] = f"{name}.{old}"
                doc["spec"]["matchResources"] = {
                    "namespaceSelector": {"matchLabels": {"bindcheck-test": name}}
                }
            documents.append(doc)
        done = cluster.apply(documents)
        assert done.returncode == 0, done.stderr
        out[name] = namespace
    # Policies and bindings reach the admission plugin through informers: wait until
    # each namespace denies what its policy must deny.
    bad = workload([entry(package="nosuch"), entry(package="nosuch")])
    with crds_of(cluster, "chart-v2.6.1"):
        for name, namespace in out.items():
            if name.startswith("none"):
                continue
            _wait_for(lambda ns=namespace: create(cluster, bad, ns)[0] == 403, name)
    return out


def _wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not in effect after {timeout} s")


def _policy_status(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    status, body = plane.request(
        "GET", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{name}"
    )
    assert status == 200, body
    checking: dict[str, Any] | None = body.get("status", {}).get("typeChecking")
    return checking


def test_the_type_checker_checks_every_expression_and_warns_of_nothing(cluster, bound):
    """kube-controller-manager's policy status controller checks each expression against
    the CRD's schema and writes status.typeChecking, for the versions a policy names (it
    skips "*"). A canary with the export's match constraints and a field the schema does
    not have proves the checking ran; the exported expressions draw no warning."""
    cluster.start_controller_manager(controller_manager())
    [export] = policies_of(EXPORTS["default-upstream"])[:1]
    canary = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "type-check-canary"},
        "spec": {
            "matchConstraints": copy.deepcopy(export["spec"]["matchConstraints"]),
            "validations": [{"expression": "object.spec.noSuchField == 1"}],
        },
    }
    done = cluster.apply([canary])
    assert done.returncode == 0, done.stderr
    _wait_for(lambda: _policy_status(cluster, "type-check-canary"), "canary", timeout=60)
    [warning] = _policy_status(cluster, "type-check-canary")["expressionWarnings"]
    assert "noSuchField" in warning["warning"]
    for name in bound:
        for action in ("deny", "warn", "audit"):
            policy = f"{name}.bindcheck-{action}"
            _wait_for(lambda p=policy: _policy_status(cluster, p) is not None, policy)
            assert _policy_status(cluster, policy).get("expressionWarnings", []) == [], policy


PARITY = ("default-upstream", "default-strict", "two-groups-strict")


@pytest.mark.parametrize("name", PARITY)
@pytest.mark.parametrize("release", ["chart-v2.7.0", "chart-v2.6.1"])
def test_the_api_server_and_bindcheck_check_agree(cluster, bound, name, release):
    """Each object of the corpus, the examples and the upstream-shaped samples, created
    (dry run) through the API server: its verdict and message are the policy's as
    Kubernetes' library computes it (tests/celref.py), and that policy's violations are
    exactly what ``bindcheck check`` finds for the rules the export expresses. Objects
    the CRD itself refuses never reach a policy: bindcheck must deny them too."""
    checker = VALIDATORS[name]
    documents = EXPORTS[name]
    expressed = expressed_rules(documents)
    objects = [*corpus(60), *samples()]
    [reference] = evaluate(policies_of(documents), objects, minors=(37,))
    namespace = bound[name]
    refused = judged = 0
    with crds_of(cluster, release) if release != "chart-v2.7.0" else _nothing():
        for obj, verdicts in zip(objects, reference["verdicts"], strict=True):
            outcome = checker.check(obj)
            assert outcome is not None
            status, body, warnings = create_with_warnings(cluster, obj, namespace)
            where = f"{obj['metadata']['name']} ({release})"
            if status == 422:  # the CRD's schema or rules
                refused += 1
                assert not outcome.allowed, (where, body.get("message"))
                continue
            judged += 1
            deny = verdicts["bindcheck-deny"]
            assert deny["decision"] in ("admit", "deny"), (where, deny)
            ours = sorted(
                f"[{v.rule}] {v.field}: {v.message}"
                for v in outcome.violations
                if v.rule in expressed and v.action is Action.DENY
            )
            assert sorted(deny["violations"]) == ours, where
            if deny["decision"] == "deny":
                assert status == 403, (where, body)
                resource = f"{PLURAL[obj['kind']]}.runtime.wasmcloud.dev"
                assert body["message"] == (
                    f'{resource} "{obj["metadata"]["name"]}" is forbidden: '
                    f"ValidatingAdmissionPolicy '{name}.bindcheck-deny' with binding "
                    f"'{name}.bindcheck-deny' denied request: {deny['message']}"
                ), where
            else:
                assert status == 201, (where, body)
                warn = verdicts["bindcheck-warn"]
                expected = [
                    f"Validation failed for ValidatingAdmissionPolicy '{name}.bindcheck-warn' "
                    f"with binding '{name}.bindcheck-warn': {warn.get('message')}"
                ]
                assert [w for w in warnings if "bindcheck-warn" in w] == (
                    expected if warn["decision"] == "deny" else []
                ), where
    assert judged > 20  # the corpus reaches the policies, not only the CRD
    if release == "chart-v2.7.0":
        assert refused > 5


# CRDs of each shape, by every name --crds gives them (webhook/api_server.py).
SHAPES = {
    "chart-v2.7.0": ["chart@2.7.0", "chart@main", "kustomize@2.5.0", "kustomize@2.7"],
    "chart-v2.6.1": ["chart@2.6.1", "chart@2.0.0", "kustomize@2.4.0"],
}


def _at_the_limits() -> list[dict[str, Any]]:
    """Objects the CRDs with limits refuse and the others admit, and their neighbours."""
    long = "n" * 65
    return [
        workload([entry(name=long)], name="long-name"),
        workload([entry(name=long[:64])], name="name-at-limit"),
        workload([entry(namespace="w" * 129)], name="long-namespace"),
        workload([entry(name=f"e{i}") for i in range(65)], name="sixty-five"),
        workload([entry(name=f"e{i}") for i in range(64)], name="sixty-four"),
        workload([entry(name="Bad")], name="pattern"),
        workload([entry(interfaces=[])], name="no-interfaces"),
    ]


@pytest.mark.parametrize("release", list(SHAPES))
def test_check_says_what_the_api_server_with_those_crds_admits(cluster, release):
    """For every object of the corpus, the samples and the limits' edges, ``bindcheck
    check --crds X`` says the API server admits it exactly when the real one, given CRDs
    of that shape, does (201 or 422 on a dry-run create)."""
    from webhook.api_server import admission, parse_crds
    from webhook.runtime import releases

    checker = VALIDATORS["default-upstream"]
    objects = [*corpus(60), *samples(), *_at_the_limits()]
    names = SHAPES[release]
    crds_named = [parse_crds(n, releases.find(releases.DEFAULT)) for n in names]
    refused = 0
    with crds_of(cluster, release) if release != "chart-v2.7.0" else _nothing():
        for obj in objects:
            outcome = checker.check(obj)
            assert outcome is not None
            status, body = create(cluster, obj, PROBE_NS)
            assert status in (201, 422), (obj["metadata"]["name"], status, body)
            refused += status == 422
            for named, crds_ in zip(names, crds_named, strict=True):
                said = admission(outcome, crds_, checker.crd_rules, True)
                assert said.admitted == (status == 201), (
                    obj["metadata"]["name"],
                    named,
                    said,
                    body.get("message"),
                )
    assert refused > 5 and refused < len(objects) - 20


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# --- the webhook, through kubectl ------------------------------------------------


@pytest.fixture(scope="module")
def webhook(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``bindcheck serve`` registered by URL with its CA bundle, as envtest's
    WebhookInstallOptions registers a webhook, from the chart's own configuration."""
    from test_chart import by_kind, render

    server = Server(tmp_path_factory.mktemp("webhook") / "certs")
    try:
        [config] = by_kind(render(), "ValidatingWebhookConfiguration")
        [hook] = config["webhooks"]
        assert hook["name"] == WEBHOOK_NAME
        hook["clientConfig"] = {
            "url": f"https://127.0.0.1:{server.port}/validate",
            "caBundle": base64.b64encode((server.cert_dir / "ca.crt").read_bytes()).decode(),
        }
        hook["namespaceSelector"] = {"matchLabels": {"bindcheck-test": "webhook"}}
        for ns in ("default", "apps"):
            _namespace(cluster, ns, {"bindcheck-test": "webhook"})
        done = cluster.apply([config])
        assert done.returncode == 0, done.stderr
        probe = workload([entry(package="nosuch")], kind="Workload")
        with crds_of(cluster, "chart-v2.6.1"):
            _wait_for(lambda: create(cluster, probe, "default")[0] == 403, "the webhook")
        yield server
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", "--all")
        server.stop()


def kubectl_apply(cluster: ControlPlane, path: str) -> tuple[int, str]:
    done = cluster.kubectl("apply", "-f", path)
    return done.returncode, (done.stdout + done.stderr).strip()


README = (ROOT / "README.md").read_text()


def shown_in_readme(command: str, output: str) -> None:
    """The README shows this command and exactly this output (a ```text block)."""
    block = f"$ {command}\n{output}\n"
    assert block in README, f"README lacks, verbatim:\n{block}"


def kubectl_run(cluster: ControlPlane, command: str, cwd: Any = None) -> str:
    done = cluster.kubectl(*command.split()[1:], cwd=cwd)
    return (done.stderr + done.stdout).strip()


def test_kubectl_shows_the_crds_own_rules_refusing_before_bindcheck_on_v2_7_crds(cluster, webhook):
    command = "kubectl apply -f examples/bad-two-unnamed.yaml"
    shown_in_readme(command, kubectl_run(cluster, command))


def test_kubectl_refuses_a_misspelt_field_before_admission(cluster, webhook):
    """kubectl validates fields strictly by default: ``confg`` never reaches bindcheck."""
    command = "kubectl apply -f examples/bad-typos.yaml"
    output = kubectl_run(cluster, command)
    assert "strict decoding error" in output
    shown_in_readme(command, output)


OPERATOR = ("wasmcloud", "wasmcloud-runtime-operator")
"""The runtime-operator's service account in upstream's install, the chart's default
operatorChildren.serviceAccounts."""


def _as_operator(cluster: ControlPlane, namespace: str) -> Any:
    """POST (dry run) a Workload into ``namespace`` as the runtime-operator: its status."""
    token = cluster.service_account_token(*OPERATOR)
    grant = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "test-operator"},
         "rules": [{"apiGroups": ["runtime.wasmcloud.dev"], "verbs": ["create"],
                    "resources": ["workloads", "workloadreplicasets"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "test-operator", "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "test-operator"},
         "subjects": [{"kind": "ServiceAccount", "name": OPERATOR[1],
                       "namespace": OPERATOR[0]}]},
    ]  # fmt: skip
    assert cluster.apply(grant).returncode == 0
    path = f"{GROUP_PATH}/namespaces/{namespace}/workloads?dryRun=All"

    def post(obj: dict[str, Any]) -> int:
        obj = copy.deepcopy(obj)
        obj["metadata"]["namespace"] = namespace
        return int(cluster.request("POST", path, obj, token)[0])

    return post


def _children_exemption_holds(cluster: ControlPlane, namespace: str, bad: dict[str, Any]) -> None:
    """The runtime-operator creating ``bad`` as a Workload its WorkloadReplicaSet controls
    is not judged; from anyone else, or without that controlling owner, it is."""
    as_operator = _as_operator(cluster, namespace)
    owned = copy.deepcopy(bad)
    owned["metadata"]["ownerReferences"] = [{
        "apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "WorkloadReplicaSet",
        "name": "app-5d8f", "uid": "6b1c3f6e-0000-4000-8000-000000000001", "controller": True,
    }]  # fmt: skip
    _wait_for(lambda: as_operator(bad) == 403, "the operator's RBAC")  # judged, refused
    assert as_operator(owned) == 201  # not judged: the parent was
    assert create(cluster, owned, namespace)[0] == 403  # an admin is always judged
    not_controller = copy.deepcopy(owned)
    not_controller["metadata"]["ownerReferences"][0]["controller"] = False
    assert as_operator(not_controller) == 403
    foreign = copy.deepcopy(owned)
    foreign["metadata"]["ownerReferences"][0]["apiVersion"] = "apps/v1"
    assert as_operator(foreign) == 403


def test_the_operators_children_of_a_judged_parent_skip_the_webhook(cluster, webhook):
    """The chart's matchConditions on the webhook, evaluated by the API server (issue 23,
    item 7)."""
    with crds_of(cluster, "chart-v2.6.1"):
        _children_exemption_holds(
            cluster, "default", workload([entry(package="nosuch")], kind="Workload")
        )


def test_the_operators_children_of_a_judged_parent_skip_the_policies(cluster):
    """The same matchConditions on each policy the chart renders in policy mode."""
    from test_chart import by_kind, render

    namespace = "vap-children"
    _namespace(cluster, namespace, {"bindcheck-test": "children"})
    documents = []
    for doc in render("--set", "enforcement=policy", image=False):
        doc["metadata"]["name"] = f"children.{doc['metadata']['name']}"
        if doc["kind"] == "ValidatingAdmissionPolicyBinding":
            doc["spec"]["policyName"] = f"children.{doc['spec']['policyName']}"
            doc["spec"]["matchResources"] = {
                "namespaceSelector": {"matchLabels": {"bindcheck-test": "children"}}
            }
        documents.append(doc)
    assert all(
        d["spec"]["matchConditions"] for d in by_kind(documents, "ValidatingAdmissionPolicy")
    )
    assert cluster.apply(documents).returncode == 0
    try:
        bad = workload([entry(package="nosuch"), entry(package="nosuch")], kind="Workload")
        with crds_of(cluster, "chart-v2.6.1"):
            _children_exemption_holds(cluster, namespace, bad)
    finally:
        for doc in documents:
            plural = doc["kind"].lower() + "s"
            cluster.request(
                "DELETE",
                f"/apis/admissionregistration.k8s.io/v1/{plural}/{doc['metadata']['name']}",
            )


def test_kubectl_shows_the_webhooks_denial_and_warnings_on_create(cluster, webhook):
    command = "kubectl apply -f examples/bad-two-unnamed.yaml"
    with crds_of(cluster, "chart-v2.6.1"):
        output = kubectl_run(cluster, command)
    assert f'admission webhook "{WEBHOOK_NAME}" denied the request' in output
    assert output.startswith("Warning: [backend-ignored]")
    shown_in_readme(command, output)


def test_kubectl_shows_the_webhooks_denial_on_update(cluster, webhook, tmp_path):
    shop = yaml.safe_load((ROOT / "examples" / "good-multi-backend.yaml").read_text())
    (tmp_path / "shop.yaml").write_text(yaml.safe_dump(shop))
    command = "kubectl apply -f shop.yaml"
    assert kubectl_run(cluster, command, cwd=tmp_path) == (
        "workloaddeployment.runtime.wasmcloud.dev/shop created"
    )
    try:
        shop["spec"]["template"]["spec"]["hostInterfaces"][2]["config"]["backend"] = "etcd"
        (tmp_path / "shop.yaml").write_text(yaml.safe_dump(shop))
        output = kubectl_run(cluster, command, cwd=tmp_path)
    finally:
        cluster.kubectl("delete", "-f", "examples/good-multi-backend.yaml")
    lines = output.splitlines()
    patch = next(k for k, line in enumerate(lines) if line.endswith("error when applying patch:"))
    assert lines[patch + 1].startswith('{"metadata":{"annotations":')
    lines[patch + 1] = "<the patch, elided here>"
    shown_in_readme("kubectl apply -f shop.yaml   # sessions now asks for backend: etcd",
                    "\n".join(lines))  # fmt: skip


def test_kubectl_shows_the_policys_denial(cluster):
    """enforcement: policy, on a cluster whose CRDs predate the rules."""
    _namespace(cluster, "team-a", {"bindcheck-test": "policy"})
    documents = copy.deepcopy(EXPORTS["chart-vap-upstream.yaml"])
    for doc in documents:
        if doc["kind"] == "ValidatingAdmissionPolicyBinding":
            doc["spec"]["matchResources"] = {
                "namespaceSelector": {"matchLabels": {"bindcheck-test": "policy"}}
            }
    done = cluster.apply(documents)
    assert done.returncode == 0, done.stderr
    command = "kubectl apply -n team-a -f examples/bad-two-unnamed.yaml"
    try:
        with crds_of(cluster, "chart-v2.6.1"):
            probe = workload([entry(package="nosuch")], kind="Workload")
            _wait_for(lambda: create(cluster, probe, "team-a")[0] == 403, "the policy")
            output = kubectl_run(cluster, command)
    finally:
        cluster.kubectl("delete", "-f", "-", stdin=_dry(documents))
    assert "ValidatingAdmissionPolicy 'bindcheck-deny'" in output
    shown_in_readme(command, output)


# --- the chart --------------------------------------------------------------------


@pytest.mark.parametrize("enforcement", ["webhook", "policy", "both"])
def test_the_api_server_accepts_everything_the_chart_renders(cluster, enforcement):
    """``helm template`` in each enforcement mode, applied as a server-side dry run:
    every object passes the API server's own validation (the webhook configuration,
    the policies' CEL, the Deployment, the PodDisruptionBudget, the NetworkPolicy...)."""
    from test_chart import NS, helm_template

    _namespace(cluster, NS)
    rendered = helm_template("--set", f"enforcement={enforcement}", image=enforcement != "policy")
    done = cluster.kubectl("apply", "--dry-run=server", "-n", NS, "-f", "-", stdin=rendered)
    assert done.returncode == 0, done.stderr
    kinds = [line.split("/")[0] for line in done.stdout.splitlines()]
    if enforcement != "policy":
        assert "deployment.apps" in kinds
        assert "validatingwebhookconfiguration.admissionregistration.k8s.io" in kinds
    if enforcement != "webhook":
        assert kinds.count("validatingadmissionpolicy.admissionregistration.k8s.io") == 3
