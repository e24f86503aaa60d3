from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from webhook.core import Validator, build_validator
from webhook.runtime.catalog_files import load_catalog
from webhook.violations import Policy

ROOT = Path(__file__).resolve().parents[1]


FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = sorted((FIXTURES / "upstream-shapes").glob("*.yaml"))
"""Manifests we wrote in the shapes of upstream's samples and e2e manifests (each names its
model); every workload in them must be allowed."""
CRD_FACTS = yaml.safe_load((FIXTURES / "upstream" / "crd-facts.yaml").read_text())
"""The upstream CRDs' hostInterfaces rules and limits, with the file and commit they came from."""


PIN_RULE = """\
id: needs-version
reason: FieldValueRequired
scope: entry
fieldPath: .version
expression: self.map(x, has(x.version))
message: "{entries} ({entry}) must pin a version"
"""
"""A user rule file used across tests; its expression is on line 5."""


def entry(namespace: str = "wasi", package: str = "keyvalue", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": namespace, "package": package, "interfaces": ["store"]}
    out.update(fields)
    return out


def workload(entries: Any, kind: str = "WorkloadDeployment", name: str = "app") -> dict[str, Any]:
    inner: dict[str, Any] = {"components": [{"name": "c", "image": "example/c:1"}]}
    if entries is not None:
        inner["hostInterfaces"] = copy.deepcopy(entries)
    spec: dict[str, Any] = {"template": {"spec": inner}} if kind != "Workload" else inner
    return {
        "apiVersion": "runtime.wasmcloud.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "apps"},
        "spec": spec,
    }


@pytest.fixture(scope="session")
def upstream() -> Validator:
    return build_validator(Policy.UPSTREAM, catalog=None)


@pytest.fixture(scope="session")
def strict() -> Validator:
    return build_validator(Policy.STRICT, catalog=None)


@pytest.fixture(scope="session")
def hosted() -> Validator:
    """Upstream naming plus the embedded default host catalog."""
    return build_validator(Policy.UPSTREAM, catalog=load_catalog(None))


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real etcd and kube-apiserver on loopback (tests/apiserver.py), for the session."""
    from apiserver import start

    plane = start(tmp_path_factory.mktemp("control-plane"))
    try:
        yield plane
    finally:
        plane.stop()


def rules_of(validator: Validator, obj: dict[str, Any]) -> list[tuple[str, str]]:
    outcome = validator.check(obj)
    assert outcome is not None
    return [(v.rule, v.field) for v in outcome.violations]
