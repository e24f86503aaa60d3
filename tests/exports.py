"""The exports every Kubernetes-facing test runs: both naming policies on each catalog
the tests know, a split of rule actions, and the chart's bundled files."""

from __future__ import annotations

import copy
import random
from typing import Any

import yaml
from conftest import FIXTURES, ROOT, SAMPLES, workload

from webhook.core import Validator, build_validator
from webhook.export.vap import export_vap
from webhook.runtime.catalog_files import load_catalog
from webhook.violations import Action, Policy

CATALOGS = {
    "default": None,
    "none": "none",
    "plain": str(ROOT / "examples" / "plain-keyvalue-host.yaml"),
    "two-groups": str(FIXTURES / "catalogs" / "two-groups.yaml"),
    # releases whose binder differs from the default's: no pinning by id, no P3
    # handler (2.4); and main, whose plugins claim entries
    "wasmcloud-2.4": "wasmcloud@2.4",
    "wasmcloud-main": "wasmcloud@main",
}
PLURAL = {
    "WorkloadDeployment": "workloaddeployments",
    "WorkloadReplicaSet": "workloadreplicasets",
    "Workload": "workloads",
}
CHART_FILES = sorted((ROOT / "charts" / "bindcheck" / "files").glob("vap-*.yaml"))


def validator(catalog: str | None, policy: Policy, **options: Any) -> Validator:
    return build_validator(policy, catalog=load_catalog(catalog), **options)


VALIDATORS = {
    f"{name}-{policy.value}": validator(path, policy)
    for name, path in CATALOGS.items()
    for policy in (Policy.UPSTREAM, Policy.STRICT)
}
VALIDATORS["default-upstream-split"] = validator(
    None,
    Policy.UPSTREAM,
    actions={"single-unnamed": Action.WARN, "interface-unavailable": Action.AUDIT},
)
"""Each export's validator by the export's name: what ``bindcheck check`` says."""
EXPORTS = {name: export_vap(v).documents for name, v in VALIDATORS.items()}
for _path in CHART_FILES:
    EXPORTS[f"chart-{_path.name}"] = list(yaml.safe_load_all(_path.read_text()))


# A corpus in the shapes the parity tests of test_export_vap.py draw, made by a seeded
# generator: the same objects each run, sent to the API server one by one.
_FIELDS = {
    "namespace": ["wasi", "wasmcloud", "a:b", "wasi:"],
    "package": ["keyvalue", "blobstore", "http", "messaging", "config", "nosuch"],
    "interfaces": ["store", "atomics", "container", "consumer", "producer",
                   "incoming-handler", "handler", "nope"],
    "name": ["cache", "a", "kv-named", "wasi-keyvalue", "Bad", ""],
    "version": ["0.2.0-draft", "0.2.0", "0.3.0", "0.3.0-rc.1", "0.2", "latest", ""],
    "config": [{"backend": "nats"}, {"backend": "bogus"}, {"backend": "auth-x"},
               {"host": "x.example"}, {}],
}  # fmt: skip


def corpus(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        entries = []
        for _ in range(rng.randint(0, 6)):
            e: dict[str, Any] = {
                "namespace": rng.choice(_FIELDS["namespace"]),
                "package": rng.choice(_FIELDS["package"]),
                "interfaces": rng.sample(_FIELDS["interfaces"], rng.randint(1, 2)),
            }
            for optional in ("name", "version", "config"):
                if rng.random() < 0.5:
                    e[optional] = copy.deepcopy(rng.choice(_FIELDS[optional]))
            entries.append(e)
        kind = rng.choice(list(PLURAL))
        obj = workload(entries, kind=kind, name=f"c{k}")
        if rng.random() < 0.3:
            inner = obj["spec"] if kind == "Workload" else obj["spec"]["template"]["spec"]
            inner["hostSelector"] = {"hostgroup": rng.choice(["default", "edge", "core"])}
        out.append(obj)
    return out


def samples() -> list[dict[str, Any]]:
    docs = []
    for path in [*SAMPLES, *sorted((ROOT / "examples").glob("*.yaml"))]:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in PLURAL:
                docs.append(doc)
    return docs


def expressed_rules(documents: list[dict[str, Any]]) -> set[str]:
    """The rule ids an export's policies say they check (their annotation)."""
    return {
        rule
        for d in documents
        if d.get("kind") == "ValidatingAdmissionPolicy"
        for rule in d["metadata"]["annotations"]["bindcheck.dev/rules"].split(",")
        if rule
    }
