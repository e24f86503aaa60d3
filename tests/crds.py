"""CustomResourceDefinitions in the shape of upstream's, for the real API server.

Built from the facts we recorded (tests/fixtures/upstream/crd-facts.yaml and
crd-releases.yaml), not copied: the hostInterfaces list is typed exactly as upstream's
chart types it at each release (fields, required keys, pattern, and from v2.7.0 the
limits and the two CEL rules), ``hostSelector`` is a string map, and the rest of a spec
(components, volumes, replicas, ...) is kept as given, which upstream types in detail
and bindcheck never reads.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from conftest import CRD_FACTS, FIXTURES

RELEASES = yaml.safe_load((FIXTURES / "upstream" / "crd-releases.yaml").read_text())["releases"]
GROUP = "runtime.wasmcloud.dev"
KINDS = ("WorkloadDeployment", "WorkloadReplicaSet", "Workload")
_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_REFERENCES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string", "default": ""}},
        "x-kubernetes-map-type": "atomic",
    },
}


def _entry(facts: dict[str, Any], limits: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, field in facts["fields"].items():
        schema = {k: v for k, v in field.items() if limits or k != "maxLength"}
        if name == "config":
            schema["additionalProperties"] = {"type": "string"}
        elif name in ("configFrom", "secretFrom"):
            schema = copy.deepcopy(_REFERENCES)
        elif name == "interfaces":
            schema["items"] = {"type": "string"}
        properties[name] = schema
    return {"type": "object", "required": facts["required"], "properties": properties}


def _workload_spec(kind: str, release: str) -> dict[str, Any]:
    facts = CRD_FACTS["kinds"][kind]
    variant = RELEASES[release]
    entries: dict[str, Any] = {"type": "array", "items": _entry(facts, variant["limits"])}
    if variant["limits"]:
        entries["maxItems"] = facts["maxItems"]
    if variant["rules"]:
        entries["x-kubernetes-validations"] = copy.deepcopy(facts["rules"])
    return {
        **_OPEN,
        "properties": {
            "hostInterfaces": entries,
            "hostSelector": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }


def crd(kind: str, release: str = "chart-v2.7.0") -> dict[str, Any]:
    inner = _workload_spec(kind, release)
    spec = inner if kind == "Workload" else {
        **_OPEN,
        "properties": {
            "template": {
                "type": "object",
                "properties": {"metadata": _OPEN, "spec": inner},
            }
        },
    }  # fmt: skip
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "annotations": {"bindcheck.dev/modelled-on": f"wasmCloud {release}"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": _OPEN,
                            },
                        }
                    },
                }
            ],
        },
    }


def crds(release: str = "chart-v2.7.0") -> list[dict[str, Any]]:
    return [crd(kind, release) for kind in KINDS]
