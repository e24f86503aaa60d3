"""``bindcheck export vap``: the exported policies agree with ``bindcheck check``.

Every generated object is evaluated by the exported expressions in a CEL environment
configured like Kubernetes 1.30's (tests/vap_env.py) and by the validator the export
came from; both must give the same verdict and the same violations, for the checks
the export says it expresses.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import FIXTURES, ROOT, workload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vap_env import CompiledPolicy, environment

from webhook.cli import main
from webhook.core import build_validator
from webhook.export.vap import export_vap
from webhook.runtime.catalog_files import load_catalog
from webhook.violations import Action, Policy

CATALOGS = {
    "default": None,
    "plain": str(ROOT / "examples" / "plain-keyvalue-host.yaml"),
    "two-groups": str(FIXTURES / "catalogs" / "two-groups.yaml"),
}
ENV = environment()

ENTRY = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(["wasi", "wasmcloud", "a:b", "wasi:"]),
        "package": st.sampled_from(
            ["keyvalue", "blobstore", "http", "messaging", "config", "otel", "c", "nosuch"]
        ),
        "interfaces": st.lists(
            st.sampled_from(
                [
                    "store",
                    "atomics",
                    "batch",
                    "container",
                    "blobstore",
                    "consumer",
                    "producer",
                    "incoming-handler",
                    "outgoing-handler",
                    "handler",
                    "tracing",
                    "runtime",
                    "nope",
                ]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        ),
    },
    optional={
        "name": st.sampled_from(["cache", "a", "kv-named", "blobs", "wasi-keyvalue", "é-x"[2:]]),
        "version": st.sampled_from(
            [
                "0.2.0-draft",
                "0.2.0",
                "0.3.0",
                "0.3.1",
                "0.3.0-rc.1",
                "0.3.0+b1",
                "1.0.0",
                "0.2",
                "latest",
                "",
                "18446744073709551616.0.0",
                "18446744073709551615.0.0",
            ]
        ),
        "config": st.sampled_from(
            [
                {"backend": "nats"},
                {"backend": "bogus"},
                {"backend": ""},
                {"backend": "mongo-s3cr3t"},
                {"host": "x.example"},
                {},
            ]
        ),
        "configFrom": st.sampled_from([[{"name": "settings"}], []]),
    },
)
SELECTOR = st.sampled_from(
    [None, {"hostgroup": "default"}, {"hostgroup": "edge"}, {"hostgroup": "core"}, {"zone": "a"}]
)
KIND = st.sampled_from(["WorkloadDeployment", "WorkloadReplicaSet", "Workload"])


def _case(entries: list[dict], selector: dict | None = None, kind: str = "WorkloadDeployment"):
    obj = workload(entries, kind=kind)
    if selector is not None:
        inner = obj["spec"] if kind == "Workload" else obj["spec"]["template"]["spec"]
        inner["hostSelector"] = copy.deepcopy(selector)
    return obj


def objects(max_entries: int):
    return st.builds(_case, st.lists(ENTRY, max_size=max_entries), SELECTOR, KIND)


class Pair:
    """A validator and the policies exported from it."""

    def __init__(self, catalog: str | None, policy: Policy, **options) -> None:
        self.validator = build_validator(policy, catalog=load_catalog(catalog), **options)
        self.export = export_vap(self.validator)
        self.policies = {
            d["metadata"]["name"]: CompiledPolicy(ENV, d)
            for d in self.export.documents
            if d["kind"] == "ValidatingAdmissionPolicy"
        }
        self.expressed = {
            rule for d in self.export.documents if d["kind"] == "ValidatingAdmissionPolicy"
            for rule in d["metadata"]["annotations"]["bindcheck.dev/rules"].split(",")
        }  # fmt: skip

    def compare(self, obj: dict) -> None:
        outcome = self.validator.check(obj)
        ours = sorted(
            f"[{v.rule}] {v.field}: {v.message}"
            for v in outcome.violations
            if v.rule in self.expressed
        )
        theirs: list[str] = []
        for name, policy in self.policies.items():
            found, messages = policy.evaluate(obj)
            theirs += found
            action = Action(name.rsplit("-", 1)[1])
            expected = [
                v for v in outcome.violations if v.rule in self.expressed and v.action is action
            ]
            assert bool(messages) == bool(expected), name
        assert sorted(theirs) == ours


PAIRS = {
    (name, policy): Pair(path, policy)
    for name, path in CATALOGS.items()
    for policy in (Policy.UPSTREAM, Policy.STRICT)
}


@pytest.mark.parametrize("key", list(PAIRS), ids=lambda k: f"{k[0]}-{k[1].value}")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=objects(12))
def test_policies_and_check_agree_on_short_lists(key, obj):
    PAIRS[key].compare(obj)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=objects(64), key=st.sampled_from(list(PAIRS)))
def test_policies_and_check_agree_on_lists_up_to_the_crds_limit(obj, key):
    PAIRS[key].compare(obj)


def _e(ns: str, pkg: str, ifaces: list[str], **fields) -> dict:
    return {"namespace": ns, "package": pkg, "interfaces": ifaces, **fields}


# Host-model corners the random corpus reaches too rarely: version floors, versions
# past u64, opt-in plugins, names that pin a plugin, a selector per group.
CORE = {"hostgroup": "core"}
CORNERS = [
    _case([_e("wasmcloud", "messaging", ["types"], version="0.3.0-rc.1")], CORE),
    _case([_e("wasmcloud", "messaging", ["types"], version="0.3.0")], CORE),
    _case([_e("wasmcloud", "messaging", ["types"], version="0.2.9")], CORE),
    _case([_e("wasmcloud", "messaging", ["types"], version="0.10.0")], CORE),
    _case([_e("wasmcloud", "messaging", ["types"], version="1.0.0+b")], CORE),
    _case([_e("wasmcloud", "messaging", ["consumer"])], {"hostgroup": "core"}),
    _case(
        [_e("wasmcloud", "messaging", ["consumer"], version="0.3.0-rc.1")], {"hostgroup": "core"}
    ),
    _case([_e("wasmcloud", "messaging", ["consumer"], version="0.3.0+b1")], {"hostgroup": "core"}),
    _case([_e("wasmcloud", "messaging", ["consumer", "producer"], version="0.3.1")]),
    _case([_e("wasmcloud", "messaging", ["consumer"], version="0.3.0", name="a")]),
    _case([_e("wasmcloud", "messaging", ["consumer"], version="0.3.0")], {"hostgroup": "default"}),
    _case([_e("wasmcloud", "messaging", ["consumer"], version="0.2.0")], {"hostgroup": "default"}),
    _case([_e("wasi", "blobstore", ["container"], version="18446744073709551616.0.0")]),
    _case([_e("wasi", "blobstore", ["container"], version="18446744073709551615.0.0")]),
    _case([_e("wasi", "blobstore", ["container"], version="0.2")], {"hostgroup": "edge"}),
    _case([_e("wasi", "otel", ["tracing"])], {"hostgroup": "edge"}),
    _case([_e("wasi", "otel", ["tracing"], version="0.2.0-draft")]),
    _case([_e("wasi", "keyvalue", ["store"], name="kv-named")], {"hostgroup": "edge"}),
    _case([_e("wasi", "keyvalue", ["atomics"], name="kv-named")], {"hostgroup": "edge"}),
    _case([_e("wasi", "keyvalue", ["store"], name="blobs")], {"zone": "a"}),
    _case([_e("wasi", "keyvalue", ["store"], name="wasi-keyvalue")]),
    _case([_e("a:b", "c", ["handler"]), _e("a", "b:c", ["handler"])], {"hostgroup": "core"}),
    _case([_e("wasi", "keyvalue", ["store"], name="a", config={"backend": "bogus"})]),
    _case([_e("wasi", "keyvalue", ["store"], config={"backend": "bogus"})]),
    _case(
        [
            _e(
                "wasi",
                "keyvalue",
                ["store"],
                name="a",
                version="0.2.0-draft",
                config={"backend": "bogus"},
                configFrom=[{"name": "c"}],
            )
        ]
    ),
    _case(
        [
            _e(
                "wasmcloud",
                "messaging",
                ["consumer"],
                name="a",
                version="0.3.0",
                config={"backend": "kafka"},
            )
        ],
        CORE,
    ),
    # the value quoted only when it reads as a backend type (multiplex.backend_named)
    *[
        _case([_e("wasi", "keyvalue", ["store"], name="n", config={"backend": b})])
        for b in ("in-memry", "Redis", "etcd-token", "a" * 24, "a" * 25, "a\u202eb", "é")
    ],
    # postgres routes only named entries to a backend (multiplex entries: named)
    _case([_e("wasmcloud", "postgres", ["query"], version="0.2.0", config={"backend": "x"})]),
    _case(
        [
            _e(
                "wasmcloud",
                "postgres",
                ["query"],
                version="0.2.0",
                name="db",
                config={"backend": "x"},
            )
        ]
    ),
    _case([_e("wasi", "http", ["incoming-handler", "outgoing-handler"])], kind="Workload"),
    _case([_e("wasi", "http", ["incoming-handler", "nope"])], kind="WorkloadReplicaSet"),
]


@pytest.mark.parametrize("key", list(PAIRS), ids=lambda k: f"{k[0]}-{k[1].value}")
@pytest.mark.parametrize("obj", CORNERS, ids=range(len(CORNERS)))
def test_policies_and_check_agree_on_host_model_corners(key, obj):
    PAIRS[key].compare(obj)


def test_rule_actions_split_the_policies_and_off_leaves_a_rule_out():
    from conftest import entry

    pair = Pair(None, Policy.UPSTREAM, actions={"single-unnamed": Action.WARN},
                disabled=["unique-entry"])  # fmt: skip
    names = [d["metadata"]["name"] for d in pair.export.documents]
    assert names == [f"bindcheck-{a}" for a in ("deny", "warn", "audit") for _ in range(2)]
    bindings = {
        d["metadata"]["name"]: d["spec"]["validationActions"]
        for d in pair.export.documents
        if d["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    assert bindings == {
        "bindcheck-deny": ["Deny"], "bindcheck-warn": ["Warn"], "bindcheck-audit": ["Audit"]
    }  # fmt: skip
    # the audit pair has no checks: its policy admits everything
    assert pair.policies["bindcheck-audit"].evaluate(workload([entry(), entry()])) == ([], [])
    assert "unique-entry" not in pair.expressed
    pair.compare(workload([entry(), entry()]))


def test_a_custom_rule_file_is_exported_and_agrees(tmp_path):
    rule = tmp_path / "pin.yaml"
    rule.write_text(
        "id: pin-versions\nreason: FieldValueRequired\nscope: entry\naction: warn\n"
        "expression: self.map(x, has(x.version) && x.version != '')\n"
        "fieldPath: .version\nmessage: '{entries} ({entry}) should pin a version'\n"
    )
    pair = Pair(None, Policy.UPSTREAM, extra_rule_dirs=[rule])
    assert "pin-versions" in pair.expressed
    from conftest import entry

    pair.compare(
        workload([entry(name="a"), entry(name="b", version="0.2.0-draft"), entry(name="c")])
    )


def test_no_message_carries_a_line_break_or_passes_5_kib():
    from conftest import entry

    pair = PAIRS[("default", Policy.STRICT)]
    worst = workload(
        [entry(namespace="wasi", package="p" * 120, interfaces=["x" * 60]) for _ in range(64)]
    )
    for policy in pair.policies.values():
        _, messages = policy.evaluate(worst)
        for message in messages:
            assert "\n" not in message and len(message.encode()) < 5 * 1024


def test_a_control_character_never_reaches_a_policy_message():
    from conftest import entry

    pair = PAIRS[("default", Policy.UPSTREAM)]
    obj = workload([entry(package="kv\x1b[2J"), entry(package="kv\x1b[2J")])
    found, messages = pair.policies["bindcheck-deny"].evaluate(obj)
    assert messages and all("\x1b" not in m for m in [*found, *messages])
    assert "(unprintable)" in messages[0]


def test_the_command_writes_policies_and_bindings_and_says_what_it_leaves_out(tmp_path, capsys):
    out = tmp_path / "vap.yaml"
    assert main(["export", "vap", "--policy", "strict", "--failure-policy", "Ignore",
                 "-o", str(out)]) == 0  # fmt: skip
    docs = list(yaml.safe_load_all(out.read_text()))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"] * 3
    assert [d["metadata"]["name"] for d in docs[::2]] == [
        "bindcheck-deny", "bindcheck-warn", "bindcheck-audit"
    ]  # fmt: skip
    spec = docs[0]["spec"]
    assert spec["failurePolicy"] == "Ignore"
    [rule] = spec["matchConstraints"]["resourceRules"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert sorted(rule["resources"]) == ["workloaddeployments", "workloadreplicasets", "workloads"]
    err = capsys.readouterr().err
    assert "not expressed" in err and "route-collision" in err and "ratcheting" in err


def test_mixed_literals_are_wrapped_in_dyn_as_kubernetes_requires():
    """Kubernetes compiles with HomogeneousAggregateLiterals: the values of one literal
    must share a type, and dyn() is the only way to mix them (the catalog constants do)."""
    from webhook.export.cel_text import lit

    assert lit({"a": "x", "b": "y"}) == '{"a": "x", "b": "y"}'
    assert lit({"m": "", "n": True, "w": {}}) == '{"m": dyn(""), "n": dyn(true), "w": dyn({})}'
    assert lit([[], ["a"]]) == '[dyn([]), dyn(["a"])]'
    assert lit([{"v": "", "o": ["a"]}]) == '[{"v": dyn(""), "o": dyn(["a"])}]'


def test_quiet_export_leaves_out_the_not_expressed_list(capsys, tmp_path):
    out = tmp_path / "vap.yaml"
    assert main(["export", "vap", "-q", "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert len(list(yaml.safe_load_all(out.read_text()))) == 6
