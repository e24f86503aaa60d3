"""The exports every Kubernetes-facing test runs: both naming policies on each catalog
the tests know, a split of rule actions, and the chart's bundled files."""

from __future__ import annotations

from typing import Any

import yaml
from conftest import FIXTURES, ROOT

from webhook.core import Validator, build_validator
from webhook.export.vap import export_vap
from webhook.runtime.catalog import load_catalog
from webhook.violations import Action, Policy

CATALOGS = {
    "default": None,
    "none": "none",
    "plain": str(ROOT / "examples" / "plain-keyvalue-host.yaml"),
    "two-groups": str(FIXTURES / "catalogs" / "two-groups.yaml"),
}
CHART_FILES = sorted((ROOT / "charts" / "bindcheck" / "files").glob("vap-*.yaml"))


def validator(catalog: str | None, policy: Policy, **options: Any) -> Validator:
    return build_validator(policy, catalog=load_catalog(catalog), cache_size=0, **options)


def _exports() -> dict[str, list[dict[str, Any]]]:
    out = {
        f"{name}-{policy.value}": export_vap(validator(path, policy)).documents
        for name, path in CATALOGS.items()
        for policy in (Policy.UPSTREAM, Policy.STRICT)
    }
    split = {"single-unnamed": Action.WARN, "interface-unavailable": Action.AUDIT}
    out["default-upstream-split"] = export_vap(
        validator(None, Policy.UPSTREAM, actions=split)
    ).documents
    for path in CHART_FILES:
        out[f"chart-{path.name}"] = list(yaml.safe_load_all(path.read_text()))
    return out


EXPORTS = _exports()
