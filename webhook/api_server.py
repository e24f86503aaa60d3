"""What the API server does with an object before the webhook or the host sees it.

The runtime-operator's CRDs enforce part of what bindcheck checks, and which part
depends on where the cluster's CRDs came from. Read from wasmCloud/wasmCloud: the
chart's CRDs (charts/runtime-operator/crds/) gained the length and item limits and
the two x-kubernetes-validations at v2.7.0 (84892f85b); the kustomize CRDs
(runtime-operator/config/crd/bases/) had them from v2.5.0 (26fb56d87). Every release's
CRD types the fields, requires namespace, package and interfaces, and holds the name
pattern and interfaces' minItems. Helm never upgrades a chart's ``crds/``, so a
cluster keeps the CRDs it was first installed with, whatever release its hosts run.

For each object this says whether that API server admits it and whether the host then
fails it: the late failure bindcheck exists to bring forward, and its reverse, an object
the API server refuses though the host would run it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from webhook.core import Outcome
from webhook.crd import API_VERSION, SPEC_PATHS
from webhook.errors import ConfigError
from webhook.rulebook import RULES, Refuser
from webhook.runtime import releases
from webhook.runtime.wit import parse_semver
from webhook.violations import Action

VARIANTS = {"chart": "2.7.0", "kustomize": "2.5.0"}
"""Each way of installing the CRDs, and the first release whose CRDs have the limits
and the two rules."""


@dataclass(frozen=True, slots=True)
class Crds:
    """The CRDs an API server has, and which of the three kinds' have the limits and the
    two rules."""

    name: str
    """How ``--crds`` names them (``chart@2.6.1``), or ``cluster``."""
    described: str
    limits: frozenset[str]
    """Kinds whose CRD has the length and item limits."""
    rules: frozenset[str]
    """Kinds whose CRD has the two x-kubernetes-validations."""

    @classmethod
    def of_release(cls, variant: str, release: releases.Release) -> Crds:
        since = VARIANTS[variant]
        checked = release.tag == "main" or _version(release.tag) >= _version(since)
        kinds = frozenset(SPEC_PATHS) if checked else frozenset()
        name = f"{variant}@{release.tag.removeprefix('v')}"
        return cls(name, f"the {variant} CRDs of {release.name}", kinds, kinds)

    @classmethod
    def as_read(cls, definitions: Mapping[str, Any], where: str) -> Crds:
        """The CRDs a cluster holds: each kind's CustomResourceDefinition as the API
        server returned it (a kind it has none of is refused outright, and not here)."""
        lists = {kind: _entries_schema(crd, kind) for kind, crd in definitions.items()}
        return cls(
            "cluster",
            f"the cluster's CRDs ({where})",
            frozenset(k for k, s in lists.items() if "maxItems" in s),
            frozenset(k for k, s in lists.items() if s.get("x-kubernetes-validations")),
        )

    @property
    def checked(self) -> bool:
        """Whether every kind's CRD has both the limits and the rules."""
        return self.limits == self.rules == frozenset(SPEC_PATHS)


def _entries_schema(crd: Any, kind: str) -> dict[str, Any]:
    """The schema of ``kind``'s hostInterfaces list in its CRD, served at v1alpha1."""
    versions = _get(_get(crd, "spec"), "versions")
    listed = versions if isinstance(versions, list) else []  # whatever the server sent
    served = [v for v in listed if isinstance(v, dict) and v.get("name") == API_VERSION]
    schema = _get(_get(served[0], "schema"), "openAPIV3Schema") if served else {}
    for key in (*SPEC_PATHS[kind], "hostInterfaces"):
        schema = _get(_get(schema, "properties"), key)
    return schema if isinstance(schema, dict) else {}


def _get(value: Any, key: str) -> Any:
    got = value.get(key) if isinstance(value, dict) else None
    return got if got is not None else {}


def _version(tag: str) -> tuple[int, ...]:
    parsed = parse_semver(tag.removeprefix("v"))
    assert parsed is not None, tag
    return parsed[:3]


def parse_crds(text: str, host: releases.Release) -> Crds:
    """``chart`` or ``kustomize``, optionally ``@X`` for the release the CRDs came with
    (``chart@2.6``); without it, the hosts' release."""
    variant, _, release = text.partition("@")
    if variant not in VARIANTS:
        raise ConfigError("--crds takes chart or kustomize, optionally @RELEASE (chart@2.6)")
    if not release:
        return Crds.of_release(variant, host)
    try:
        return Crds.of_release(variant, releases.find(releases.PREFIX + release))
    except releases.UnknownRelease as exc:
        raise ConfigError(f"--crds: {exc}") from None


@dataclass(frozen=True, slots=True)
class Admission:
    """What the API server and the host make of one object."""

    crds: Crds
    refused_by: tuple[str, ...]
    """Rules the API server's CRD enforces that the object breaks."""
    host_fails: tuple[str, ...]
    """Rules the host fails the deployment on."""
    only_bindcheck: tuple[str, ...]
    """Denials neither of them makes: bindcheck's own policy or rules."""
    hosts_known: bool
    """Whether the host checks ran (a catalog, and an object they could read)."""

    @property
    def admitted(self) -> bool:
        return not self.refused_by

    def sentence(self) -> str | None:
        """The one line a report gives it; ``None`` when there is nothing to tell."""
        if self.refused_by:
            said = (
                f"the API server refuses it by {self.crds.described} ({', '.join(self.refused_by)})"
            )
            if self.host_fails:
                said += "; past it, the host would fail it too: " + ", ".join(self.host_fails)
            elif self.hosts_known:
                said += "; the host itself would run it"
            return said
        if self.host_fails:
            return (
                f"the API server admits it with {self.crds.described}; the host then fails "
                "it: " + ", ".join(self.host_fails)
            )
        if self.only_bindcheck:
            host = " and the host would run it" if self.hosts_known else ""
            return (
                f"the API server admits it with {self.crds.described}{host}; only "
                "bindcheck's rules refuse it: " + ", ".join(self.only_bindcheck)
            )
        return None


def admission(
    outcome: Outcome, crds: Crds, crd_rules: Collection[str], hosts_known: bool
) -> Admission:
    """``outcome``'s findings sorted by who else refuses them. ``crd_rules``: the CEL
    rules that are the CRD's two x-kubernetes-validations (rules/upstream-*.yaml)."""
    refused, fails, own = [], [], []
    for violation in outcome.violations:
        rule = violation.rule
        spec = RULES.get(rule)
        refuser = spec.refused_by if spec is not None else None
        held = crds.rules if rule in crd_rules else crds.limits
        if rule in crd_rules or refuser is Refuser.CRD_LIMITS:
            if outcome.kind in held:
                refused.append(rule)
            elif violation.action is Action.DENY:
                own.append(rule)
        elif refuser is Refuser.API_SERVER:
            refused.append(rule)
        elif refuser is Refuser.HOST:
            fails.append(rule)
        elif violation.action is Action.DENY:
            own.append(rule)
    # Every rule once, in the order the findings came.
    return Admission(
        crds,
        tuple(dict.fromkeys(refused)),
        tuple(dict.fromkeys(fails)),
        tuple(dict.fromkeys(own)),
        hosts_known and (not refused or all(r in crd_rules for r in refused)),
    )


Explain = Callable[[Outcome], Admission | None]
"""What the API server and the host make of an outcome, as a command chose to tell it."""
